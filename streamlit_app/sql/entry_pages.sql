-- Landing pages of the period's sessions, most single-page sessions first (the seed
-- system's "most frequently bounced entry pages", named for what it counts). Tenant-wide:
-- bounced_pages_daily has no branch.
SELECT landing_page, sum(sessions)::bigint AS sessions, sum(single_page_sessions)::bigint AS single_page_sessions
FROM tenant_data.bounced_pages_daily
WHERE event_date BETWEEN :start AND :end
GROUP BY landing_page
ORDER BY single_page_sessions DESC, sessions DESC, landing_page
LIMIT :top

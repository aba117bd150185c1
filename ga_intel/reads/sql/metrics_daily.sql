-- The stored daily figures (docs/METRICS.md) for [:start, :end]: the tenant's rows
-- (daily_metrics) when :branch is null, else that branch's rows (location_daily_metrics).
-- Counts only; rates are derived from sums in lib/metrics.py, so a period's rate is never
-- an average of daily rates. Users over a range come from metrics_users.sql.
SELECT event_date, revenue::float8 AS revenue, refunds::float8 AS refunds, net_revenue::float8 AS net_revenue,
       transactions, purchasers, sessions, engaged_sessions, single_page_sessions, active_users, new_users,
       converting_sessions, carts_created, carts_abandoned, recovered_revenue::float8 AS recovered_revenue,
       recovered_after_contact_revenue::float8 AS recovered_after_contact_revenue,
       searches, no_click_searches, no_result_searches, repeat_visitors, bounced_sessions, cookieless_events
FROM tenant_data.daily_metrics
WHERE CAST(:branch AS text) IS NULL AND event_date BETWEEN :start AND :end
UNION ALL
SELECT event_date, revenue::float8, refunds::float8, net_revenue::float8,
       transactions, purchasers, sessions, engaged_sessions, single_page_sessions, active_users, new_users,
       converting_sessions, carts_created, carts_abandoned, recovered_revenue::float8,
       recovered_after_contact_revenue::float8,
       searches, no_click_searches, no_result_searches, repeat_visitors, bounced_sessions, cookieless_events
FROM tenant_data.location_daily_metrics
WHERE branch_code = :branch AND event_date BETWEEN :start AND :end
ORDER BY event_date

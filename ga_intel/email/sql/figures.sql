-- Daily figures of one branch, or of the whole tenant when :branch is NULL, for the 14
-- days ending on the report date: enough for "the day vs the same weekday a week before"
-- and "the 7 days vs the 7 before". Rates are re-derived from the sums in Python.
SELECT event_date, revenue, refunds, net_revenue, transactions, purchasers, sessions, engaged_sessions,
       new_users, users_sketch, converting_sessions, carts_created, carts_abandoned, recovered_revenue,
       recovered_after_contact_revenue, searches, no_click_searches
FROM tenant_data.location_daily_metrics
WHERE tenant_id = :tenant AND :branch IS NOT NULL AND branch_code = :branch
  AND event_date BETWEEN CAST(:day AS date) - 13 AND CAST(:day AS date)
UNION ALL
SELECT event_date, revenue, refunds, net_revenue, transactions, purchasers, sessions, engaged_sessions,
       new_users, users_sketch, converting_sessions, carts_created, carts_abandoned, recovered_revenue,
       recovered_after_contact_revenue, searches, no_click_searches
FROM tenant_data.daily_metrics
WHERE tenant_id = :tenant AND :branch IS NULL
  AND event_date BETWEEN CAST(:day AS date) - 13 AND CAST(:day AS date)
ORDER BY event_date

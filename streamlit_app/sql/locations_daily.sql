-- Per branch and day of [:start, :end] (location_daily_metrics), for the branch trends.
SELECT event_date, branch_code, revenue::float8 AS revenue, transactions, sessions, converting_sessions
FROM tenant_data.location_daily_metrics
WHERE event_date BETWEEN :start AND :end
ORDER BY event_date, branch_code

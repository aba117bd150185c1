-- Active users over [:start, :end]: distinct GA4 device ids with a session (not additive
-- over days, so counted over the whole period).
SELECT count(DISTINCT user_pseudo_id)::bigint AS active_users
FROM tenant_data.sessions
WHERE event_date BETWEEN :start AND :end

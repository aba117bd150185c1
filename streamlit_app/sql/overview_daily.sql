-- Per day of [:start, :end]: the raw counts behind the Overview KPIs (see lib/metrics.py for
-- the formulas). Row-level security limits every table to the scoped tenant.
WITH s AS (
    SELECT event_date,
           count(*)                                   AS sessions,
           count(*) FILTER (WHERE had_purchase)       AS converting_sessions
    FROM tenant_data.sessions
    WHERE event_date BETWEEN :start AND :end
    GROUP BY event_date
), p AS (
    SELECT event_date,
           coalesce(sum(revenue), 0)                  AS revenue,
           count(*)                                   AS transactions
    FROM tenant_data.purchases
    WHERE event_date BETWEEN :start AND :end
    GROUP BY event_date
)
SELECT coalesce(s.event_date, p.event_date)          AS event_date,
       coalesce(p.revenue, 0)::float8                 AS revenue,
       coalesce(p.transactions, 0)::bigint            AS transactions,
       coalesce(s.sessions, 0)::bigint                AS sessions,
       coalesce(s.converting_sessions, 0)::bigint     AS converting_sessions
FROM s FULL JOIN p ON p.event_date = s.event_date
ORDER BY 1

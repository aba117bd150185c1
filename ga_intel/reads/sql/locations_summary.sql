-- Per branch over [:start, :end]: summed counts from location_daily_metrics, with the
-- branch's name and place from the locations list. Branches without figures in the
-- range are listed with zeros; 'unattributed' (no known branch) has no location row.
WITH m AS (
    SELECT branch_code,
           sum(revenue)::float8             AS revenue,
           sum(transactions)::bigint        AS transactions,
           sum(sessions)::bigint            AS sessions,
           sum(converting_sessions)::bigint AS converting_sessions,
           sum(carts_created)::bigint       AS carts_created,
           sum(carts_abandoned)::bigint     AS carts_abandoned,
           sum(recovered_revenue)::float8   AS recovered_revenue,
           sum(searches)::bigint            AS searches,
           sum(no_click_searches)::bigint   AS no_click_searches,
           sum(repeat_visitors)::bigint     AS repeat_visitors
    FROM tenant_data.location_daily_metrics
    WHERE event_date BETWEEN :start AND :end
    GROUP BY branch_code
)
SELECT coalesce(m.branch_code, l.warehouse_code)                 AS branch_code,
       l.warehouse_name                                          AS branch_name,
       l.city, l.state,
       coalesce(m.revenue, 0)::float8                            AS revenue,
       coalesce(m.transactions, 0)::bigint                       AS transactions,
       coalesce(m.sessions, 0)::bigint                           AS sessions,
       coalesce(m.converting_sessions, 0)::bigint                AS converting_sessions,
       coalesce(m.carts_created, 0)::bigint                      AS carts_created,
       coalesce(m.carts_abandoned, 0)::bigint                    AS carts_abandoned,
       coalesce(m.recovered_revenue, 0)::float8                  AS recovered_revenue,
       coalesce(m.searches, 0)::bigint                           AS searches,
       coalesce(m.no_click_searches, 0)::bigint                  AS no_click_searches,
       coalesce(m.repeat_visitors, 0)::bigint                    AS repeat_visitors
FROM m FULL JOIN tenant_data.locations l ON l.warehouse_code = m.branch_code
ORDER BY revenue DESC, branch_code

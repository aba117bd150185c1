-- The day's figures, for the tenant (branch_code NULL) and per branch, in one pass with
-- GROUPING SETS so distinct counts are right at both levels. Formulas: docs/METRICS.md.
WITH {attribution},
attributed_sessions AS (
  SELECT s.*,
         CASE WHEN ku.user_id IS NOT NULL THEN 'user:' || ku.user_id
              WHEN kc.company_id IS NOT NULL THEN 'company:' || kc.company_id END AS account_key,
         COALESCE(ku.branch_code, kc.branch_code, kb.warehouse_code, 'unattributed') AS branch
  FROM tenant_data.sessions s
  LEFT JOIN known_users ku ON ku.user_id = s.customer_id
  LEFT JOIN known_companies kc ON kc.company_id = s.company_id
  LEFT JOIN known_branches kb ON kb.code = s.branch_id
  WHERE s.tenant_id = :tenant AND s.event_date BETWEEN CAST(:day AS date) - (:repeat_days - 1) AND CAST(:day AS date)
),
visitors AS (
  SELECT *, COALESCE(account_key, 'device:' || user_pseudo_id) AS visitor_key FROM attributed_sessions
),
day_sessions AS (SELECT * FROM visitors WHERE event_date = :day),
repeaters AS (
  SELECT visitor_key FROM visitors WHERE user_pseudo_id IS NOT NULL OR account_key IS NOT NULL
  GROUP BY visitor_key HAVING count(*) >= :repeat_min_sessions
),
attributed_purchases AS (
  SELECT p.*,
         COALESCE(ku.branch_code, kc.branch_code, kb.warehouse_code, 'unattributed') AS branch,
         COALESCE(CASE WHEN ku.user_id IS NOT NULL THEN 'user:' || ku.user_id
                       WHEN kc.company_id IS NOT NULL THEN 'company:' || kc.company_id END,
                  'device:' || p.user_pseudo_id) AS visitor_key
  FROM tenant_data.purchases p
  LEFT JOIN known_users ku ON ku.user_id = p.customer_id
  LEFT JOIN known_companies kc ON kc.company_id = p.company_id
  LEFT JOIN known_branches kb ON kb.code = p.branch_id
  WHERE p.tenant_id = :tenant
    AND p.event_date BETWEEN CAST(:day AS date) AND CAST(:day AS date) + :window_days
),
-- Joins below use plain equality (NULL keys coalesced) and joins instead of correlated
-- sublinks: IS NOT DISTINCT FROM and SELECT-list EXISTS force nested loops, quadratic in a
-- day's sessions (11 s at 200k events, minutes at 1M).
cart_sessions AS (
  SELECT coalesce(user_pseudo_id, '') AS pid, coalesce(ga_session_id, -1) AS sid,
         min(event_time) AS first_add, max(event_time) AS last_add
  FROM tenant_data.cart_adds WHERE tenant_id = :tenant AND event_date = :day
  GROUP BY 1, 2
),
carts AS (
  SELECT row_number() OVER () AS cart_id, branch, visitor_key, first_add, last_add
  FROM (
    SELECT s.branch, s.visitor_key, s.user_pseudo_id, s.ga_session_id, c.first_add, c.last_add
    FROM day_sessions s
    JOIN cart_sessions c ON c.pid = coalesce(s.user_pseudo_id, '') AND c.sid = coalesce(s.ga_session_id, -1)
    WHERE s.had_add_to_cart
    GROUP BY s.branch, s.visitor_key, s.user_pseudo_id, s.ga_session_id, c.first_add, c.last_add
  ) x
),
bought_carts AS (
  SELECT DISTINCT c.cart_id
  FROM carts c JOIN attributed_purchases p ON p.visitor_key = c.visitor_key
  WHERE p.event_time > c.first_add AND p.event_time <= c.last_add + make_interval(hours => :abandon_hours)
),
cart_outcomes AS (
  SELECT c.branch, b.cart_id IS NULL AS abandoned
  FROM carts c LEFT JOIN bought_carts b ON b.cart_id = c.cart_id
),
search_rows AS (
  SELECT s.no_results, s.then_view_item, s.then_add_to_cart,
         COALESCE(ku.branch_code, kc.branch_code, kb.warehouse_code, 'unattributed') AS branch
  FROM tenant_data.searches s
  LEFT JOIN known_users ku ON ku.user_id = s.customer_id
  LEFT JOIN known_companies kc ON kc.company_id = s.company_id
  LEFT JOIN known_branches kb ON kb.code = s.branch_id
  WHERE s.tenant_id = :tenant AND s.event_date = :day
),
recovered AS (
  SELECT branch_code AS branch, sum(recovered_revenue) AS revenue
  FROM tenant_data.tasks WHERE tenant_id = :tenant AND recovered_on = :day GROUP BY branch_code
),
-- One row per (branch, figure source); GROUPING SETS below add the tenant-wide row.
facts AS (
  SELECT branch, 'session' AS src, visitor_key, user_pseudo_id, page_views, had_purchase,
         NULL::numeric AS revenue, NULL::boolean AS abandoned, NULL::boolean AS no_results,
         NULL::boolean AS clicked, visitor_key IN (SELECT visitor_key FROM repeaters) AS repeater
  FROM day_sessions
  UNION ALL
  SELECT branch, 'purchase', visitor_key, user_pseudo_id, NULL, NULL, revenue, NULL, NULL, NULL, NULL
  FROM attributed_purchases WHERE event_date = :day
  UNION ALL
  SELECT branch, 'cart', NULL, NULL, NULL, NULL, NULL, abandoned, NULL, NULL, NULL FROM cart_outcomes
  UNION ALL
  SELECT branch, 'search', NULL, NULL, NULL, NULL, NULL, NULL, no_results, (then_view_item OR then_add_to_cart), NULL
  FROM search_rows
  UNION ALL
  SELECT branch, 'recovered', NULL, NULL, NULL, NULL, revenue, NULL, NULL, NULL, NULL FROM recovered
)
SELECT
  CASE WHEN GROUPING(branch) = 1 THEN NULL ELSE branch END AS branch_code,
  COALESCE(sum(revenue) FILTER (WHERE src = 'purchase'), 0) AS revenue,
  count(*) FILTER (WHERE src = 'purchase') AS transactions,
  count(DISTINCT visitor_key) FILTER (WHERE src = 'purchase') AS purchasers,
  count(*) FILTER (WHERE src = 'session') AS sessions,
  count(DISTINCT user_pseudo_id) FILTER (WHERE src = 'session') AS active_users,
  count(*) FILTER (WHERE src = 'session' AND had_purchase) AS converting_sessions,
  count(*) FILTER (WHERE src = 'cart') AS carts_created,
  count(*) FILTER (WHERE src = 'cart' AND abandoned) AS carts_abandoned,
  COALESCE(sum(revenue) FILTER (WHERE src = 'recovered'), 0) AS recovered_revenue,
  count(*) FILTER (WHERE src = 'search' AND NOT no_results) AS searches,
  count(*) FILTER (WHERE src = 'search' AND NOT no_results AND NOT clicked) AS no_click_searches,
  count(*) FILTER (WHERE src = 'search' AND no_results) AS no_result_searches,
  count(DISTINCT visitor_key) FILTER (WHERE src = 'session' AND repeater) AS repeat_visitors,
  count(*) FILTER (WHERE src = 'session' AND page_views <= 1) AS bounced_sessions
FROM facts
GROUP BY GROUPING SETS ((), (branch))

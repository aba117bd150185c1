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
carts AS (
  SELECT s.branch, s.visitor_key, s.user_pseudo_id, s.ga_session_id,
         min(c.event_time) AS first_add, max(c.event_time) AS last_add
  FROM day_sessions s
  JOIN tenant_data.cart_adds c
    ON c.tenant_id = :tenant AND c.event_date = s.event_date
   AND c.user_pseudo_id IS NOT DISTINCT FROM s.user_pseudo_id AND c.ga_session_id IS NOT DISTINCT FROM s.ga_session_id
  WHERE s.had_add_to_cart
  GROUP BY s.branch, s.visitor_key, s.user_pseudo_id, s.ga_session_id
),
cart_outcomes AS (
  SELECT c.branch,
         NOT EXISTS (
           SELECT 1 FROM attributed_purchases p
           WHERE p.visitor_key = c.visitor_key AND p.event_time > c.first_add
             AND p.event_time <= c.last_add + make_interval(hours => :abandon_hours)
         ) AS abandoned
  FROM carts c
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

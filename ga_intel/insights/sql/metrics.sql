-- The figures of day :day, for the tenant (branch_code NULL) and per branch, in one pass
-- with GROUPING SETS so distinct counts are right at both levels. Formulas and how each
-- reconciles with GA4: docs/METRICS.md.
-- Bound: :tenant, :day, :currency, :abandon_hours, :window_days, :repeat_days,
-- :repeat_min_sessions, :purchases_from, :purchases_to.
{% import 'ga_intel/sql_macros/insights.sql' as m %}
WITH {% include 'ga_intel/insights/sql/_attribution.sql' %},
{% include 'ga_intel/insights/sql/_counted_purchases.sql' %},
{% include 'ga_intel/insights/sql/_day_sessions.sql' %},
purchases_attributed AS (
  SELECT p.*, {{ m.branch() }} AS branch,
         -- a cookieless purchase has no device: it is one purchaser of its own
         COALESCE({{ m.account_key() }}, 'device:' || p.user_pseudo_id,
                  'event:' || COALESCE(p.transaction_id, '') || ':' || p.event_timestamp) AS visitor_key
  FROM counted_purchases p
  {{ m.attribute('p') }}
),
converting AS (  -- sessions of the day with a counted purchase in any of their parts
  SELECT DISTINCT user_pseudo_id, COALESCE(stream_id, '') AS stream_id, ga_session_id
  FROM counted_purchases
  WHERE event_date BETWEEN :day AND CAST(:day AS date) + 2 AND user_pseudo_id IS NOT NULL
),
repeaters AS (  -- visitors with enough sessions started in the window
  SELECT {{ m.visitor_key('s') }} AS visitor_key
  FROM tenant_data.sessions s
  {{ m.attribute('s') }}
  WHERE s.tenant_id = :tenant AND NOT s.continues_earlier
    AND s.event_date BETWEEN CAST(:day AS date) - (:repeat_days - 1) AND :day
  GROUP BY 1 HAVING count(*) >= :repeat_min_sessions
),
-- Joins below use plain equality (NULL keys coalesced) and joins instead of correlated
-- sublinks: IS NOT DISTINCT FROM and SELECT-list EXISTS force nested loops, quadratic in a
-- day's sessions (11 s at 200k events, minutes at 1M).
cart_sessions AS (
  SELECT user_pseudo_id AS pid, ga_session_id AS sid, min(event_time) AS first_add, max(event_time) AS last_add
  FROM tenant_data.cart_adds
  WHERE tenant_id = :tenant AND event_date = :day AND user_pseudo_id IS NOT NULL AND ga_session_id IS NOT NULL
  GROUP BY 1, 2
),
carts AS (
  SELECT row_number() OVER () AS cart_id, p.branch, p.visitor_key, c.first_add, c.last_add
  FROM cart_sessions c
  JOIN (SELECT DISTINCT ON (user_pseudo_id, ga_session_id) user_pseudo_id, ga_session_id, branch, visitor_key
        FROM day_parts ORDER BY user_pseudo_id, ga_session_id, continues_earlier) p
    ON p.user_pseudo_id = c.pid AND p.ga_session_id = c.sid
),
bought_carts AS (
  SELECT DISTINCT c.cart_id
  FROM carts c JOIN purchases_attributed p ON p.visitor_key = c.visitor_key
  WHERE p.event_time > c.first_add AND p.event_time <= c.last_add + make_interval(hours => :abandon_hours)
),
search_rows AS (  -- searches in sessions (a cookieless one is a cookieless event)
  SELECT s.no_results, s.then_view_item, s.then_add_to_cart, {{ m.branch() }} AS branch
  FROM tenant_data.searches s
  {{ m.attribute('s') }}
  WHERE s.tenant_id = :tenant AND s.event_date = :day AND s.user_pseudo_id IS NOT NULL
    AND s.ga_session_id IS NOT NULL
),
unsessioned AS (
  SELECT {{ m.branch() }} AS branch, sum(e.events) AS events
  FROM tenant_data.unsessioned_events e
  {{ m.attribute('e') }}
  WHERE e.tenant_id = :tenant AND e.event_date = :day
  GROUP BY 1
),
refunds AS (
  SELECT {{ m.branch() }} AS branch, {{ m.in_currency('r.refund_value', 'r.currency', 'r.refund_value_in_usd') }} AS amount
  FROM tenant_data.refunds r
  {{ m.attribute('r') }}
  WHERE r.tenant_id = :tenant AND r.event_date = :day
),
recovered AS (  -- carts recovered by a purchase on the day (insights/sql/recover_carts.sql)
  SELECT branch_code AS branch, recovered_revenue AS amount, recovered_after_contact AS after_contact
  FROM tenant_data.tasks WHERE tenant_id = :tenant AND recovered_on = :day
),
-- One row per (branch, figure source); GROUPING SETS below add the tenant-wide row.
facts AS (
  SELECT s.branch, 'session' AS src, s.visitor_key, NULL::text AS device, s.page_views, s.engaged,
         cv.ga_session_id IS NOT NULL AS converted, NULL::numeric AS amount, NULL::bigint AS n,
         NULL::boolean AS flag, NULL::boolean AS clicked, s.landing_page
  FROM day_sessions s
  LEFT JOIN converting cv
    ON cv.user_pseudo_id = s.user_pseudo_id AND cv.stream_id = COALESCE(s.stream_id, '')
   AND cv.ga_session_id = s.ga_session_id
  UNION ALL
  -- users: GA4's is_active_user where the export has it (NULL in older exports: active);
  -- new on the day their first session started, not again on its part after midnight
  SELECT branch, 'user', NULL, user_pseudo_id, NULL, active_user IS NOT FALSE, NULL, NULL, NULL,
         new_user AND NOT continues_earlier, NULL, NULL
  FROM day_parts
  UNION ALL
  SELECT branch, 'repeater', visitor_key, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
  FROM day_sessions WHERE visitor_key IN (SELECT visitor_key FROM repeaters)
  UNION ALL
  SELECT branch, 'purchase', visitor_key, NULL, NULL, NULL, NULL, amount, NULL, amount IS NULL, NULL, NULL
  FROM purchases_attributed WHERE event_date = :day
  UNION ALL
  SELECT c.branch, 'cart', NULL, NULL, NULL, NULL, NULL, NULL, NULL, b.cart_id IS NULL, NULL, NULL
  FROM carts c LEFT JOIN bought_carts b ON b.cart_id = c.cart_id
  UNION ALL
  SELECT branch, 'search', NULL, NULL, NULL, NULL, NULL, NULL, NULL, no_results, then_view_item OR then_add_to_cart,
         NULL
  FROM search_rows
  UNION ALL
  SELECT branch, 'unsessioned', NULL, NULL, NULL, NULL, NULL, NULL, events, NULL, NULL, NULL FROM unsessioned
  UNION ALL
  SELECT branch, 'refund', NULL, NULL, NULL, NULL, NULL, amount, NULL, amount IS NULL, NULL, NULL FROM refunds
  UNION ALL
  SELECT branch, 'recovered', NULL, NULL, NULL, NULL, NULL, amount, NULL, after_contact, NULL, NULL FROM recovered
)
SELECT
  CASE WHEN GROUPING(branch) = 1 THEN NULL ELSE branch END AS branch_code,
  COALESCE(sum(amount) FILTER (WHERE src = 'purchase'), 0) AS revenue,
  COALESCE(sum(amount) FILTER (WHERE src = 'refund'), 0) AS refunds,
  count(*) FILTER (WHERE src = 'purchase') AS transactions,
  count(*) FILTER (WHERE src IN ('purchase', 'refund') AND flag) AS unconverted_amounts,
  count(DISTINCT visitor_key) FILTER (WHERE src = 'purchase') AS purchasers,
  count(*) FILTER (WHERE src = 'session') AS sessions,
  count(*) FILTER (WHERE src = 'session' AND engaged) AS engaged_sessions,
  count(*) FILTER (WHERE src = 'session' AND page_views <= 1) AS single_page_sessions,
  count(DISTINCT device) FILTER (WHERE src = 'user' AND engaged) AS active_users,
  count(DISTINCT device) FILTER (WHERE src = 'user' AND flag) AS new_users,
  count(*) FILTER (WHERE src = 'session' AND converted) AS converting_sessions,
  count(*) FILTER (WHERE src = 'cart') AS carts_created,
  count(*) FILTER (WHERE src = 'cart' AND flag) AS carts_abandoned,
  COALESCE(sum(amount) FILTER (WHERE src = 'recovered'), 0) AS recovered_revenue,
  COALESCE(sum(amount) FILTER (WHERE src = 'recovered' AND flag), 0) AS recovered_after_contact_revenue,
  count(*) FILTER (WHERE src = 'search' AND NOT flag) AS searches,
  count(*) FILTER (WHERE src = 'search' AND NOT flag AND NOT clicked) AS no_click_searches,
  count(*) FILTER (WHERE src = 'search' AND flag) AS no_result_searches,
  COALESCE(sum(n) FILTER (WHERE src = 'unsessioned'), 0) AS cookieless_events,
  count(DISTINCT visitor_key) FILTER (WHERE src = 'repeater') AS repeat_visitors
FROM facts
GROUP BY GROUPING SETS ((), (branch))

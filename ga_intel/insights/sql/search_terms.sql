-- Per search term and branch for the day (no-result events count in no_result_searches).
-- Session counts only count searches in sessions (a cookieless search has none).
{% import 'ga_intel/sql_macros/insights.sql' as m %}
WITH {% include 'ga_intel/insights/sql/_attribution.sql' %},
rows AS (
  SELECT s.*, {{ m.branch() }} AS branch,
         CASE WHEN s.user_pseudo_id IS NOT NULL AND s.ga_session_id IS NOT NULL
              THEN s.user_pseudo_id || ':' || s.ga_session_id END AS session_key
  FROM tenant_data.searches s
  {{ m.attribute('s') }}
  WHERE s.tenant_id = :tenant AND s.event_date = :day AND s.search_term IS NOT NULL AND trim(s.search_term) <> ''
)
SELECT
  branch AS branch_code,
  lower(trim(search_term)) AS search_term,
  count(*) FILTER (WHERE NOT no_results) AS searches,
  count(DISTINCT COALESCE(customer_id, user_pseudo_id)) AS searching_users,
  count(DISTINCT session_key) AS sessions,
  count(DISTINCT session_key) FILTER (WHERE NOT no_results AND NOT then_view_item AND NOT then_add_to_cart)
    AS no_click_sessions,
  count(*) FILTER (WHERE no_results) AS no_result_searches,
  count(DISTINCT session_key) FILTER (WHERE then_add_to_cart) AS cart_sessions,
  count(DISTINCT session_key) FILTER (WHERE then_purchase) AS purchase_sessions
FROM rows
GROUP BY 1, 2

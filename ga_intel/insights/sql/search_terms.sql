-- Per search term and branch for the day (no-result events count in no_result_searches).
WITH {attribution}
SELECT
  COALESCE(ku.branch_code, kc.branch_code, kb.warehouse_code, 'unattributed') AS branch_code,
  lower(trim(s.search_term)) AS search_term,
  count(*) FILTER (WHERE NOT s.no_results) AS searches,
  count(DISTINCT COALESCE(s.customer_id, s.user_pseudo_id)) AS searching_users,
  count(DISTINCT (s.user_pseudo_id, s.ga_session_id)) AS sessions,
  count(DISTINCT (s.user_pseudo_id, s.ga_session_id))
    FILTER (WHERE NOT s.no_results AND NOT s.then_view_item AND NOT s.then_add_to_cart) AS no_click_sessions,
  count(*) FILTER (WHERE s.no_results) AS no_result_searches,
  count(DISTINCT (s.user_pseudo_id, s.ga_session_id)) FILTER (WHERE s.then_add_to_cart) AS cart_sessions,
  count(DISTINCT (s.user_pseudo_id, s.ga_session_id)) FILTER (WHERE s.then_purchase) AS purchase_sessions
FROM tenant_data.searches s
LEFT JOIN known_users ku ON ku.user_id = s.customer_id
LEFT JOIN known_companies kc ON kc.company_id = s.company_id
LEFT JOIN known_branches kb ON kb.code = s.branch_id
WHERE s.tenant_id = :tenant AND s.event_date = :day AND s.search_term IS NOT NULL AND trim(s.search_term) <> ''
GROUP BY 1, 2

-- One row per search (view_search_results / search) and per no-result event, with what
-- the same session did afterwards.
WITH {events},
later AS (
  SELECT user_pseudo_id, ga_session_id,
         MAX(IF(event_name = 'view_item', event_timestamp, NULL)) AS last_view_item,
         MAX(IF(event_name = 'add_to_cart', event_timestamp, NULL)) AS last_add_to_cart,
         MAX(IF(event_name = 'purchase', event_timestamp, NULL)) AS last_purchase
  FROM events GROUP BY user_pseudo_id, ga_session_id
),
searches AS (
  SELECT *, FALSE AS no_results, search_term AS term FROM events
  WHERE event_name IN ('view_search_results', 'search')
  UNION ALL
  SELECT *, TRUE AS no_results, COALESCE(no_results_term, search_term) AS term FROM events
  WHERE @no_results_event IS NOT NULL AND event_name = @no_results_event
)
SELECT
  s.customer_id, s.company_id, s.branch_id, s.user_pseudo_id, s.ga_session_id, s.event_time, s.event_timestamp,
  s.event_name, s.term AS search_term, s.no_results,
  COALESCE(l.last_view_item > s.event_timestamp, FALSE) AS then_view_item,
  COALESCE(l.last_add_to_cart > s.event_timestamp, FALSE) AS then_add_to_cart,
  COALESCE(l.last_purchase > s.event_timestamp, FALSE) AS then_purchase
FROM searches AS s
LEFT JOIN later AS l
  ON s.user_pseudo_id IS NOT DISTINCT FROM l.user_pseudo_id AND s.ga_session_id IS NOT DISTINCT FROM l.ga_session_id

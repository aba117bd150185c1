-- One row per search (view_search_results / search) and per no-result event, with what
-- the same session did afterwards. Without a search_term parameter the term is read from
-- the page URL's query parameter (ga4.search_query_param, `q` by default) on load
-- (ga4/extract.py: BigQuery cannot URL-decode), marked term_source = 'url'; this query
-- hands over `page_location` for those rows only.
-- Searches without a session (cookieless) are kept; they cannot be followed within a
-- session, so their then_* are false and the metrics leave them out of no-click figures.
{% import 'ga_intel/ga4/sql/_events.sql' as ev with context %}
WITH {{ ev.events(['event_name', 'event_timestamp', 'event_time', 'stream_id', 'user_pseudo_id', 'ga_session_id', 'customer_id', 'company_id', 'branch_id', 'page_location', 'search_term', 'no_results_term']) }},
later AS (  -- window aggregates: the emulator cannot GROUP BY scalar-subquery columns
  SELECT user_pseudo_id, stream_id, ga_session_id, last_view_item, last_add_to_cart, last_purchase
  FROM (
    SELECT user_pseudo_id, stream_id, ga_session_id,
           MAX(IF(event_name = 'view_item', event_timestamp, NULL)) OVER s AS last_view_item,
           MAX(IF(event_name = 'add_to_cart', event_timestamp, NULL)) OVER s AS last_add_to_cart,
           MAX(IF(event_name = 'purchase', event_timestamp, NULL)) OVER s AS last_purchase,
           ROW_NUMBER() OVER s AS n
    FROM events
    WHERE user_pseudo_id IS NOT NULL AND ga_session_id IS NOT NULL
    WINDOW s AS (PARTITION BY user_pseudo_id, stream_id, ga_session_id)
  ) WHERE n = 1
),
searches AS (
  SELECT *, FALSE AS no_results, search_term AS param_term
  FROM events
  WHERE event_name IN ('view_search_results', 'search')
  UNION ALL
  SELECT *, TRUE AS no_results, COALESCE(no_results_term, search_term) AS param_term
  FROM events
  WHERE @no_results_event IS NOT NULL AND event_name = @no_results_event
)
SELECT
  s.customer_id, s.company_id, s.branch_id, s.user_pseudo_id, s.ga_session_id, s.event_time, s.event_timestamp,
  s.event_name, s.param_term AS search_term,
  IF(s.param_term IS NOT NULL, 'param', NULL) AS term_source,
  IF(s.param_term IS NULL, s.page_location, NULL) AS page_location,
  s.no_results,
  COALESCE(l.last_view_item > s.event_timestamp, FALSE) AS then_view_item,
  COALESCE(l.last_add_to_cart > s.event_timestamp, FALSE) AS then_add_to_cart,
  COALESCE(l.last_purchase > s.event_timestamp, FALSE) AS then_purchase
FROM searches AS s
LEFT JOIN later AS l
  ON l.user_pseudo_id = s.user_pseudo_id AND l.stream_id = s.stream_id AND l.ga_session_id = s.ga_session_id

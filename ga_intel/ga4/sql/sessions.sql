-- One row per GA4 session (user_pseudo_id, ga_session_id) seen in the day's table.
-- Events without a pseudo id (consent mode) or a session id are kept, unattributable.
-- Session figures are window aggregates read off each session's first event: the BigQuery
-- emulator cannot GROUP BY-aggregate several scalar-subquery columns of `events` at once
-- (a known gap), and real BigQuery runs this shape just as well.
WITH {events},
per_event AS (
  SELECT
    user_pseudo_id, ga_session_id,
    ROW_NUMBER() OVER (PARTITION BY user_pseudo_id, ga_session_id ORDER BY event_timestamp) AS seq,
    MAX(customer_id) OVER s AS customer_id,
    MAX(company_id) OVER s AS company_id,
    MAX(branch_id) OVER s AS branch_id,
    MIN(event_time) OVER s AS session_start,
    MAX(event_time) OVER s AS session_end,
    SUM(IF(event_name = 'page_view', 1, 0)) OVER s AS page_views,
    COUNT(*) OVER s AS event_count,
    MAX(IF(session_engaged = '1', 1, 0)) OVER s AS engaged,
    MAX(IF(event_name = 'add_to_cart', 1, 0)) OVER s AS had_add_to_cart,
    MAX(IF(event_name = 'purchase', 1, 0)) OVER s AS had_purchase,
    COALESCE(param_source, first_touch_source) AS source,
    COALESCE(param_medium, first_touch_medium) AS medium,
    device_category, country
  FROM events
  WINDOW s AS (PARTITION BY user_pseudo_id, ga_session_id)
),
landing AS (
  SELECT user_pseudo_id, ga_session_id, page_location AS landing_page
  FROM (
    SELECT user_pseudo_id, ga_session_id, page_location,
           ROW_NUMBER() OVER (PARTITION BY user_pseudo_id, ga_session_id ORDER BY event_timestamp) AS n
    FROM events WHERE event_name = 'page_view'
  ) WHERE n = 1
)
SELECT s.user_pseudo_id, s.ga_session_id, s.customer_id, s.company_id, s.branch_id,
       s.session_start, s.session_end, s.page_views, s.engaged = 1 AS engaged,
       s.source, s.medium, s.device_category, s.country, l.landing_page,
       s.had_add_to_cart = 1 AS had_add_to_cart, s.had_purchase = 1 AS had_purchase, s.event_count
FROM per_event AS s
LEFT JOIN landing AS l
  ON s.user_pseudo_id IS NOT DISTINCT FROM l.user_pseudo_id AND s.ga_session_id IS NOT DISTINCT FROM l.ga_session_id
WHERE s.seq = 1

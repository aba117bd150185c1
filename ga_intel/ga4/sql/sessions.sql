-- One row per GA4 session seen in the day's table, keyed as dbt-ga4 keys sessions:
-- (user_pseudo_id, stream_id, ga_session_id). Events without a pseudo id (cookieless
-- pings) or without a ga_session_id are not sessions: unsessioned_events.sql counts them.
--
-- A session that crosses midnight is in two daily tables, so it has a row ("part") on
-- each day. `continues_earlier` marks the later part: ga_session_id is the session's
-- start in Unix seconds, so a part whose id lies before the day's local midnight (and
-- not implausibly long before) started on an earlier day. Metrics count a session once,
-- on its start day, with the figures of all its parts (insights/sql/metrics.sql).
--
-- Figures are window aggregates read off each session's first event: the BigQuery
-- emulator cannot GROUP BY-aggregate several scalar-subquery columns of `events` at once
-- (a known gap), and real BigQuery runs this shape just as well.
{% import 'ga_intel/ga4/sql/_events.sql' as ev with context %}
WITH {{ ev.events(['event_name', 'event_timestamp', 'event_time', 'stream_id', 'user_pseudo_id', 'ga_session_id', 'session_number', 'customer_id', 'company_id', 'branch_id', 'page_location', 'session_engaged', 'is_active_user', 'last_click_source', 'last_click_medium', 'event_source', 'event_medium', 'device_category', 'country']) }},
keyed AS (
  SELECT * FROM events WHERE user_pseudo_id IS NOT NULL AND ga_session_id IS NOT NULL
),
per_event AS (
  SELECT
    user_pseudo_id, stream_id, ga_session_id,
    ROW_NUMBER() OVER (PARTITION BY user_pseudo_id, stream_id, ga_session_id ORDER BY event_timestamp, event_name) AS seq,
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
    MAX(IF(event_name IN ('first_visit', 'first_open'), 1, 0)) OVER s AS had_first_visit,
    MIN(session_number) OVER s AS session_number,
    -- NULL when the export has no is_active_user (older exports): every user counts then.
    MAX(CASE WHEN is_active_user THEN 1 WHEN is_active_user IS NOT NULL THEN 0 END) OVER s AS active_user,
    device_category, country
  FROM keyed
  WINDOW s AS (PARTITION BY user_pseudo_id, stream_id, ga_session_id)
),
traffic AS (  -- the first event with a source: last click where exported, else event-scoped
  SELECT user_pseudo_id, stream_id, ga_session_id, source, medium
  FROM (
    SELECT user_pseudo_id, stream_id, ga_session_id,
           IF(last_click_source IS NOT NULL, last_click_source, event_source) AS source,
           IF(last_click_source IS NOT NULL, last_click_medium, event_medium) AS medium,
           ROW_NUMBER() OVER (PARTITION BY user_pseudo_id, stream_id, ga_session_id ORDER BY event_timestamp, event_name) AS n
    FROM keyed
    WHERE COALESCE(last_click_source, event_source) IS NOT NULL
  ) WHERE n = 1
),
landing AS (
  SELECT user_pseudo_id, stream_id, ga_session_id, page_location AS landing_page
  FROM (
    SELECT user_pseudo_id, stream_id, ga_session_id, page_location,
           ROW_NUMBER() OVER (PARTITION BY user_pseudo_id, stream_id, ga_session_id ORDER BY event_timestamp) AS n
    FROM keyed WHERE event_name = 'page_view'
  ) WHERE n = 1
)
SELECT s.user_pseudo_id, s.stream_id, s.ga_session_id, s.customer_id, s.company_id, s.branch_id,
       s.session_start, s.session_end, s.page_views, s.engaged = 1 AS engaged,
       t.source, t.medium, s.device_category, s.country, l.landing_page,
       s.had_add_to_cart = 1 AS had_add_to_cart, s.had_purchase = 1 AS had_purchase, s.event_count,
       s.session_number,
       (s.had_first_visit = 1 OR COALESCE(s.session_number = 1, FALSE)) AS new_user,
       s.active_user = 1 AS active_user,
       (s.ga_session_id < @day_start_seconds AND s.ga_session_id >= @day_start_seconds - 3 * 86400) AS continues_earlier
FROM per_event AS s
LEFT JOIN traffic AS t
  ON t.user_pseudo_id = s.user_pseudo_id AND t.stream_id = s.stream_id AND t.ga_session_id = s.ga_session_id
LEFT JOIN landing AS l
  ON l.user_pseudo_id = s.user_pseudo_id AND l.stream_id = s.stream_id AND l.ga_session_id = s.ga_session_id
WHERE s.seq = 1

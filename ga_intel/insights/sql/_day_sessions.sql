{#- The sessions of day :day, one row each, keyed as dbt-ga4 keys them (user_pseudo_id,
stream_id, ga_session_id): a session counts on the day it started, once, with the figures
of its part after midnight (`continues_earlier` rows of the next two days) folded in.
Needs the CTEs of _attribution.sql. Also `day_parts`: every session part seen on :day
(a user active after midnight is active that day too). -#}
{% import 'ga_intel/sql_macros/insights.sql' as m %}
day_parts AS (
  SELECT s.*, {{ m.account_key() }} AS account_key, {{ m.branch() }} AS branch,
         {{ m.visitor_key('s') }} AS visitor_key
  FROM tenant_data.sessions s
  {{ m.attribute('s') }}
  WHERE s.tenant_id = :tenant AND s.event_date = :day
),
later_parts AS (
  SELECT user_pseudo_id, stream_id, ga_session_id,
         max(customer_id) AS customer_id, max(company_id) AS company_id, max(branch_id) AS branch_id,
         bool_or(engaged) AS engaged, sum(page_views) AS page_views, bool_or(had_add_to_cart) AS had_add_to_cart,
         max(landing_page) AS landing_page
  FROM tenant_data.sessions
  WHERE tenant_id = :tenant AND continues_earlier
    AND event_date BETWEEN CAST(:day AS date) + 1 AND CAST(:day AS date) + 2
  GROUP BY 1, 2, 3
),
stitched AS (
  SELECT s.user_pseudo_id, s.stream_id, s.ga_session_id, s.session_start,
         COALESCE(s.customer_id, l.customer_id) AS customer_id, COALESCE(s.company_id, l.company_id) AS company_id,
         COALESCE(s.branch_id, l.branch_id) AS branch_id,
         s.engaged OR COALESCE(l.engaged, false) AS engaged,
         s.page_views + COALESCE(l.page_views, 0) AS page_views,
         COALESCE(s.landing_page, l.landing_page) AS landing_page
  FROM tenant_data.sessions s
  LEFT JOIN later_parts l
    ON l.user_pseudo_id = s.user_pseudo_id AND COALESCE(l.stream_id, '') = COALESCE(s.stream_id, '')
   AND l.ga_session_id = s.ga_session_id
  WHERE s.tenant_id = :tenant AND s.event_date = :day AND NOT s.continues_earlier
),
day_sessions AS (
  SELECT st.*, {{ m.account_key() }} AS account_key, {{ m.branch() }} AS branch,
         {{ m.visitor_key('st') }} AS visitor_key
  FROM stitched st
  {{ m.attribute('st') }}
)

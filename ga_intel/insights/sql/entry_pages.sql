-- Per landing page for the day: sessions, and single-page sessions (at most one page view
-- in all the session's parts): the seed system's "most frequently bounced entry pages",
-- named for what it counts (GA4's bounce is a session that was not engaged).
{% import 'ga_intel/sql_macros/insights.sql' as m %}
WITH {% include 'ga_intel/insights/sql/_attribution.sql' %},
{% include 'ga_intel/insights/sql/_day_sessions.sql' %}
SELECT landing_page, count(*) AS sessions, count(*) FILTER (WHERE page_views <= 1) AS single_page_sessions
FROM day_sessions
WHERE landing_page IS NOT NULL
GROUP BY landing_page

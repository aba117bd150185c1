-- One row per page_view of a logged-in (identified) customer.
{% import 'ga_intel/ga4/sql/_events.sql' as ev with context %}
WITH {{ ev.events(['event_name', 'event_timestamp', 'event_time', 'user_pseudo_id', 'ga_session_id', 'customer_id', 'company_id', 'branch_id', 'page_location', 'page_title']) }}
SELECT customer_id, company_id, branch_id, user_pseudo_id, ga_session_id, event_time, event_timestamp,
       page_location, page_title
FROM events
WHERE event_name = 'page_view' AND customer_id IS NOT NULL

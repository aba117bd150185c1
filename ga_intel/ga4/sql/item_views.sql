-- One row per item of each view_item by an identified customer or company.
{% import 'ga_intel/sql_macros/ga4.sql' as ga4 %}
{% import 'ga_intel/ga4/sql/_events.sql' as ev with context %}
WITH {{ ev.events(['event_name', 'event_timestamp', 'event_time', 'user_pseudo_id', 'ga_session_id', 'customer_id', 'company_id', 'branch_id', 'page_location', 'items']) }}
SELECT
  e.customer_id, e.company_id, e.branch_id, e.user_pseudo_id, e.ga_session_id, e.event_time, e.event_timestamp,
  pos AS line_no, i.item_id, i.item_name, i.item_category, {{ ga4.money('i.price') }} AS price, e.page_location
FROM events AS e, UNNEST(e.items) AS i WITH OFFSET AS pos
WHERE e.event_name = 'view_item' AND (e.customer_id IS NOT NULL OR e.company_id IS NOT NULL)

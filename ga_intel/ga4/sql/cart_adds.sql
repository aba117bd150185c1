-- One row per item of each add_to_cart event (an event adding two items is two rows;
-- event_timestamp + user_pseudo_id identify the event). Item values: ga4.item_values.
{% import 'ga_intel/sql_macros/ga4.sql' as ga4 %}
{% import 'ga_intel/ga4/sql/_events.sql' as ev with context %}
WITH {{ ev.events(['event_name', 'event_timestamp', 'event_time', 'user_pseudo_id', 'ga_session_id', 'customer_id', 'company_id', 'branch_id', 'param_value', 'value_in_usd', 'currency', 'items']) }},
adds AS (
  SELECT *, ROW_NUMBER() OVER () AS event_n, param_value AS event_value, value_in_usd AS event_value_in_usd
  FROM events WHERE event_name = 'add_to_cart'
),
{{ ga4.item_values('adds') }}
SELECT customer_id, company_id, branch_id, user_pseudo_id, ga_session_id, event_time, event_timestamp,
       line_no, item_id, item_name, item_category, quantity, price, value, value_in_usd, currency
FROM item_values
UNION ALL
-- An add_to_cart without items still happened: keep it, with its value if any.
SELECT customer_id, company_id, branch_id, user_pseudo_id, ga_session_id, event_time, event_timestamp,
       0, NULL, NULL, NULL, 1, NULL, event_value, event_value_in_usd, currency
FROM adds
WHERE ARRAY_LENGTH(items) = 0

-- One row per item of each de-duplicated purchase (same first-wins rule as purchases.sql).
-- Item revenue: GA4's item_revenue, else price × quantity, else a share of the order's
-- revenue (ga4.item_values).
{% import 'ga_intel/sql_macros/ga4.sql' as ga4 %}
{% import 'ga_intel/ga4/sql/_events.sql' as ev with context %}
WITH {{ ev.events(['event_name', 'event_timestamp', 'event_bundle_sequence_id', 'event_time', 'user_pseudo_id', 'ga_session_id', 'customer_id', 'company_id', 'branch_id', 'transaction_id', 'purchase_revenue', 'purchase_revenue_in_usd', 'param_value', 'value_in_usd', 'currency', 'items']) }},
purchases AS (
  SELECT *,
    ROW_NUMBER() OVER (PARTITION BY transaction_id ORDER BY event_timestamp, user_pseudo_id, event_bundle_sequence_id, purchase_revenue DESC) AS dup_rank,
    (transaction_id IS NULL OR TRIM(transaction_id) = '' OR transaction_id = '(not set)') AS unkeyed,
    ROW_NUMBER() OVER () AS event_n,
    COALESCE(purchase_revenue, param_value) AS event_value,
    COALESCE(purchase_revenue_in_usd, value_in_usd) AS event_value_in_usd
  FROM events WHERE event_name = 'purchase'
),
kept AS (SELECT * FROM purchases WHERE unkeyed OR dup_rank = 1),
{{ ga4.item_values('kept', explicit='i.item_revenue', explicit_usd='i.item_revenue_in_usd') }}
SELECT
  transaction_id, customer_id, company_id, branch_id, user_pseudo_id, ga_session_id,
  event_time, event_timestamp, line_no,
  item_id, item_name, item_brand, item_category, price, quantity,
  value AS item_revenue, value_in_usd AS item_revenue_in_usd, currency
FROM item_values

-- One row per transaction of the day: copies of a real transaction_id within the day
-- collapse to the first event (a reloaded confirmation page re-fires `purchase`); null
-- and '(not set)' ids are kept, each event a row, flagged in id_status. The order is total
-- (timestamp, device, bundle, revenue) so a re-run always keeps the same copy.
-- A copy on a LATER day (a receipt reopened days after) is loaded too: the metrics and
-- tasks count each transaction_id once in the tenant's history, on its earliest day
-- (insights/sql/_counted_purchases.sql).
-- Cookieless purchases (no user_pseudo_id) are kept: they count as revenue.
{% import 'ga_intel/sql_macros/ga4.sql' as ga4 %}
{% import 'ga_intel/ga4/sql/_events.sql' as ev with context %}
WITH {{ ev.events(['event_name', 'event_timestamp', 'event_bundle_sequence_id', 'event_time', 'stream_id', 'user_pseudo_id', 'ga_session_id', 'customer_id', 'company_id', 'branch_id', 'transaction_id', 'purchase_revenue', 'purchase_revenue_in_usd', 'param_value', 'value_in_usd', 'currency', 'total_item_quantity', 'items']) }},
purchases AS (
  SELECT *,
    CASE WHEN transaction_id IS NULL OR TRIM(transaction_id) = '' THEN 'null'
         WHEN transaction_id = '(not set)' THEN 'not_set' ELSE 'ok' END AS id_status,
    ROW_NUMBER() OVER (PARTITION BY transaction_id ORDER BY event_timestamp, user_pseudo_id, event_bundle_sequence_id, purchase_revenue DESC) AS dup_rank,
    COUNT(*) OVER (PARTITION BY transaction_id) AS same_id
  FROM events WHERE event_name = 'purchase'
)
SELECT
  transaction_id, id_status, customer_id, company_id, branch_id, user_pseudo_id, stream_id, ga_session_id,
  event_time, COALESCE(purchase_revenue, param_value) AS revenue,
  COALESCE(purchase_revenue_in_usd, value_in_usd) AS revenue_in_usd, currency,
  COALESCE(total_item_quantity,
           (SELECT SUM(COALESCE({{ ga4.quantity('i.quantity') }}, 1)) FROM UNNEST(items) AS i)) AS item_count,
  IF(id_status = 'ok', same_id, 1) AS duplicate_events,
  event_timestamp
FROM purchases
WHERE id_status != 'ok' OR dup_rank = 1

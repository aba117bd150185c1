-- One row per refund event: ecommerce.refund_value (gross revenue stays on the purchase's
-- day; the refund reduces net revenue on the refund's day). Partial refunds of one
-- transaction are separate events and all count; exact duplicate hits were dropped.
{% import 'ga_intel/ga4/sql/_events.sql' as ev with context %}
WITH {{ ev.events(['event_name', 'event_timestamp', 'event_time', 'stream_id', 'user_pseudo_id', 'ga_session_id', 'customer_id', 'company_id', 'branch_id', 'transaction_id', 'refund_value', 'refund_value_in_usd', 'param_value', 'value_in_usd', 'currency']) }}
SELECT
  transaction_id, customer_id, company_id, branch_id, user_pseudo_id, stream_id, ga_session_id,
  event_time, event_timestamp,
  COALESCE(refund_value, param_value) AS refund_value,
  COALESCE(refund_value_in_usd, value_in_usd) AS refund_value_in_usd, currency
FROM events
WHERE event_name = 'refund'

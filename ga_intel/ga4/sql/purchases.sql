-- One row per transaction: duplicates of a real transaction_id collapse to the first
-- event (GA4 duplicates purchases); null and '(not set)' ids are kept, each event a row,
-- flagged in id_status. The order is total (timestamp, device, bundle, revenue) so a
-- re-run always keeps the same copy.
WITH {events},
purchases AS (
  SELECT *,
    CASE WHEN transaction_id IS NULL OR TRIM(transaction_id) = '' THEN 'null'
         WHEN transaction_id = '(not set)' THEN 'not_set' ELSE 'ok' END AS id_status,
    ROW_NUMBER() OVER (PARTITION BY transaction_id ORDER BY event_timestamp, user_pseudo_id, event_bundle_sequence_id, purchase_revenue DESC) AS dup_rank,
    COUNT(*) OVER (PARTITION BY transaction_id) AS copies
  FROM events WHERE event_name = 'purchase'
)
SELECT
  transaction_id, id_status, customer_id, company_id, branch_id, user_pseudo_id, ga_session_id,
  event_time, COALESCE(purchase_revenue, param_value) AS revenue, param_currency AS currency,
  COALESCE(total_item_quantity, (SELECT SUM(COALESCE(i.quantity, 1)) FROM UNNEST(items) AS i)) AS item_count,
  IF(id_status = 'ok', copies, 1) AS duplicate_events,
  event_timestamp
FROM purchases
WHERE id_status != 'ok' OR dup_rank = 1

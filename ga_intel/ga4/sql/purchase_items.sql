-- One row per item of each de-duplicated purchase (same first-wins rule as purchases).
WITH {events},
purchases AS (
  SELECT *,
    ROW_NUMBER() OVER (PARTITION BY transaction_id ORDER BY event_timestamp, user_pseudo_id, event_bundle_sequence_id, purchase_revenue DESC) AS dup_rank,
    (transaction_id IS NULL OR TRIM(transaction_id) = '' OR transaction_id = '(not set)') AS unkeyed
  FROM events WHERE event_name = 'purchase'
)
SELECT
  p.transaction_id, p.customer_id, p.company_id, p.branch_id, p.user_pseudo_id, p.ga_session_id,
  p.event_time, p.event_timestamp, pos AS line_no,
  i.item_id, i.item_name, i.item_brand, i.item_category, i.price, COALESCE(i.quantity, 1) AS quantity,
  COALESCE(i.item_revenue, i.price * COALESCE(i.quantity, 1)) AS item_revenue
FROM purchases AS p, UNNEST(p.items) AS i WITH OFFSET AS pos
WHERE p.unkeyed OR p.dup_rank = 1

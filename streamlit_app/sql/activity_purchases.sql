-- A task's customer (else the buying company): newest orders.
SELECT event_time, transaction_id, revenue::float8 AS revenue, currency, item_count
FROM tenant_data.purchases
WHERE (CAST(:customer_id AS text) IS NOT NULL AND customer_id = :customer_id)
   OR (CAST(:customer_id AS text) IS NULL AND company_id = :company_id)
ORDER BY event_time DESC
LIMIT :limit

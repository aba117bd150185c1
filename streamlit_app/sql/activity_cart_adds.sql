-- A task's customer (else the buying company): newest add-to-cart items.
SELECT event_time, item_id, item_name, quantity, price::float8 AS price, value::float8 AS value
FROM tenant_data.cart_adds
WHERE (CAST(:customer_id AS text) IS NOT NULL AND customer_id = :customer_id)
   OR (CAST(:customer_id AS text) IS NULL AND company_id = :company_id)
ORDER BY event_time DESC
LIMIT :limit

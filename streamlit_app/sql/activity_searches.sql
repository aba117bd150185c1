-- A task's customer (else the buying company): newest searches and what followed them.
SELECT event_time, search_term, no_results, then_view_item, then_add_to_cart, then_purchase
FROM tenant_data.searches
WHERE (CAST(:customer_id AS text) IS NOT NULL AND customer_id = :customer_id)
   OR (CAST(:customer_id AS text) IS NULL AND company_id = :company_id)
ORDER BY event_time DESC
LIMIT :limit

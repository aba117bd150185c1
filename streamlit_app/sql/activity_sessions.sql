-- A task's customer (else, for a company account, the buying company): newest sessions.
SELECT session_start, event_date, landing_page, page_views, source, medium, device_category,
       had_add_to_cart, had_purchase
FROM tenant_data.sessions
WHERE (CAST(:customer_id AS text) IS NOT NULL AND customer_id = :customer_id)
   OR (CAST(:customer_id AS text) IS NULL AND company_id = :company_id)
ORDER BY session_start DESC
LIMIT :limit

-- Who a task is about, from the user report: the customer, else the company's customers.
SELECT user_id, trim(coalesce(first_name, '') || ' ' || coalesce(last_name, '')) AS name, job_title,
       email, office_phone, cell_phone, company_id, company_name, branch_code, rep_name, rep_email,
       last_login_date
FROM tenant_data.users
WHERE (CAST(:customer_id AS text) IS NOT NULL AND user_id = :customer_id)
   OR (CAST(:customer_id AS text) IS NULL AND company_id = :company_id)
ORDER BY user_id
LIMIT :limit

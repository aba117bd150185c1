-- Open work of one branch as of the report date, best first, with who to call.
-- A company-level task (no known user) shows the company and its first listed user.
SELECT t.task_key, t.task_type, t.title, t.value, t.priority, t.due_date, t.created_date, t.status,
       t.assigned_rep_name, t.assigned_rep_email, t.context,
       coalesce(u.company_name, cu.company_name) AS company_name,
       nullif(concat_ws(' ', coalesce(u.first_name, cu.first_name), coalesce(u.last_name, cu.last_name)), '')
         AS contact_name,
       coalesce(u.email, cu.email) AS contact_email,
       coalesce(u.office_phone, u.cell_phone, cu.office_phone, cu.cell_phone) AS contact_phone,
       count(*) OVER (PARTITION BY t.task_type) AS type_total
FROM tenant_data.tasks t
LEFT JOIN tenant_data.users u ON u.tenant_id = t.tenant_id AND u.user_id = t.customer_id
LEFT JOIN LATERAL (
  SELECT * FROM tenant_data.users c
  WHERE c.tenant_id = t.tenant_id AND u.user_id IS NULL AND c.company_id = t.company_id
  ORDER BY c.source_row LIMIT 1
) cu ON true
WHERE t.tenant_id = :tenant AND t.branch_code = :branch
  AND t.status IN ('open', 'in_progress') AND t.created_date <= CAST(:day AS date)
ORDER BY t.task_type, t.priority, t.value DESC NULLS LAST, t.task_key

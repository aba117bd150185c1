-- The ranked daily work list (docs/TASKS.md, "The daily list"): open and in-progress
-- tasks whose actionable horizon has not passed, per assignee: the tasks new since
-- :new_since first, then by tenant_data.task_score(). Each row carries its rank in its
-- assignee's list and the list's size, so a caller caps at :cap and counts the rest.
-- One query for every reader: the email, the dashboard's "my list for today", the API.
-- `scope` (render option): SQL on `tasks` limiting whose tasks a reader may see.
-- Bound: :tenant, :today, :new_since, :branch (NULL: all), :rep (NULL: anyone, '': the
-- unassigned, else a lower-cased email), :cap (NULL: no cap).
WITH listed AS (
  SELECT tasks.*,
         tenant_data.task_score(tasks.priority, tasks.value, tasks.account_revenue_90d, tasks.created_date, :today)
           AS score,
         tasks.created_date >= :new_since AS is_new,
         greatest(CAST(:today AS date) - tasks.due_date, 0) AS days_overdue,
         lower(coalesce(tasks.assigned_rep_email, '')) AS assignee
  FROM tenant_data.tasks AS tasks
  WHERE tasks.tenant_id = :tenant AND tasks.status IN ('open', 'in_progress') AND tasks.horizon_date >= :today
    AND (CAST(:branch AS text) IS NULL OR tasks.branch_code = :branch)
    AND (CAST(:rep AS text) IS NULL OR lower(coalesce(tasks.assigned_rep_email, '')) = :rep)
    AND {{ scope }}
),
ranked AS (
  SELECT *,
         row_number() OVER (PARTITION BY assignee ORDER BY is_new DESC, score DESC, task_key) AS rank,
         count(*) OVER (PARTITION BY assignee) AS list_size,
         count(*) FILTER (WHERE is_new) OVER (PARTITION BY assignee) AS list_new
  FROM listed
)
SELECT r.task_key, r.task_type, r.status, r.priority, r.due_date, r.created_date, r.horizon_date, r.branch_code,
       r.assigned_rep_email, r.assigned_rep_name, r.title, r.value::float8 AS value, r.customer_id, r.company_id,
       r.account_key, r.note, r.context, r.score::float8 AS score, r.is_new, r.days_overdue, r.rank, r.list_size,
       r.list_new,
       -- who to call: the customer, or for a company-level task its first listed user
       coalesce(u.company_name, cu.company_name) AS company_name,
       nullif(concat_ws(' ', coalesce(u.first_name, cu.first_name), coalesce(u.last_name, cu.last_name)), '')
         AS contact_name,
       coalesce(u.email, cu.email) AS contact_email,
       coalesce(u.office_phone, u.cell_phone, cu.office_phone, cu.cell_phone) AS contact_phone
FROM ranked r
LEFT JOIN tenant_data.users u ON u.tenant_id = r.tenant_id AND u.user_id = r.customer_id
LEFT JOIN LATERAL (
  SELECT * FROM tenant_data.users c
  WHERE c.tenant_id = r.tenant_id AND u.user_id IS NULL AND c.company_id = r.company_id
  ORDER BY c.source_row LIMIT 1
) cu ON true
WHERE CAST(:cap AS integer) IS NULL OR r.rank <= :cap
ORDER BY r.assigned_rep_name NULLS LAST, r.assignee, r.rank

-- The work list: tasks created in [:start, :end] inside the person's scope (the marker is
-- replaced by ga_intel/reads/task_scope.SCOPE), narrowed by the filters. :rep '' = unassigned.
-- Ordered by priority, due date, value (largest first, none last) and key; the API pages
-- through it with a cursor, the last row's sort key (:after_*; all null: from the start).
SELECT task_key, task_type, status, priority, due_date, created_date, branch_code,
       assigned_rep_email, assigned_rep_name, title, value::float8 AS value,
       customer_id, company_id, account_key, note, status_set_by, status_set_at,
       recovered_revenue::float8 AS recovered_revenue, recovered_on, context, horizon_date, updated_at
FROM tenant_data.tasks
WHERE created_date BETWEEN :start AND :end
  AND /*task_scope*/
  AND task_type = ANY(CAST(:types AS text[]))
  AND status = ANY(CAST(:statuses AS text[]))
  AND (CAST(:branch AS text) IS NULL OR branch_code = :branch)
  AND (CAST(:rep AS text) IS NULL
       OR (CAST(:rep AS text) = '' AND assigned_rep_email IS NULL)
       OR lower(assigned_rep_email) = :rep)
  AND (CAST(:task_key AS text) IS NULL OR task_key = :task_key)
  AND (CAST(:after_key AS text) IS NULL
       OR (priority, due_date, coalesce(-value, 1e15), task_key)
          > (CAST(:after_priority AS smallint), CAST(:after_due AS date), CAST(:after_value AS numeric),
             CAST(:after_key AS text)))
ORDER BY priority, due_date, coalesce(-value, 1e15), task_key
LIMIT :limit

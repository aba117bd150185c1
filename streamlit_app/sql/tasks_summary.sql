-- Tasks created in [:start, :end] inside the person's scope (marker: lib/task_scope.SCOPE)
-- and the branch filter, counted per status, type, branch and assignee: the page's
-- figures and the choices of its filters come from these rows.
SELECT status, task_type, branch_code, lower(assigned_rep_email) AS rep_email,
       max(assigned_rep_name) AS rep_name,
       count(*)::bigint AS tasks,
       count(*) FILTER (WHERE due_date < :today AND status IN ('open', 'in_progress'))::bigint AS overdue,
       coalesce(sum(value), 0)::float8 AS value
FROM tenant_data.tasks
WHERE created_date BETWEEN :start AND :end
  AND /*task_scope*/
  AND (CAST(:branch AS text) IS NULL OR branch_code = :branch)
GROUP BY status, task_type, branch_code, lower(assigned_rep_email)

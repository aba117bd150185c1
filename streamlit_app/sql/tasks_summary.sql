-- Tasks created in [:start, :end] inside the person's scope (marker: lib/task_scope.SCOPE)
-- and the branch filter, counted per status, type, branch and assignee: the page's
-- figures and the choices of its filters come from these rows.
-- Whole months [:months_from, :months_to) of closed tasks come from tasks_monthly (kept by
-- triggers on tasks, migration 0008); open / in-progress tasks (for `overdue`, which
-- depends on :today) and the days outside those months come from tasks itself. The
-- roll-up is aliased `tasks` so that the scope marker applies to it as well.
WITH rows AS (
    SELECT status, task_type, branch_code, assigned_rep_email AS rep_email, assigned_rep_name AS rep_name,
           tasks.tasks, 0::bigint AS overdue, tasks.value
    FROM tenant_data.tasks_monthly AS tasks
    WHERE month >= :months_from AND month < :months_to
      AND status NOT IN ('open', 'in_progress')
      AND /*task_scope*/
      AND (CAST(:branch AS text) IS NULL OR branch_code = :branch)
    UNION ALL
    SELECT status, task_type, branch_code, lower(assigned_rep_email), assigned_rep_name,
           1, (due_date < :today AND status IN ('open', 'in_progress'))::int, coalesce(value, 0)
    FROM tenant_data.tasks
    WHERE created_date BETWEEN :start AND :end
      AND (status IN ('open', 'in_progress') OR created_date < :months_from OR created_date >= :months_to)
      AND /*task_scope*/
      AND (CAST(:branch AS text) IS NULL OR branch_code = :branch)
)
SELECT status, task_type, branch_code, rep_email,
       max(rep_name) AS rep_name,
       sum(tasks)::bigint AS tasks,
       sum(overdue)::bigint AS overdue,
       sum(value)::float8 AS value
FROM rows
GROUP BY status, task_type, branch_code, rep_email

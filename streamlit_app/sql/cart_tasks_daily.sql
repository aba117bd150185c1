-- Known customers' abandoned carts: the cart-recovery tasks created in [:start, :end]
-- (one per account and cart day; anonymous carts never become tasks), per day and status,
-- for the whole tenant (from cart_tasks_by_day, kept by triggers on tasks, migration 0008)
-- or :branch (from tasks). value = the cart's value; recovered_revenue = the order that
-- closed the task as recovered.
SELECT created_date, status, carts::bigint AS carts, value::float8 AS value,
       recovered_revenue::float8 AS recovered_revenue
FROM tenant_data.cart_tasks_by_day
WHERE CAST(:branch AS text) IS NULL
  AND created_date BETWEEN :start AND :end
UNION ALL
SELECT created_date, status,
       count(*)::bigint                               AS carts,
       coalesce(sum(value), 0)::float8                AS value,
       coalesce(sum(recovered_revenue), 0)::float8    AS recovered_revenue
FROM tenant_data.tasks
WHERE CAST(:branch AS text) IS NOT NULL
  AND task_type = 'cart_recovery'
  AND created_date BETWEEN :start AND :end
  AND branch_code = :branch
GROUP BY created_date, status
ORDER BY created_date, status

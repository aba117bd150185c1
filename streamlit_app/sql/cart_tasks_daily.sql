-- Known customers' abandoned carts: the cart-recovery tasks created in [:start, :end]
-- (one per account and cart day; anonymous carts never become tasks), per day and status,
-- for the whole tenant or :branch. value = the cart's value; recovered_revenue = the
-- order that closed the task as recovered.
SELECT created_date, status,
       count(*)::bigint                               AS carts,
       coalesce(sum(value), 0)::float8                AS value,
       coalesce(sum(recovered_revenue), 0)::float8    AS recovered_revenue
FROM tenant_data.tasks
WHERE task_type = 'cart_recovery'
  AND created_date BETWEEN :start AND :end
  AND (CAST(:branch AS text) IS NULL OR branch_code = :branch)
GROUP BY created_date, status
ORDER BY created_date, status

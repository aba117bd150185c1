-- The items of known customers' abandoned carts (cart-recovery tasks created in
-- [:start, :end], any status), most abandoned value first. An item is keyed by item_id,
-- else its name.
SELECT coalesce(i->>'item_id', i->>'item_name', '(unknown)')              AS item_id,
       max(i->>'item_name')                                                AS item_name,
       count(DISTINCT t.task_key)::bigint                                  AS carts,
       coalesce(sum((i->>'quantity')::numeric), 0)::float8                 AS quantity,
       coalesce(sum((i->>'quantity')::numeric * (i->>'price')::numeric), 0)::float8 AS value,
       count(DISTINCT t.task_key) FILTER (WHERE t.status = 'recovered')::bigint AS recovered_carts
FROM tenant_data.tasks t
CROSS JOIN LATERAL jsonb_array_elements(t.context -> 'items') AS i
WHERE t.task_type = 'cart_recovery'
  AND t.created_date BETWEEN :start AND :end
  AND (CAST(:branch AS text) IS NULL OR t.branch_code = :branch)
GROUP BY 1
ORDER BY value DESC, carts DESC, item_id
LIMIT :top

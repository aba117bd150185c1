-- The items of known customers' abandoned carts (cart-recovery tasks created in
-- [:start, :end], any status), most abandoned value first. An item is keyed by item_id,
-- else its name; a cart counts once per item; a recovered cart is one whose recovery was
-- recorded (whatever status a person gave the task).
-- For the whole tenant, the whole months [:months_from, :months_to) come from
-- cart_items_monthly and the other days from cart_items_daily (both kept by triggers on
-- tasks, migration 0008); for one :branch, from the tasks' items themselves.
WITH rows AS (
    SELECT item_id, item_name, carts, quantity, value, recovered_carts
    FROM tenant_data.cart_items_monthly
    WHERE CAST(:branch AS text) IS NULL
      AND month >= :months_from AND month < :months_to
    UNION ALL
    SELECT item_id, item_name, carts, quantity, value, recovered_carts
    FROM tenant_data.cart_items_daily
    WHERE CAST(:branch AS text) IS NULL
      AND created_date BETWEEN :start AND :end
      AND (created_date < :months_from OR created_date >= :months_to)
    UNION ALL
    SELECT x.item_id, x.item_name, 1, x.quantity, x.value, (t.recovered_on IS NOT NULL)::int
    FROM tenant_data.tasks t
    CROSS JOIN LATERAL tenant_data.cart_items(t.context) x  -- the one reading of a cart's items (migration 0011)
    WHERE CAST(:branch AS text) IS NOT NULL
      AND t.task_type = 'cart_recovery'
      AND t.created_date BETWEEN :start AND :end
      AND t.branch_code = :branch
)
SELECT item_id,
       max(item_name)                  AS item_name,
       sum(carts)::bigint              AS carts,
       sum(quantity)::float8           AS quantity,
       sum(value)::float8              AS value,
       sum(recovered_carts)::bigint    AS recovered_carts
FROM rows
GROUP BY item_id
ORDER BY value DESC, carts DESC, item_id
LIMIT :top

-- Record the recovery of cart tasks: within :recovery_days after the cart's window ends,
-- the account buys at least one of the cart's items. The first such order counts: its
-- matched items' value is the recovered revenue, the whole order's beside it. Whether a
-- person had worked the task before the purchase (first_touched_at) is recorded: that is
-- what tells recovery after contact from recovery on its own. A task a person closed
-- (done, dismissed) keeps its status, and so does a `stale` one (it never reached a work
-- list); an open, in-progress or expired one becomes `recovered`.
-- An order without any of the cart's items recovers nothing. Re-running finds the same
-- first order; a task whose recorded order is no longer the first is corrected, and one
-- whose order no longer counts at all loses its recovery.
-- Bound: :tenant, :currency, :recovery_days, :tasks_from, :tasks_to, :purchases_from,
-- :purchases_to.
{% import 'ga_intel/sql_macros/insights.sql' as m %}
WITH {% include 'ga_intel/insights/sql/_attribution.sql' %},
{% include 'ga_intel/insights/sql/_counted_purchases.sql' %},
buys AS (
  SELECT {{ m.account_key() }} AS account_key, p.*
  FROM counted_purchases p
  {{ m.attribute('p') }}
),
carts AS (
  SELECT t.task_key, t.account_key, CAST(t.context->>'window_ends' AS timestamptz) AS window_ends,
         t.first_touched_at, x.item_id
  FROM tenant_data.tasks t
  CROSS JOIN LATERAL tenant_data.cart_items(t.context) x
  WHERE t.tenant_id = :tenant AND t.task_type = 'cart_recovery' AND t.created_date BETWEEN :tasks_from AND :tasks_to
),
matched AS (  -- per task and order: the value of the cart's items in it
  SELECT c.task_key, b.transaction_id, b.event_date, b.event_time, b.amount AS order_amount, c.first_touched_at,
         round(sum({{ m.in_currency('i.item_revenue', 'i.currency', 'i.item_revenue_in_usd') }}), 2) AS items_amount
  FROM carts c
  JOIN buys b ON b.account_key = c.account_key
             AND b.event_time > c.window_ends
             AND b.event_time <= c.window_ends + make_interval(days => :recovery_days)
  JOIN tenant_data.purchase_items i  -- plain equality (hashable), not IS NOT DISTINCT FROM
    ON i.tenant_id = :tenant AND i.event_date = b.event_date AND i.event_timestamp = b.event_timestamp
   AND coalesce(i.transaction_id, '') = coalesce(b.transaction_id, '')
   AND coalesce(i.item_id, i.item_name, '(unknown)') = c.item_id
  GROUP BY c.task_key, b.transaction_id, b.event_date, b.event_time, b.event_timestamp, b.amount, c.first_touched_at
),
firsts AS (
  SELECT DISTINCT ON (task_key) * FROM matched ORDER BY task_key, event_time, transaction_id
),
-- The tasks whose recovery changes: a first order found, or a recorded recovery whose order
-- no longer counts (a re-fire that was a transaction's first copy until the transaction's
-- earlier day was loaded) or no longer holds a cart item. Every order that could recover
-- a task of [:tasks_from, :tasks_to] is in [:purchases_from, :purchases_to], so a task of
-- that range without one has none.
changes AS (
  SELECT t.task_key, t.recovered_on AS was_recovered_on, f.task_key IS NOT NULL AS found, f.event_date,
         f.transaction_id, f.order_amount, coalesce(f.items_amount, 0) AS items_amount,
         coalesce(f.first_touched_at < f.event_time, false) AS after_contact
  FROM tenant_data.tasks t
  LEFT JOIN firsts f ON f.task_key = t.task_key
  WHERE t.tenant_id = :tenant AND t.task_type = 'cart_recovery' AND t.created_date BETWEEN :tasks_from AND :tasks_to
    AND (f.task_key IS NOT NULL OR t.recovered_on IS NOT NULL)
)
-- A withdrawn recovery puts the task back as it was before: `recovered` only ever replaced
-- open, in_progress (a person had touched it) or expired (the expiry step that follows in
-- tasks.compute expires it again); a kept status keeps.
UPDATE tenant_data.tasks t SET
    status = CASE WHEN t.status IN ('done', 'dismissed', 'stale') THEN t.status
                  WHEN c.found THEN 'recovered'
                  WHEN t.status <> 'recovered' THEN t.status
                  WHEN t.first_touched_at IS NOT NULL THEN 'in_progress' ELSE 'open' END,
    status_set_by = CASE WHEN t.status IN ('done', 'dismissed', 'stale') OR (NOT c.found AND t.status <> 'recovered')
                           THEN t.status_set_by
                         WHEN c.found OR t.first_touched_at IS NOT NULL THEN 'ga-intel' END,
    status_set_at = CASE WHEN t.status IN ('done', 'dismissed', 'stale') OR (NOT c.found AND t.status <> 'recovered')
                           THEN t.status_set_at
                         WHEN c.found THEN now() ELSE t.first_touched_at END,
    recovered_revenue = CASE WHEN c.found THEN c.items_amount END, recovered_order_revenue = c.order_amount,
    recovered_on = c.event_date, recovered_transaction_id = c.transaction_id,
    recovered_after_contact = CASE WHEN c.found THEN c.after_contact END,
    updated_at = now()
FROM changes c
WHERE t.tenant_id = :tenant AND t.task_key = c.task_key
  AND (NOT c.found
       OR (t.recovered_on, t.recovered_transaction_id, t.recovered_revenue, t.recovered_after_contact)
          IS DISTINCT FROM (c.event_date, c.transaction_id, c.items_amount, c.after_contact))
-- both days: the one that now shows the recovery and the one that showed it until now
RETURNING c.event_date AS recovered_on, c.was_recovered_on

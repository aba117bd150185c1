"""Actionable tasks (issue 14): horizons, the `stale` status, a ranking score, and cart
recovery that means recovery.

- tasks.horizon_date: the last local day a task is worth working (per type, a tenant
  rule). A task first computed after it is `stale`; an open one expires after it.
- tasks.account_revenue_90d: the account's revenue in the 90 days to the task's day, one
  input of the ranking score.
- Recovery: recovered_revenue is now the value of the cart's items the account bought;
  recovered_order_revenue keeps the whole order, recovered_transaction_id names it, and
  recovered_after_contact says whether a person had worked the task before the purchase
  (first_touched_at: when a person first set in_progress or done).
- tenant_data.task_score(...): the documented ranking score (docs/TASKS.md), one place
  for the dashboard, the email and the API.
- tenant_data.cart_items(context): the items of a cart task with their quantity and value
  (a shared value for items without a price), one place for the roll-ups and the
  dashboard. The cart-item roll-ups are rebuilt with it, and count a cart as recovered
  when its recovery was recorded (a task a person closed as done keeps its status).
- metrics: recovered_after_contact_revenue beside recovered_revenue.
- The `task_expiry_days` rule is gone (replaced by per-type horizons), and so is the
  email's `max_tasks_per_type` (replaced by the rule `daily_list_cap`): removed from stored
  settings.

Revision ID: 0011
Revises: 0010
"""

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

STATUSES = ("open", "in_progress", "done", "dismissed", "recovered", "expired", "stale")

FUNCTIONS = {
    # The ranking score of docs/TASKS.md: priority, order or cart value, the account's
    # 90-day revenue (logarithmic: a tenfold larger account is worth a step, not ten),
    # and recency (a task loses 3 points a day after its day).
    "task_score(priority smallint, value numeric, account_revenue_90d numeric, created_date date, today date)": """
        RETURNS numeric LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
          SELECT round(10 * (4 - priority)
                       + 10 * log(1 + greatest(coalesce(value, 0), 0))
                       + 5 * log(1 + greatest(coalesce(account_revenue_90d, 0), 0))
                       - 3 * greatest(today - created_date, 0), 2)
        $$""",
    # A cart task's items, one row per item key (item_id, else name): quantity and value
    # (the item's own `value` where the cart had one, else quantity × price).
    "cart_items(context jsonb)": """
        RETURNS TABLE (item_id text, item_name text, quantity numeric, value numeric)
        LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
          SELECT coalesce(i->>'item_id', i->>'item_name', '(unknown)'), max(i->>'item_name'),
                 coalesce(sum((i->>'quantity')::numeric), 0),
                 coalesce(sum(coalesce((i->>'value')::numeric, (i->>'quantity')::numeric * (i->>'price')::numeric)), 0)
          FROM jsonb_array_elements(context -> 'items') AS i
          GROUP BY 1
        $$""",
}

_TASK_DELTAS = """
    SELECT tenant_id, created_date, status, task_type, branch_code, lower(assigned_rep_email) AS rep_email,
           assigned_rep_name AS rep_name, context, recovered_on IS NOT NULL AS recovered, {sign} AS n,
           {sign} * coalesce(value, 0) AS value, {sign} * coalesce(recovered_revenue, 0) AS recovered_revenue
    FROM {rows}"""

# Migration 0008's roll-up trigger, reading cart items through tenant_data.cart_items()
# and counting recovered carts by their recorded recovery. Its temp tables have new names:
# a pooled session may still hold 0008's, of the old shape.
_ROLLUPS = """
CREATE OR REPLACE FUNCTION tenant_data.tasks_rollups_apply() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
    IF to_regclass('pg_temp.tasks_rollup_delta_v2') IS NULL THEN  -- per session, emptied at the end
        CREATE TEMP TABLE tasks_rollup_delta_v2 (
            tenant_id text, created_date date, status text, task_type text, branch_code text, rep_email text,
            rep_name text, context jsonb, recovered boolean, n integer, value numeric, recovered_revenue numeric)
            ON COMMIT DELETE ROWS;
        CREATE TEMP TABLE cart_items_delta_v2 (
            tenant_id text, created_date date, item_id text, item_name text, carts integer, quantity numeric,
            value numeric, recovered_carts integer) ON COMMIT DELETE ROWS;
    END IF;
    IF TG_OP = 'INSERT' THEN
        INSERT INTO pg_temp.tasks_rollup_delta_v2 %(insert)s;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO pg_temp.tasks_rollup_delta_v2 %(delete)s;
    ELSE
        INSERT INTO pg_temp.tasks_rollup_delta_v2 %(update_old)s UNION ALL %(update_new)s;
    END IF;

    INSERT INTO tenant_data.tasks_monthly AS m (tenant_id, month, status, task_type, branch_code,
                                                assigned_rep_email, assigned_rep_name, tasks, value)
    SELECT tenant_id, date_trunc('month', created_date::timestamp)::date, status, task_type, branch_code,
           rep_email, rep_name, sum(n), sum(value)
    FROM pg_temp.tasks_rollup_delta_v2
    GROUP BY 1, 2, 3, 4, 5, 6, 7
    HAVING sum(n) <> 0 OR sum(value) <> 0
    ORDER BY 1, 2, 3, 4, 5, 6, 7
    ON CONFLICT (tenant_id, month, status, task_type, branch_code, assigned_rep_email, assigned_rep_name)
    DO UPDATE SET tasks = m.tasks + EXCLUDED.tasks, value = m.value + EXCLUDED.value;

    INSERT INTO tenant_data.cart_tasks_by_day AS c (tenant_id, created_date, status, carts, value, recovered_revenue)
    SELECT tenant_id, created_date, status, sum(n), sum(value), sum(recovered_revenue)
    FROM pg_temp.tasks_rollup_delta_v2
    WHERE task_type = 'cart_recovery'
    GROUP BY 1, 2, 3
    HAVING sum(n) <> 0 OR sum(value) <> 0 OR sum(recovered_revenue) <> 0
    ORDER BY 1, 2, 3
    ON CONFLICT (tenant_id, created_date, status)
    DO UPDATE SET carts = c.carts + EXCLUDED.carts, value = c.value + EXCLUDED.value,
                  recovered_revenue = c.recovered_revenue + EXCLUDED.recovered_revenue;

    -- The items of each cart-recovery task, per item key (a cart counts once per item).
    INSERT INTO pg_temp.cart_items_delta_v2
    SELECT d.tenant_id, d.created_date, x.item_id, x.item_name, d.n, d.n * x.quantity, d.n * x.value,
           CASE WHEN d.recovered THEN d.n ELSE 0 END
    FROM pg_temp.tasks_rollup_delta_v2 d
    CROSS JOIN LATERAL tenant_data.cart_items(d.context) x
    WHERE d.task_type = 'cart_recovery';

    IF FOUND THEN
        INSERT INTO tenant_data.cart_items_daily AS c (tenant_id, created_date, item_id, item_name, carts, quantity,
                                                       value, recovered_carts)
        SELECT tenant_id, created_date, item_id, item_name, sum(carts), sum(quantity), sum(value), sum(recovered_carts)
        FROM pg_temp.cart_items_delta_v2
        GROUP BY 1, 2, 3, 4
        HAVING sum(carts) <> 0 OR sum(quantity) <> 0 OR sum(value) <> 0 OR sum(recovered_carts) <> 0
        ORDER BY 1, 2, 3, 4
        ON CONFLICT (tenant_id, created_date, item_id, item_name)
        DO UPDATE SET carts = c.carts + EXCLUDED.carts, quantity = c.quantity + EXCLUDED.quantity,
                      value = c.value + EXCLUDED.value, recovered_carts = c.recovered_carts + EXCLUDED.recovered_carts;
        INSERT INTO tenant_data.cart_items_monthly AS c (tenant_id, month, item_id, item_name, carts, quantity,
                                                         value, recovered_carts)
        SELECT tenant_id, date_trunc('month', created_date::timestamp)::date, item_id, item_name, sum(carts),
               sum(quantity), sum(value), sum(recovered_carts)
        FROM pg_temp.cart_items_delta_v2
        GROUP BY 1, 2, 3, 4
        HAVING sum(carts) <> 0 OR sum(quantity) <> 0 OR sum(value) <> 0 OR sum(recovered_carts) <> 0
        ORDER BY 1, 2, 3, 4
        ON CONFLICT (tenant_id, month, item_id, item_name)
        DO UPDATE SET carts = c.carts + EXCLUDED.carts, quantity = c.quantity + EXCLUDED.quantity,
                      value = c.value + EXCLUDED.value, recovered_carts = c.recovered_carts + EXCLUDED.recovered_carts;
    END IF;

    -- Groups emptied by this statement; below zero only when the roll-up's rows were
    -- deleted first (a tenant's removal deletes its tables in name order).
    IF TG_OP <> 'INSERT' THEN
        DELETE FROM tenant_data.tasks_monthly m
        WHERE m.tasks <= 0
          AND (m.tenant_id, m.month) IN (SELECT DISTINCT tenant_id, date_trunc('month', created_date::timestamp)::date
                                         FROM pg_temp.tasks_rollup_delta_v2 WHERE n < 0);
        DELETE FROM tenant_data.cart_tasks_by_day c
        WHERE c.carts <= 0
          AND (c.tenant_id, c.created_date) IN (SELECT DISTINCT tenant_id, created_date
                                                FROM pg_temp.tasks_rollup_delta_v2
                                                WHERE n < 0 AND task_type = 'cart_recovery');
        DELETE FROM tenant_data.cart_items_daily c
        WHERE c.carts <= 0
          AND (c.tenant_id, c.created_date) IN (SELECT DISTINCT tenant_id, created_date
                                                FROM pg_temp.cart_items_delta_v2 WHERE carts < 0);
        DELETE FROM tenant_data.cart_items_monthly c
        WHERE c.carts <= 0
          AND (c.tenant_id, c.month) IN (SELECT DISTINCT tenant_id, date_trunc('month', created_date::timestamp)::date
                                         FROM pg_temp.cart_items_delta_v2 WHERE carts < 0);
    END IF;
    DELETE FROM pg_temp.tasks_rollup_delta_v2;
    DELETE FROM pg_temp.cart_items_delta_v2;
    RETURN NULL;
END
$fn$""" % {
    "insert": _TASK_DELTAS.format(sign=1, rows="new_rows"),
    "delete": _TASK_DELTAS.format(sign=-1, rows="old_rows"),
    "update_old": _TASK_DELTAS.format(sign=-1, rows="old_rows"),
    "update_new": _TASK_DELTAS.format(sign=1, rows="new_rows"),
}

_REBUILD_CART_ITEMS = """
    TRUNCATE tenant_data.cart_items_daily, tenant_data.cart_items_monthly;
    CREATE TEMP TABLE cart_items_rebuild ON COMMIT DROP AS
    SELECT t.tenant_id, t.created_date, x.item_id, x.item_name, 1 AS carts, x.quantity, x.value,
           (t.recovered_on IS NOT NULL)::int AS recovered_carts
    FROM tenant_data.tasks t CROSS JOIN LATERAL tenant_data.cart_items(t.context) x
    WHERE t.task_type = 'cart_recovery';
    INSERT INTO tenant_data.cart_items_daily
    SELECT tenant_id, created_date, item_id, item_name, sum(carts), sum(quantity), sum(value), sum(recovered_carts)
    FROM cart_items_rebuild GROUP BY 1, 2, 3, 4;
    INSERT INTO tenant_data.cart_items_monthly
    SELECT tenant_id, date_trunc('month', created_date::timestamp)::date, item_id, item_name, sum(carts),
           sum(quantity), sum(value), sum(recovered_carts)
    FROM cart_items_rebuild GROUP BY 1, 2, 3, 4"""


def _statuses(values) -> str:
    return ", ".join(f"'{s}'" for s in values)


def upgrade() -> None:
    for signature, body in FUNCTIONS.items():
        op.execute(f"CREATE FUNCTION tenant_data.{signature} {body}")
    op.execute("""
        ALTER TABLE tenant_data.tasks
            ADD COLUMN horizon_date date,
            ADD COLUMN account_revenue_90d numeric(14, 2),
            ADD COLUMN recovered_order_revenue numeric(14, 2),
            ADD COLUMN recovered_transaction_id text,
            ADD COLUMN recovered_after_contact boolean,
            ADD COLUMN first_touched_at timestamptz""")
    op.execute("ALTER TABLE tenant_data.tasks DROP CONSTRAINT tasks_status_check")
    op.execute(
        f"ALTER TABLE tenant_data.tasks ADD CONSTRAINT tasks_status_check CHECK (status IN ({_statuses(STATUSES)}))"
    )
    for table in ("daily_metrics", "location_daily_metrics"):
        op.execute(
            f"ALTER TABLE tenant_data.{table} "
            "ADD COLUMN recovered_after_contact_revenue numeric(14, 2) NOT NULL DEFAULT 0"
        )
    # Existing rows, as the owner: FORCE'd row security would filter them all away.
    for table in ("tasks", "cart_items_daily", "cart_items_monthly"):
        op.execute(f"ALTER TABLE tenant_data.{table} NO FORCE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE tenant_data.tasks DISABLE TRIGGER USER")  # the roll-ups are rebuilt below
    op.execute("""
        UPDATE tenant_data.tasks SET
          horizon_date = CASE WHEN task_type = 'cart_recovery' AND context ? 'window_ends'
                              THEN (context->>'window_ends')::timestamptz::date + 3 ELSE created_date + 7 END,
          recovered_order_revenue = recovered_revenue,
          first_touched_at = CASE WHEN status IN ('in_progress', 'done') AND status_set_by <> 'ga-intel'
                                  THEN status_set_at END""")
    op.execute("ALTER TABLE tenant_data.tasks ENABLE TRIGGER USER")
    op.execute("ALTER TABLE tenant_data.tasks ALTER COLUMN horizon_date SET NOT NULL")
    op.execute(_ROLLUPS)
    op.execute(_REBUILD_CART_ITEMS)
    for table in ("tasks", "cart_items_daily", "cart_items_monthly"):
        op.execute(f"ALTER TABLE tenant_data.{table} FORCE ROW LEVEL SECURITY")
    # The work list: a person's open tasks, best first.
    op.execute(
        "CREATE INDEX tasks_work_list ON tenant_data.tasks (tenant_id, lower(assigned_rep_email), status) "
        "WHERE status IN ('open', 'in_progress')"
    )
    op.execute("UPDATE control.tenant_settings SET config = config - 'task_expiry_days' WHERE section = 'rules'")
    op.execute("UPDATE control.tenant_settings SET config = config - 'max_tasks_per_type' WHERE section = 'email'")


def downgrade() -> None:
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location("rollups_0008", Path(__file__).with_name("0008_dashboard_rollups.py"))
    rollups_0008 = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(rollups_0008)
    op.execute(rollups_0008._FUNCTION.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1))
    op.execute("DROP INDEX tenant_data.tasks_work_list")
    for table in ("daily_metrics", "location_daily_metrics"):
        op.execute(f"ALTER TABLE tenant_data.{table} DROP COLUMN recovered_after_contact_revenue")
    op.execute("UPDATE tenant_data.tasks SET status = 'expired' WHERE status = 'stale'")
    op.execute("ALTER TABLE tenant_data.tasks DROP CONSTRAINT tasks_status_check")
    op.execute(
        f"ALTER TABLE tenant_data.tasks ADD CONSTRAINT tasks_status_check "
        f"CHECK (status IN ({_statuses(STATUSES[:-1])}))"
    )
    op.execute(
        "ALTER TABLE tenant_data.tasks DROP COLUMN horizon_date, DROP COLUMN account_revenue_90d, "
        "DROP COLUMN recovered_order_revenue, DROP COLUMN recovered_transaction_id, "
        "DROP COLUMN recovered_after_contact, DROP COLUMN first_touched_at"
    )
    for signature in FUNCTIONS:
        op.execute(f"DROP FUNCTION tenant_data.{signature}")

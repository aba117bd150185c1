"""Roll-up triggers without temp tables or spills on large statements (issue 16, goal 3):
the same roll-ups and the same figures as migrations 0008 and 0011, computed in fewer and
cheaper steps.

Profiled on the dashboard bench's generator (a quarter of search terms, a year of cart
tasks; bench/rollups.py, docs/PERFORMANCE.md), the former functions spent their time on:

- copying every transition row into a session temp table (8 MB of temp buffers, so a
  large statement spilled them to disk), then reading it once per roll-up;
- aggregating with 4 MB of work_mem: the search terms' three grains as one sort of three
  rows per daily row (external merge, text keys compared by the database's collation), the
  cart items as a hash spilled in 37 batches and an external sort;
- numeric sums where int8 ones hold the figures exactly.

Now each function aggregates the transition tables directly, once per grain and
statement: the search terms' weeks, months and quarters as one hash aggregation over
GROUPING SETS, int8 sums; the task deltas are read once (a CTE) for tasks_monthly,
cart_tasks_by_day and the cart items; the cart items are aggregated per day once, and the
month rows are summed from those day groups. Each function runs with 256 MB of work_mem
(hash tables up to 512 MB with the default hash_mem_multiplier of 2): a year of search
terms in one statement makes 1.2M roll-up groups, ~250 MB of hash table, which at 64 MB
spilled and took ~20 % longer (measured twice at the full year); the pipeline's daily
writes (~7k search rows, ~2k tasks) use a few MB of it, and only a statement that large
reaches the limit.
Upserts keep their ON CONFLICT targets (the tables' unique keys, unchanged) and write
their rows in key order, as before: a bulk statement then fills neighbouring index pages
one after another (a sorted insert measured a little faster than an unsorted one, within
the noise of a shared machine).

Measured on the year in one INSERT (docs/PERFORMANCE.md, Issue 16 goal 3), the roll-ups
still cost about as much as the write itself: most of it is now the ON CONFLICT upsert of
the 1.2M groups, which this migration does not change.

A group emptied by a DELETE or UPDATE is removed as before: those of the periods
(tenant × grain × period, or day / month) that the statement's old rows touched.

Revision ID: 0017
Revises: 0016
"""

from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

SEARCH_COUNTS = (
    "searches",
    "searching_users",
    "sessions",
    "no_click_sessions",
    "no_result_searches",
    "cart_sessions",
    "purchase_sessions",
)

# The grains of search_terms_rollup: ISO week (its Monday), month, quarter (first days).
_WEEK = "event_date - (extract(isodow FROM event_date)::int - 1)"
_MONTH = "date_trunc('month', event_date::timestamp)::date"
_QUARTER = "date_trunc('quarter', event_date::timestamp)::date"


def _search_rows(sign: str, rows: str) -> str:
    counts = ", ".join(f"{sign}{c} AS {c}" for c in SEARCH_COUNTS)
    return f"SELECT tenant_id, event_date, search_term, {counts}, {sign}1 AS days FROM {rows}"


def _search_upsert(delta: str) -> str:
    """One statement: the delta's weeks, months and quarters in one hash aggregation, each
    group added to its roll-up row."""
    return f"""
    INSERT INTO tenant_data.search_terms_rollup AS r (tenant_id, grain, period, search_term, {", ".join(SEARCH_COUNTS)},
                                                     days)
    SELECT tenant_id, CASE WHEN GROUPING(w) = 0 THEN 'w' WHEN GROUPING(m) = 0 THEN 'm' ELSE 'q' END,
           coalesce(w, m, q), search_term, {", ".join(f"sum({c})" for c in SEARCH_COUNTS)}, sum(days)
    FROM (SELECT d.*, {_WEEK.replace("event_date", "d.event_date")} AS w, {_MONTH.replace("event_date", "d.event_date")} AS m,
                 {_QUARTER.replace("event_date", "d.event_date")} AS q
          FROM ({delta}) d) d
    GROUP BY tenant_id, search_term, GROUPING SETS ((w), (m), (q))
    HAVING sum(days) <> 0 OR {" OR ".join(f"sum({c}) <> 0" for c in SEARCH_COUNTS)}
    ORDER BY 1, 2, 3, 4
    ON CONFLICT (tenant_id, grain, period, search_term)
    DO UPDATE SET {", ".join(f"{c} = r.{c} + EXCLUDED.{c}" for c in SEARCH_COUNTS)}, days = r.days + EXCLUDED.days"""


_SEARCH_FUNCTION = f"""
CREATE OR REPLACE FUNCTION tenant_data.search_terms_rollup_apply() RETURNS trigger
LANGUAGE plpgsql SET work_mem = '256MB' AS $fn$
BEGIN
    IF TG_OP = 'INSERT' THEN
        {_search_upsert(_search_rows("", "new_rows"))};
        RETURN NULL;
    ELSIF TG_OP = 'DELETE' THEN
        {_search_upsert(_search_rows("-", "old_rows"))};
    ELSE
        {_search_upsert(_search_rows("-", "old_rows") + " UNION ALL " + _search_rows("", "new_rows"))};
    END IF;
    -- Groups emptied by this statement: in the periods of the old rows' days.
    DELETE FROM tenant_data.search_terms_rollup r
    USING (SELECT DISTINCT o.tenant_id, p.grain, p.period
           FROM (SELECT DISTINCT tenant_id, event_date FROM old_rows) o
           CROSS JOIN LATERAL (VALUES ('w', {_WEEK.replace("event_date", "o.event_date")}),
                                      ('m', {_MONTH.replace("event_date", "o.event_date")}),
                                      ('q', {_QUARTER.replace("event_date", "o.event_date")})) AS p (grain, period)) t
    WHERE r.tenant_id = t.tenant_id AND r.grain = t.grain AND r.period = t.period AND r.days <= 0;
    RETURN NULL;
END
$fn$"""


def _task_rows(sign: str, rows: str) -> str:
    return f"""
        SELECT tenant_id, created_date, status, task_type, branch_code, lower(assigned_rep_email) AS rep_email,
               assigned_rep_name AS rep_name, context, recovered_on IS NOT NULL AS recovered, {sign}1 AS n,
               {sign}coalesce(value, 0) AS value, {sign}coalesce(recovered_revenue, 0) AS recovered_revenue
        FROM {rows}"""


def _tasks_upsert(delta: str) -> str:
    """One statement: the delta read once, its groups added to the four roll-ups."""
    measures = "carts = c.carts + EXCLUDED.carts, quantity = c.quantity + EXCLUDED.quantity, "
    measures += "value = c.value + EXCLUDED.value, recovered_carts = c.recovered_carts + EXCLUDED.recovered_carts"
    return f"""
    WITH delta AS MATERIALIZED ({delta}),
    monthly AS (
        INSERT INTO tenant_data.tasks_monthly AS m (tenant_id, month, status, task_type, branch_code,
                                                    assigned_rep_email, assigned_rep_name, tasks, value)
        SELECT tenant_id, date_trunc('month', created_date::timestamp)::date, status, task_type, branch_code,
               rep_email, rep_name, sum(n), sum(value)
        FROM delta
        GROUP BY 1, 2, 3, 4, 5, 6, 7
        HAVING sum(n) <> 0 OR sum(value) <> 0
        ORDER BY 1, 2, 3, 4, 5, 6, 7
        ON CONFLICT (tenant_id, month, status, task_type, branch_code, assigned_rep_email, assigned_rep_name)
        DO UPDATE SET tasks = m.tasks + EXCLUDED.tasks, value = m.value + EXCLUDED.value),
    by_day AS (
        INSERT INTO tenant_data.cart_tasks_by_day AS c (tenant_id, created_date, status, carts, value,
                                                        recovered_revenue)
        SELECT tenant_id, created_date, status, sum(n), sum(value), sum(recovered_revenue)
        FROM delta
        WHERE task_type = 'cart_recovery'
        GROUP BY 1, 2, 3
        HAVING sum(n) <> 0 OR sum(value) <> 0 OR sum(recovered_revenue) <> 0
        ORDER BY 1, 2, 3
        ON CONFLICT (tenant_id, created_date, status)
        DO UPDATE SET carts = c.carts + EXCLUDED.carts, value = c.value + EXCLUDED.value,
                      recovered_revenue = c.recovered_revenue + EXCLUDED.recovered_revenue),
    -- The items of each cart-recovery task, per item key (a cart counts once per item),
    -- summed per day; the month rows are sums of these day groups.
    items AS MATERIALIZED (
        SELECT d.tenant_id, d.created_date, x.item_id, x.item_name, sum(d.n) AS carts,
               sum(d.n * x.quantity) AS quantity, sum(d.n * x.value) AS value,
               sum(CASE WHEN d.recovered THEN d.n ELSE 0 END) AS recovered_carts
        FROM delta d CROSS JOIN LATERAL tenant_data.cart_items(d.context) x
        WHERE d.task_type = 'cart_recovery'
        GROUP BY 1, 2, 3, 4),
    daily AS (
        INSERT INTO tenant_data.cart_items_daily AS c (tenant_id, created_date, item_id, item_name, carts, quantity,
                                                       value, recovered_carts)
        SELECT * FROM items
        WHERE carts <> 0 OR quantity <> 0 OR value <> 0 OR recovered_carts <> 0
        ORDER BY 1, 2, 3, 4
        ON CONFLICT (tenant_id, created_date, item_id, item_name) DO UPDATE SET {measures})
    INSERT INTO tenant_data.cart_items_monthly AS c (tenant_id, month, item_id, item_name, carts, quantity, value,
                                                     recovered_carts)
    SELECT tenant_id, date_trunc('month', created_date::timestamp)::date, item_id, item_name, sum(carts),
           sum(quantity), sum(value), sum(recovered_carts)
    FROM items
    GROUP BY 1, 2, 3, 4
    HAVING sum(carts) <> 0 OR sum(quantity) <> 0 OR sum(value) <> 0 OR sum(recovered_carts) <> 0
    ORDER BY 1, 2, 3, 4
    ON CONFLICT (tenant_id, month, item_id, item_name) DO UPDATE SET {measures}"""


_TASKS_FUNCTION = f"""
CREATE OR REPLACE FUNCTION tenant_data.tasks_rollups_apply() RETURNS trigger
LANGUAGE plpgsql SET work_mem = '256MB' AS $fn$
BEGIN
    IF TG_OP = 'INSERT' THEN
        {_tasks_upsert(_task_rows("", "new_rows"))};
        RETURN NULL;
    ELSIF TG_OP = 'DELETE' THEN
        {_tasks_upsert(_task_rows("-", "old_rows"))};
    ELSE
        {_tasks_upsert(_task_rows("-", "old_rows") + " UNION ALL " + _task_rows("", "new_rows"))};
    END IF;
    -- Groups emptied by this statement, in the months and days of its old rows; below zero
    -- only when the roll-up's rows were deleted first (a tenant's removal deletes its
    -- tables in name order).
    DELETE FROM tenant_data.tasks_monthly m
    USING (SELECT DISTINCT tenant_id, date_trunc('month', created_date::timestamp)::date AS month FROM old_rows) o
    WHERE m.tenant_id = o.tenant_id AND m.month = o.month AND m.tasks <= 0;
    DELETE FROM tenant_data.cart_tasks_by_day c
    USING (SELECT DISTINCT tenant_id, created_date FROM old_rows WHERE task_type = 'cart_recovery') o
    WHERE c.tenant_id = o.tenant_id AND c.created_date = o.created_date AND c.carts <= 0;
    DELETE FROM tenant_data.cart_items_daily c
    USING (SELECT DISTINCT tenant_id, created_date FROM old_rows WHERE task_type = 'cart_recovery') o
    WHERE c.tenant_id = o.tenant_id AND c.created_date = o.created_date AND c.carts <= 0;
    DELETE FROM tenant_data.cart_items_monthly c
    USING (SELECT DISTINCT tenant_id, date_trunc('month', created_date::timestamp)::date AS month
           FROM old_rows WHERE task_type = 'cart_recovery') o
    WHERE c.tenant_id = o.tenant_id AND c.month = o.month AND c.carts <= 0;
    RETURN NULL;
END
$fn$"""


def upgrade() -> None:
    op.execute(_TASKS_FUNCTION)
    op.execute(_SEARCH_FUNCTION)


def downgrade() -> None:
    import importlib.util
    from pathlib import Path

    def load(name: str):
        spec = importlib.util.spec_from_file_location(f"rollups_{name[:4]}", Path(__file__).with_name(name))
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    # The functions as migrations 0011 (tasks) and 0008 (search terms) left them.
    op.execute(load("0011_actionable_tasks.py")._ROLLUPS)
    search = load("0008_dashboard_rollups.py")._SEARCH_FUNCTION
    # CREATE OR REPLACE replaces the whole definition, the work_mem setting included.
    op.execute(search.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1))

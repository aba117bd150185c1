"""Roll-ups for the dashboard's whole-year date ranges (issue 7): of tenant_data.tasks, and
of search_terms_daily.

`tasks_monthly` (the Tasks page's summary), `cart_tasks_by_day` (the Cart abandonment
page's tasks per day) and `cart_items_daily` / `cart_items_monthly` (its top products,
for the whole tenant) are kept by statement-level triggers on
`tenant_data.tasks`: every INSERT, UPDATE (status changes included) and DELETE adds the
new rows' contribution and subtracts the old rows', in the writing transaction, so a
re-run of a day (its tasks upserted or withdrawn) replaces that day's contribution and
a person's status change moves a task between status groups. A group whose count falls
to zero is deleted (or below: when a tenant is removed, its roll-ups may be deleted
before tasks). The pages read whole months from the monthly tables and the partial
months at the range's edges from `tasks` / `cart_items_daily` (see the queries in
streamlit_app/sql/tasks_summary.sql, cart_tasks_daily.sql and cart_top_products.sql).

`search_terms_rollup` holds search_terms_daily summed over branches per ISO week, calendar
month and quarter (`grain` 'w', 'm', 'q'), kept the same way by statement-level triggers on
search_terms_daily (the metrics asset deletes and re-inserts a tenant x day, so a re-run
replaces the day's contribution); `days` counts the daily rows behind a row, which is
deleted when it reaches zero. The Search page (whole tenant) reads a range as whole
quarters, months and weeks from it plus the remaining days from search_terms_daily.

Revision ID: 0008
Revises: 0007
"""

from alembic import op

from ga_intel.db.rls import enable_tenant_rls_sql

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

TABLES = ("tasks_monthly", "cart_tasks_by_day", "cart_items_daily", "cart_items_monthly", "search_terms_rollup")
SEARCH_COUNTS = (
    "searches",
    "searching_users",
    "sessions",
    "no_click_sessions",
    "no_result_searches",
    "cart_sessions",
    "purchase_sessions",
)

_SEARCH_FUNCTION = """
CREATE FUNCTION tenant_data.search_terms_rollup_apply() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
    IF to_regclass('pg_temp.search_terms_delta') IS NULL THEN  -- per session, emptied at the end
        CREATE TEMP TABLE search_terms_delta (
            tenant_id text, event_date date, search_term text, %(typed)s, days integer) ON COMMIT DELETE ROWS;
    END IF;
    IF TG_OP = 'INSERT' THEN
        INSERT INTO pg_temp.search_terms_delta SELECT tenant_id, event_date, search_term, %(plus)s, 1 FROM new_rows;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO pg_temp.search_terms_delta SELECT tenant_id, event_date, search_term, %(minus)s, -1 FROM old_rows;
    ELSE
        INSERT INTO pg_temp.search_terms_delta
        SELECT tenant_id, event_date, search_term, %(minus)s, -1 FROM old_rows
        UNION ALL SELECT tenant_id, event_date, search_term, %(plus)s, 1 FROM new_rows;
    END IF;
    INSERT INTO tenant_data.search_terms_rollup AS r (tenant_id, grain, period, search_term, %(columns)s, days)
    SELECT d.tenant_id, p.grain, p.period, d.search_term, %(sums)s, sum(d.days)
    FROM pg_temp.search_terms_delta d
    CROSS JOIN LATERAL (VALUES
        ('w', d.event_date - (extract(isodow FROM d.event_date)::int - 1)),
        ('m', date_trunc('month', d.event_date::timestamp)::date),
        ('q', date_trunc('quarter', d.event_date::timestamp)::date)) AS p (grain, period)
    GROUP BY 1, 2, 3, 4
    HAVING sum(d.days) <> 0 OR %(changed)s
    ORDER BY 1, 2, 3, 4
    ON CONFLICT (tenant_id, grain, period, search_term)
    DO UPDATE SET %(add)s, days = r.days + EXCLUDED.days;
    IF TG_OP <> 'INSERT' THEN
        DELETE FROM tenant_data.search_terms_rollup r
        WHERE r.days <= 0
          AND (r.tenant_id, r.period) IN (
              SELECT DISTINCT tenant_id, p.period FROM pg_temp.search_terms_delta d
              CROSS JOIN LATERAL (VALUES
                  (d.event_date - (extract(isodow FROM d.event_date)::int - 1)),
                  (date_trunc('month', d.event_date::timestamp)::date),
                  (date_trunc('quarter', d.event_date::timestamp)::date)) AS p (period)
              WHERE d.days < 0);
    END IF;
    DELETE FROM pg_temp.search_terms_delta;
    RETURN NULL;
END
$fn$""" % {
    "typed": ", ".join(f"{c} bigint" for c in SEARCH_COUNTS),
    "plus": ", ".join(SEARCH_COUNTS),
    "minus": ", ".join(f"-{c}" for c in SEARCH_COUNTS),
    "columns": ", ".join(SEARCH_COUNTS),
    "sums": ", ".join(f"sum(d.{c})" for c in SEARCH_COUNTS),
    "changed": " OR ".join(f"sum(d.{c}) <> 0" for c in SEARCH_COUNTS),
    "add": ", ".join(f"{c} = r.{c} + EXCLUDED.{c}" for c in SEARCH_COUNTS),
}

_SEARCH_BACKFILL = """
    INSERT INTO tenant_data.search_terms_rollup (tenant_id, grain, period, search_term, %(columns)s, days)
    SELECT d.tenant_id, p.grain, p.period, d.search_term, %(sums)s, count(*)
    FROM tenant_data.search_terms_daily d
    CROSS JOIN LATERAL (VALUES
        ('w', d.event_date - (extract(isodow FROM d.event_date)::int - 1)),
        ('m', date_trunc('month', d.event_date::timestamp)::date),
        ('q', date_trunc('quarter', d.event_date::timestamp)::date)) AS p (grain, period)
    GROUP BY 1, 2, 3, 4""" % {
    "columns": ", ".join(SEARCH_COUNTS),
    "sums": ", ".join(f"sum(d.{c})" for c in SEARCH_COUNTS),
}

# One row per task (+1 from the new transition table, -1 from the old one): its group and
# figures; and per cart-recovery task and item key: the item's figures in that cart.
_TASK_DELTAS = """
    SELECT tenant_id, created_date, status, task_type, branch_code, lower(assigned_rep_email) AS rep_email,
           assigned_rep_name AS rep_name, context, {sign} AS n, {sign} * coalesce(value, 0) AS value,
           {sign} * coalesce(recovered_revenue, 0) AS recovered_revenue
    FROM {rows}"""

_FUNCTION = """
CREATE FUNCTION tenant_data.tasks_rollups_apply() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
    IF to_regclass('pg_temp.tasks_rollup_delta') IS NULL THEN  -- per session, emptied at the end
        CREATE TEMP TABLE tasks_rollup_delta (
            tenant_id text, created_date date, status text, task_type text, branch_code text, rep_email text,
            rep_name text, context jsonb, n integer, value numeric, recovered_revenue numeric)
            ON COMMIT DELETE ROWS;
        CREATE TEMP TABLE cart_items_delta (
            tenant_id text, created_date date, item_id text, item_name text, carts integer, quantity numeric,
            value numeric, recovered_carts integer) ON COMMIT DELETE ROWS;
    END IF;
    IF TG_OP = 'INSERT' THEN
        INSERT INTO pg_temp.tasks_rollup_delta %(insert)s;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO pg_temp.tasks_rollup_delta %(delete)s;
    ELSE
        INSERT INTO pg_temp.tasks_rollup_delta %(update_old)s UNION ALL %(update_new)s;
    END IF;

    INSERT INTO tenant_data.tasks_monthly AS m (tenant_id, month, status, task_type, branch_code,
                                                assigned_rep_email, assigned_rep_name, tasks, value)
    SELECT tenant_id, date_trunc('month', created_date::timestamp)::date, status, task_type, branch_code,
           rep_email, rep_name, sum(n), sum(value)
    FROM pg_temp.tasks_rollup_delta
    GROUP BY 1, 2, 3, 4, 5, 6, 7
    HAVING sum(n) <> 0 OR sum(value) <> 0
    ORDER BY 1, 2, 3, 4, 5, 6, 7
    ON CONFLICT (tenant_id, month, status, task_type, branch_code, assigned_rep_email, assigned_rep_name)
    DO UPDATE SET tasks = m.tasks + EXCLUDED.tasks, value = m.value + EXCLUDED.value;

    INSERT INTO tenant_data.cart_tasks_by_day AS c (tenant_id, created_date, status, carts, value, recovered_revenue)
    SELECT tenant_id, created_date, status, sum(n), sum(value), sum(recovered_revenue)
    FROM pg_temp.tasks_rollup_delta
    WHERE task_type = 'cart_recovery'
    GROUP BY 1, 2, 3
    HAVING sum(n) <> 0 OR sum(value) <> 0 OR sum(recovered_revenue) <> 0
    ORDER BY 1, 2, 3
    ON CONFLICT (tenant_id, created_date, status)
    DO UPDATE SET carts = c.carts + EXCLUDED.carts, value = c.value + EXCLUDED.value,
                  recovered_revenue = c.recovered_revenue + EXCLUDED.recovered_revenue;

    -- The items of each cart-recovery task, per item key (a cart counts once per item).
    INSERT INTO pg_temp.cart_items_delta
    SELECT d.tenant_id, d.created_date, x.item_id, x.item_name, d.n, d.n * x.quantity, d.n * x.value,
           CASE WHEN d.status = 'recovered' THEN d.n ELSE 0 END
    FROM pg_temp.tasks_rollup_delta d
    CROSS JOIN LATERAL (
        SELECT coalesce(i->>'item_id', i->>'item_name', '(unknown)') AS item_id, max(i->>'item_name') AS item_name,
               coalesce(sum((i->>'quantity')::numeric), 0) AS quantity,
               coalesce(sum((i->>'quantity')::numeric * (i->>'price')::numeric), 0) AS value
        FROM jsonb_array_elements(d.context -> 'items') AS i
        GROUP BY 1) x
    WHERE d.task_type = 'cart_recovery';

    IF FOUND THEN
        INSERT INTO tenant_data.cart_items_daily AS c (tenant_id, created_date, item_id, item_name, carts, quantity,
                                                       value, recovered_carts)
        SELECT tenant_id, created_date, item_id, item_name, sum(carts), sum(quantity), sum(value), sum(recovered_carts)
        FROM pg_temp.cart_items_delta
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
        FROM pg_temp.cart_items_delta
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
                                         FROM pg_temp.tasks_rollup_delta WHERE n < 0);
        DELETE FROM tenant_data.cart_tasks_by_day c
        WHERE c.carts <= 0
          AND (c.tenant_id, c.created_date) IN (SELECT DISTINCT tenant_id, created_date FROM pg_temp.tasks_rollup_delta
                                                WHERE n < 0 AND task_type = 'cart_recovery');
        DELETE FROM tenant_data.cart_items_daily c
        WHERE c.carts <= 0
          AND (c.tenant_id, c.created_date) IN (SELECT DISTINCT tenant_id, created_date FROM pg_temp.cart_items_delta
                                                WHERE carts < 0);
        DELETE FROM tenant_data.cart_items_monthly c
        WHERE c.carts <= 0
          AND (c.tenant_id, c.month) IN (SELECT DISTINCT tenant_id, date_trunc('month', created_date::timestamp)::date
                                         FROM pg_temp.cart_items_delta WHERE carts < 0);
    END IF;
    DELETE FROM pg_temp.tasks_rollup_delta;
    DELETE FROM pg_temp.cart_items_delta;
    RETURN NULL;
END
$fn$""" % {
    "insert": _TASK_DELTAS.format(sign=1, rows="new_rows"),
    "delete": _TASK_DELTAS.format(sign=-1, rows="old_rows"),
    "update_old": _TASK_DELTAS.format(sign=-1, rows="old_rows"),
    "update_new": _TASK_DELTAS.format(sign=1, rows="new_rows"),
}

_BACKFILL = """
    INSERT INTO tenant_data.tasks_monthly (tenant_id, month, status, task_type, branch_code, assigned_rep_email,
                                           assigned_rep_name, tasks, value)
    SELECT tenant_id, date_trunc('month', created_date::timestamp)::date, status, task_type, branch_code,
           lower(assigned_rep_email), assigned_rep_name, count(*), coalesce(sum(value), 0)
    FROM tenant_data.tasks GROUP BY 1, 2, 3, 4, 5, 6, 7;
    INSERT INTO tenant_data.cart_tasks_by_day (tenant_id, created_date, status, carts, value, recovered_revenue)
    SELECT tenant_id, created_date, status, count(*), coalesce(sum(value), 0), coalesce(sum(recovered_revenue), 0)
    FROM tenant_data.tasks WHERE task_type = 'cart_recovery' GROUP BY 1, 2, 3;
    CREATE TEMP TABLE cart_items_backfill ON COMMIT DROP AS
    SELECT t.tenant_id, t.created_date, x.item_id, x.item_name, 1 AS carts, x.quantity, x.value,
           CASE WHEN t.status = 'recovered' THEN 1 ELSE 0 END AS recovered_carts
    FROM tenant_data.tasks t
    CROSS JOIN LATERAL (
        SELECT coalesce(i->>'item_id', i->>'item_name', '(unknown)') AS item_id, max(i->>'item_name') AS item_name,
               coalesce(sum((i->>'quantity')::numeric), 0) AS quantity,
               coalesce(sum((i->>'quantity')::numeric * (i->>'price')::numeric), 0) AS value
        FROM jsonb_array_elements(t.context -> 'items') AS i
        GROUP BY 1) x
    WHERE t.task_type = 'cart_recovery';
    INSERT INTO tenant_data.cart_items_daily
    SELECT tenant_id, created_date, item_id, item_name, sum(carts), sum(quantity), sum(value), sum(recovered_carts)
    FROM cart_items_backfill GROUP BY 1, 2, 3, 4;
    INSERT INTO tenant_data.cart_items_monthly
    SELECT tenant_id, date_trunc('month', created_date::timestamp)::date, item_id, item_name, sum(carts),
           sum(quantity), sum(value), sum(recovered_carts)
    FROM cart_items_backfill GROUP BY 1, 2, 3, 4"""


def upgrade() -> None:
    op.execute("""
        CREATE TABLE tenant_data.tasks_monthly (
            tenant_id          text NOT NULL,
            month              date NOT NULL,   -- first day of the created_date's month
            status             text NOT NULL,
            task_type          text NOT NULL,
            branch_code        text NOT NULL,
            assigned_rep_email text,            -- lower-cased
            assigned_rep_name  text,
            tasks              bigint NOT NULL,
            value              numeric NOT NULL,
            UNIQUE NULLS NOT DISTINCT (tenant_id, month, status, task_type, branch_code, assigned_rep_email,
                                       assigned_rep_name)
        )""")
    op.execute("""
        CREATE TABLE tenant_data.cart_tasks_by_day (
            tenant_id         text NOT NULL,
            created_date      date NOT NULL,
            status            text NOT NULL,
            carts             bigint NOT NULL,   -- cart-recovery tasks
            value             numeric NOT NULL,
            recovered_revenue numeric NOT NULL,
            PRIMARY KEY (tenant_id, created_date, status)
        )""")
    for grain, column in (("daily", "created_date"), ("monthly", "month")):
        op.execute(f"""
            CREATE TABLE tenant_data.cart_items_{grain} (
                tenant_id       text NOT NULL,
                {column:<15} date NOT NULL,
                item_id         text NOT NULL,   -- item_id, else item_name, else '(unknown)'
                item_name       text,
                carts           bigint NOT NULL,  -- cart-recovery tasks with the item
                quantity        numeric NOT NULL,
                value           numeric NOT NULL, -- quantity × price
                recovered_carts bigint NOT NULL,  -- of those, tasks with status 'recovered'
                UNIQUE NULLS NOT DISTINCT (tenant_id, {column}, item_id, item_name)
            )""")
    op.execute(f"""
        CREATE TABLE tenant_data.search_terms_rollup (
            tenant_id   text NOT NULL,
            grain       text NOT NULL CHECK (grain IN ('w', 'm', 'q')),  -- ISO week, month, quarter
            period      date NOT NULL,    -- its first day (a Monday for a week)
            search_term text NOT NULL,
            {", ".join(f"{c} integer NOT NULL" for c in SEARCH_COUNTS)},
            days        integer NOT NULL, -- search_terms_daily rows (days x branches) summed here
            -- Covering: the page reads a period's rows by index-only scan, in key order,
            -- wherever upserts have put the rows in the heap.
            PRIMARY KEY (tenant_id, grain, period, search_term) INCLUDE ({", ".join(SEARCH_COUNTS)})
        )""")
    for table in TABLES:
        for stmt in enable_tenant_rls_sql(table):
            op.execute(stmt)
    op.execute(_FUNCTION)
    op.execute(_SEARCH_FUNCTION)
    for event, referencing in (
        ("INSERT", "NEW TABLE AS new_rows"),
        ("DELETE", "OLD TABLE AS old_rows"),
        ("UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
    ):
        op.execute(f"""
            CREATE TRIGGER tasks_rollups_{event.lower()} AFTER {event} ON tenant_data.tasks
            REFERENCING {referencing} FOR EACH STATEMENT EXECUTE FUNCTION tenant_data.tasks_rollups_apply()""")
        op.execute(f"""
            CREATE TRIGGER search_terms_rollup_{event.lower()} AFTER {event} ON tenant_data.search_terms_daily
            REFERENCING {referencing} FOR EACH STATEMENT EXECUTE FUNCTION tenant_data.search_terms_rollup_apply()""")
    # Existing tasks. Migrations run as the tables' owner, whom FORCE'd row security would
    # filter to no tenant: lifted for the backfill only, inside this migration's transaction.
    for table in ("tasks", "search_terms_daily", *TABLES):
        op.execute(f"ALTER TABLE tenant_data.{table} NO FORCE ROW LEVEL SECURITY")
    op.execute(_BACKFILL)
    op.execute(_SEARCH_BACKFILL)
    for table in ("tasks", "search_terms_daily", *TABLES):
        op.execute(f"ALTER TABLE tenant_data.{table} FORCE ROW LEVEL SECURITY")


def downgrade() -> None:
    for event in ("insert", "delete", "update"):
        op.execute(f"DROP TRIGGER tasks_rollups_{event} ON tenant_data.tasks")
        op.execute(f"DROP TRIGGER search_terms_rollup_{event} ON tenant_data.search_terms_daily")
    op.execute("DROP FUNCTION tenant_data.tasks_rollups_apply()")
    op.execute("DROP FUNCTION tenant_data.search_terms_rollup_apply()")
    for table in reversed(TABLES):
        op.execute(f"DROP TABLE tenant_data.{table}")

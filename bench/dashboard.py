"""Dashboard query benchmark: every page's queries, as the pages run them, for one tenant
with a year of history at ~1M GA4 events a day, p95 per page against a same-run baseline.

The history is generated server-side (generate_series) straight into the tables the pages
read; no raw GA4 event is generated. Per `events_per_day` E (default 1,000,000) and day:

| table | rows per day (E = 1M) | days |
|---|---|---|
| location_daily_metrics | 50 branches + unattributed = 51 | `days` (365) |
| daily_metrics | 1 (the branch rows summed) | `days` |
| search_terms_daily | E × 0.006 = 6,000 (term × branch; 20,000-term vocabulary, skewed) | `days` |
| tasks | E × 0.00185 = 1,850 (700 purchase, 400 cart, 600 search, 150 repeat) | `days` |
| data_availability | 1 | `days` |
| sessions | E / 20 = 50,000 (30% by known customers) | `raw_days` (30) |
| searches | E × 0.03 = 30,000 | `raw_days` |
| cart_adds | E / 100 = 10,000 | `raw_days` |
| purchases | E / 1,000 = 1,000 | `raw_days` |

plus 50 locations, 20,000 customers in 4,000 companies, 100 reps (2 per branch). The
roll-ups of migration 0008 (`ROLLUPS`) fill themselves through their triggers as the
tasks and search terms are inserted.

Raw tables are read only by the Tasks page's customer-activity lookups (index range scans
on one customer, LIMIT 20); `raw_days` keeps generation short, and `--raw-days 365` runs
them at a full year.

Pages are the loaders of `streamlit_app/lib/pagedata.py` (exactly what each page runs),
uncached, each query in its own tenant-scoped transaction as on a page. A "page" time is
all of its queries in sequence; every page is measured for the last 30 days and for the
whole year (365 days) picked as the dates. Baselines in the same run: a `SELECT 1` round trip through
`tenant_scope` (the floor of any query), and the same pages without migration 0006's
indexes (dropped inside a transaction that is rolled back).
"""

from __future__ import annotations

import datetime as dt
import statistics
import time
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from bench.common import Measurement, compare

TENANT = "bench-dashboard"
BRANCHES = 50
CUSTOMERS = 20_000
COMPANIES = 4_000
TERMS = 20_000
MANAGER_BRANCH = "B001"
# Kept by triggers from tasks and search_terms_daily (migration 0008).
ROLLUPS = ("tasks_monthly", "cart_tasks_by_day", "cart_items_daily", "cart_items_monthly", "search_terms_rollup")
REP = "rep-b001-1@bench.example"


# Tasks a day per GA4 event, by type: 700, 400, 600 and 150 a day at 1M events.
TASKS_PER_EVENT = {
    "purchase_followup": 0.0007,
    "cart_recovery": 0.0004,
    "search_followup": 0.0006,
    "repeat_visitor": 0.00015,
}


def search_terms_statement(e: int) -> str:
    """INSERT of the history's search_terms_daily rows (parameters :tenant, :start, :end),
    a day at a time as the pipeline writes them. bench/rollups.py times it too."""
    return f"""
        INSERT INTO tenant_data.search_terms_daily (tenant_id, event_date, branch_code, search_term, searches,
            searching_users, sessions, no_click_sessions, no_result_searches, cart_sessions, purchase_sessions)
        SELECT :tenant, d, code, term, sum(n), sum(n), sum(n), coalesce(sum(n) FILTER (WHERE r < 0.3), 0),
               coalesce(sum(n) FILTER (WHERE r > 0.93), 0), coalesce(sum(n) FILTER (WHERE r BETWEEN 0.3 AND 0.45), 0),
               coalesce(sum(n) FILTER (WHERE r BETWEEN 0.45 AND 0.5), 0)
        FROM (SELECT d, CASE WHEN random() < 0.4 THEN 'unattributed' ELSE {_branch("(random() * 1000)::int")} END AS code,
                     'term ' || floor({TERMS} * power(random(), 2.5))::int AS term, 1 + (random() * 3)::int AS n,
                     random() AS r
              FROM generate_series(CAST(:start AS date), CAST(:end AS date), interval '1 day') AS d,
                   generate_series(1, {round(e * 0.0075)}) i) g
        GROUP BY d, code, term
        ORDER BY d  -- as the pipeline writes it: one day at a time"""


def tasks_statement(task_type: str, n: int) -> str:
    """INSERT of `n` tasks of `task_type` a day over :start..:end (statuses of a year's
    life: closed before the last 30 days); bench/rollups.py times the cart tasks."""
    items = (
        (
            "jsonb_build_object('items', (SELECT jsonb_agg(jsonb_build_object('item_id', 'SKU-' || "
            "floor(5000 * power(random(), 2))::int, 'item_name', 'Item', 'quantity', 1 + (random() * 4)::int, "
            "'price', round((5 + random() * 200)::numeric, 2))) FROM generate_series(1, 1 + (j % 4)) k "
            "WHERE k > 0 AND j >= 0))"
        )
        if task_type == "cart_recovery"
        else "'{}'::jsonb"
    )
    return f"""
        INSERT INTO tenant_data.tasks (tenant_id, task_key, task_type, account_key, customer_id, company_id,
            branch_code, assigned_rep_email, assigned_rep_name, source_date, created_date, due_date, horizon_date,
            priority, status, title, value, context, recovered_revenue, recovered_on)
        SELECT :tenant, '{task_type}:' || d::date || ':' || j, '{task_type}', 'user:U' || lpad(c::text, 6, '0'),
               'U' || lpad(c::text, 6, '0'), 'CO' || (c % {COMPANIES}), {_branch("c")},
               'rep-' || lower({_branch("c")}) || '-' || (c % 2 + 1) || '@bench.example', 'Rep', d, d, d + 2, d + 7,
               1 + (j % 3),
               CASE WHEN d < CAST(:end AS date) - 30
                    THEN (ARRAY['done', 'expired', 'dismissed', 'done', 'expired',
                                {"'recovered'" if task_type == "cart_recovery" else "'done'"}])[1 + j % 6]
                    ELSE (ARRAY['open', 'open', 'open', 'in_progress', 'done'])[1 + j % 5] END,
               'Task ' || j || ' for customer ' || c, round((20 + random() * 900)::numeric, 2), {items},
               CASE WHEN j % 6 = 5 AND d < CAST(:end AS date) - 30 THEN 100 END,
               CASE WHEN j % 6 = 5 AND d < CAST(:end AS date) - 30 THEN d + 3 END
        FROM generate_series(CAST(:start AS date), CAST(:end AS date), interval '1 day') AS d0,
             LATERAL (SELECT d0::date AS d) dd,
             generate_series(1, {n}) j,
             LATERAL (SELECT 1 + floor(random() * {CUSTOMERS})::int + j * 0 AS c) cc"""


def _branch(expr: str) -> str:
    """SQL: branch code of customer number `expr` (1-based)."""
    return f"('B' || lpad(((({expr}) % {BRANCHES}) + 1)::text, 3, '0'))"


def _generate(conn, end: dt.date, days: int, raw_days: int, e: int, echo: Callable[[str], None]) -> dict[str, int]:
    start = end - dt.timedelta(days=days - 1)
    raw_start = end - dt.timedelta(days=raw_days - 1)
    p = {"tenant": TENANT, "start": start, "end": end, "raw_start": raw_start}
    conn.execute(sa.text("SELECT setseed(0.42)"))

    def step(name: str, statement: str, **extra: Any) -> None:
        t0 = time.perf_counter()
        n = conn.execute(sa.text(statement), {**p, **extra}).rowcount
        echo(f"  generated {name}: {n:,} rows in {time.perf_counter() - t0:.1f} s")

    step(
        "locations",
        f"""
        INSERT INTO tenant_data.locations (tenant_id, warehouse_code, warehouse_id, warehouse_name, city, state, source_row)
        SELECT :tenant, {_branch("i - 1")}, i::text, 'Branch ' || i, 'City ' || i, 'ST', i + 1
        FROM generate_series(1, {BRANCHES}) i""",
    )
    step(
        "users",
        f"""
        INSERT INTO tenant_data.users (tenant_id, user_id, first_name, last_name, email, company_id, company_name,
                                       branch_code, rep_email, source_row)
        SELECT :tenant, 'U' || lpad(i::text, 6, '0'), 'First' || i, 'Last' || i, 'u' || i || '@customer.example',
               'CO' || (i % {COMPANIES}), 'Company ' || (i % {COMPANIES}), {_branch("i")},
               'rep-' || lower({_branch("i")}) || '-' || (i % 2 + 1) || '@bench.example', i + 1
        FROM generate_series(1, {CUSTOMERS}) i""",
    )
    sessions = e // 20
    step(
        "location_daily_metrics",
        f"""
        INSERT INTO tenant_data.location_daily_metrics (tenant_id, event_date, branch_code, revenue, transactions, aov,
            purchasers, sessions, active_users, converting_sessions, session_conversion_rate, carts_created,
            carts_abandoned, abandonment_rate, recovered_revenue, searches, no_click_searches, no_click_rate,
            no_result_searches, repeat_visitors, bounced_sessions, bounce_rate)
        SELECT :tenant, d, code, tx * 310.0, tx, 310.0, round(tx * 0.9), s, round(s * 0.8), round(tx * 0.95),
               tx * 0.95 / s, carts, round(carts * 0.7), 0.7, tx * 20.0, round(s * 0.6), round(s * 0.2), 0.33,
               round(s * 0.05), round(s * 0.02), round(s * 0.4), 0.4
        FROM (SELECT d, code, s, greatest(0, round(s * 0.02 * (0.5 + random())))::int AS tx,
                     round(s * 0.08)::int AS carts
              FROM (SELECT d, code, greatest(1, round({sessions / (BRANCHES + 1)} * (0.5 + random())))::int AS s
                    FROM generate_series(CAST(:start AS date), CAST(:end AS date), interval '1 day') AS d,
                         (SELECT {_branch("i - 1")} AS code FROM generate_series(1, {BRANCHES}) i
                          UNION ALL SELECT 'unattributed') b) s0) f""",
    )
    step(
        "daily_metrics",
        """
        INSERT INTO tenant_data.daily_metrics (tenant_id, event_date, revenue, transactions, aov, purchasers, sessions,
            active_users, converting_sessions, session_conversion_rate, carts_created, carts_abandoned,
            abandonment_rate, recovered_revenue, searches, no_click_searches, no_click_rate, no_result_searches,
            repeat_visitors, bounced_sessions, bounce_rate)
        SELECT :tenant, event_date, sum(revenue), sum(transactions), sum(revenue) / nullif(sum(transactions), 0),
               sum(purchasers), sum(sessions), sum(active_users), sum(converting_sessions),
               sum(converting_sessions)::float8 / sum(sessions), sum(carts_created), sum(carts_abandoned),
               sum(carts_abandoned)::float8 / nullif(sum(carts_created), 0), sum(recovered_revenue), sum(searches),
               sum(no_click_searches), sum(no_click_searches)::float8 / nullif(sum(searches), 0),
               sum(no_result_searches), sum(repeat_visitors), sum(bounced_sessions),
               sum(bounced_sessions)::float8 / sum(sessions)
        FROM tenant_data.location_daily_metrics GROUP BY event_date""",
    )
    step("search_terms_daily", search_terms_statement(e))
    for task_type, n in TASKS_PER_EVENT.items():
        step(f"tasks ({task_type})", tasks_statement(task_type, round(e * n)))
    known = "CASE WHEN random() < 0.3 THEN 'U' || lpad((1 + floor(random() * %d)::int)::text, 6, '0') END" % CUSTOMERS
    raw = "FROM generate_series(CAST(:raw_start AS date), CAST(:end AS date), interval '1 day') AS d, generate_series(1, %d) i"
    step(
        "sessions",
        f"""
        INSERT INTO tenant_data.sessions (tenant_id, event_date, customer_id, company_id, user_pseudo_id, ga_session_id,
            session_start, session_end, page_views, engaged, landing_page, had_add_to_cart, had_purchase, event_count)
        SELECT :tenant, d, cu, CASE WHEN cu IS NOT NULL THEN 'CO' || (substr(cu, 2)::int % {COMPANIES}) END,
               'dev' || i, i, d + make_interval(secs => i % 86000), d + make_interval(secs => i % 86000 + 300),
               1 + i % 9, i % 3 > 0, 'https://shop.example/p/' || (i % 900), i % 12 = 0, i % 50 = 0, 20
        FROM (SELECT d, i, {known} AS cu {raw % sessions}) g""",
    )
    step(
        "searches",
        f"""
        INSERT INTO tenant_data.searches (tenant_id, event_date, customer_id, company_id, user_pseudo_id, ga_session_id,
            event_time, event_timestamp, event_name, search_term, no_results, then_view_item, then_add_to_cart,
            then_purchase)
        SELECT :tenant, d, cu, CASE WHEN cu IS NOT NULL THEN 'CO' || (substr(cu, 2)::int % {COMPANIES}) END, 'dev' || i, i,
               d + make_interval(secs => i % 86000), i, 'view_search_results', 'term ' || (i % 5000), i % 15 = 0,
               i % 3 = 0, i % 7 = 0, i % 40 = 0
        FROM (SELECT d, i, {known} AS cu {raw % round(e * 0.03)}) g""",
    )
    step(
        "cart_adds",
        f"""
        INSERT INTO tenant_data.cart_adds (tenant_id, event_date, customer_id, company_id, user_pseudo_id, ga_session_id,
            event_time, event_timestamp, line_no, item_id, item_name, quantity, price, value)
        SELECT :tenant, d, cu, CASE WHEN cu IS NOT NULL THEN 'CO' || (substr(cu, 2)::int % {COMPANIES}) END, 'dev' || i, i,
               d + make_interval(secs => i % 86000), i, i % 3, 'SKU-' || (i % 5000), 'Item', 1 + i % 4, 25, 25 * (1 + i % 4)
        FROM (SELECT d, i, {known} AS cu {raw % (e // 100)}) g""",
    )
    step(
        "purchases",
        f"""
        INSERT INTO tenant_data.purchases (tenant_id, event_date, customer_id, company_id, user_pseudo_id, ga_session_id,
            transaction_id, id_status, event_time, event_timestamp, revenue, currency, item_count, duplicate_events)
        SELECT :tenant, d, cu, CASE WHEN cu IS NOT NULL THEN 'CO' || (substr(cu, 2)::int % {COMPANIES}) END, 'dev' || i, i,
               'T' || d::date || '-' || i, 'ok', d + make_interval(secs => i % 86000), i, 310, 'USD', 3, 1
        FROM (SELECT d, i, {known} AS cu {raw % (e // 1000)}) g""",
    )
    step(
        "data_availability",
        """
        INSERT INTO tenant_data.data_availability (tenant_id, event_date, source_table, status, bq_row_count, run_id)
        SELECT :tenant, d, 'events_' || to_char(d, 'YYYYMMDD'), 'complete', 1000000, 'run-' || d::date
        FROM generate_series(CAST(:start AS date), CAST(:end AS date), interval '1 day') AS d""",
    )
    counts = {}
    for table in (
        "location_daily_metrics",
        "daily_metrics",
        "search_terms_daily",
        "tasks",
        "sessions",
        "searches",
        "cart_adds",
        "purchases",
        "users",
    ):
        counts[table] = conn.execute(sa.text(f"SELECT count(*) FROM tenant_data.{table}")).scalar()
    return counts


def _migration_0006():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "migrations" / "versions" / "0006_dashboard_indexes.py"
    spec = importlib.util.spec_from_file_location("migration_0006", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _reset(echo: Callable[[str], None]) -> None:
    from ga_intel.db import control, tenant_scope
    from ga_intel.tenancy.store import tenant_tables

    with tenant_scope(TENANT) as conn:
        for table in tenant_tables(conn):
            conn.execute(sa.text(f'DELETE FROM tenant_data."{table}" WHERE tenant_id = :tenant'), {"tenant": TENANT})
    with control() as conn:
        conn.execute(sa.text("DELETE FROM control.tenants WHERE tenant_id = :tenant"), {"tenant": TENANT})


def _pages(end: dt.date, span_days: int) -> dict[str, Callable[[], Any]]:
    """Page name -> a function running that page's queries as the page would."""
    from streamlit_app.lib import context, pagedata

    start = end - dt.timedelta(days=span_days - 1)

    def ctx(email: str, role: str, branch: str | None = None, branch_filter: str | None = None) -> context.Context:
        return context.Context(
            email=email,
            tenant_id=TENANT,
            role=role,
            branch=branch,
            tenants=(TENANT,),
            start=start,
            end=end,
            branch_filter=branch_filter,
        )

    admin = ctx("admin@bench.example", "admin")
    manager = ctx("manager@bench.example", "manager", MANAGER_BRANCH)
    rep = ctx(REP, "rep", MANAGER_BRANCH)
    filtered = ctx("admin@bench.example", "admin", branch_filter="B007")

    def tasks_page(c: context.Context):
        def page():
            pagedata.task_summary(c)
            listed = pagedata.task_list(c, pagedata.TaskFilters())
            if not listed.empty:
                pagedata.activity(c, listed.iloc[0].to_dict())

        return page

    def frame_page(loader, c):
        def page():
            from streamlit_app.lib import branch_filter

            branch_filter.options(c.tenant_id, c.start, c.end)  # app.py validates a held filter on every run
            loader(c)

        return page

    def data_page(c: context.Context) -> None:
        from streamlit_app.lib import data

        pagedata.data_availability(c)
        # The rest of views/data.py's queries, with the parameters it passes them.
        data.fetch(c.tenant_id, "data_failures", start=c.start, end=c.end)
        data.fetch(c.tenant_id, "data_last_runs")
        data.fetch(c.tenant_id, "data_master_files")

    return {
        "overview": frame_page(pagedata.overview, admin),
        "overview_branch": frame_page(pagedata.overview, filtered),
        "carts_admin": frame_page(pagedata.carts, admin),
        "carts_rep": frame_page(pagedata.carts, rep),
        "carts_branch": frame_page(pagedata.carts, filtered),
        "search": frame_page(pagedata.search, admin),
        "search_branch": frame_page(pagedata.search, filtered),
        "locations": frame_page(pagedata.locations, admin),
        "tasks_admin": tasks_page(admin),
        "tasks_manager": tasks_page(manager),
        "tasks_rep": tasks_page(rep),
        "data": frame_page(data_page, admin),
    }


def _p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20, method="inclusive")[18] if len(samples) > 1 else samples[0]


def _measure(pages: dict[str, Callable[[], Any]], repeats: int) -> dict[str, float]:
    for page in pages.values():  # warm-up: plans, caches, the Python side's imports
        page()
    samples: dict[str, list[float]] = {name: [] for name in pages}
    for _ in range(repeats):  # interleaved, so a noisy moment hits every page alike
        for name, page in pages.items():
            t0 = time.perf_counter()
            page()
            samples[name].append((time.perf_counter() - t0) * 1000)
    return {name: _p95(s) for name, s in samples.items()}


def run(
    echo: Callable[[str], None],
    days: int = 365,
    raw_days: int = 30,
    events_per_day: int = 1_000_000,
    repeats: int = 40,
    keep: bool = False,
) -> list[Measurement]:
    from ga_intel.db import control, tenant_scope
    from ga_intel.db.engine import enter_tenant
    from ga_intel.db.engine import owner_engine as engine  # VACUUM, DDL: the owner's
    from streamlit_app.lib import data

    migration = _migration_0006()
    end = dt.date.today() - dt.timedelta(days=1)
    _reset(echo)
    with control() as conn:
        conn.execute(
            sa.text("INSERT INTO control.tenants (tenant_id, name, timezone) VALUES (:tenant, 'Bench', 'UTC')"),
            {"tenant": TENANT},
        )
    echo(
        f"generating {days} days of aggregates and tasks, {raw_days} days of raw rows, "
        f"at {events_per_day:,} events/day …"
    )
    t0 = time.perf_counter()
    with tenant_scope(TENANT) as conn:
        counts = _generate(conn, end, days, raw_days, events_per_day, echo)
    # What autovacuum does after bulk inserts: statistics, and the visibility map that lets
    # the roll-ups (migration 0008, filled by triggers during the generation) be read by
    # index-only scans.
    with engine().connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for table in (
            "location_daily_metrics",
            "daily_metrics",
            "search_terms_daily",
            "tasks",
            "sessions",
            "searches",
            "cart_adds",
            "purchases",
            "users",
            "locations",
            *ROLLUPS,
        ):
            conn.execute(sa.text(f"VACUUM ANALYZE tenant_data.{table}"))
    echo(f"generated in {time.perf_counter() - t0:.0f} s: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))

    out: list[Measurement] = []
    try:
        floor_samples = []
        for _ in range(repeats * 5):
            s0 = time.perf_counter()
            with tenant_scope(TENANT) as conn:
                conn.execute(sa.text("SELECT 1")).scalar()
            floor_samples.append((time.perf_counter() - s0) * 1000)
        floor = _p95(floor_samples)
        note = (
            f"{days} days x {events_per_day:,} events/day: "
            + ", ".join(f"{k} {v:,}" for k, v in counts.items())
            + f"; p95 of {repeats} runs, each query its own tenant-scoped transaction"
        )
        with data.uncached():
            p95 = _measure(_pages(end, 30), repeats)
        for i, (name, value) in enumerate(p95.items()):
            out.append(
                compare(
                    f"dashboard.{name}_p95_ms",
                    value,
                    "ms",
                    "SELECT 1 through tenant_scope, p95 (ms)",
                    floor,
                    note=f"last 30 days; {note}" if i == 0 else "last 30 days",
                )
            )
        with data.uncached():
            year = _measure(_pages(end, 365), max(5, repeats // 2))
        for name, value in year.items():
            out.append(
                compare(
                    f"dashboard.{name}_365d_range_p95_ms",
                    value,
                    "ms",
                    "SELECT 1 through tenant_scope, p95 (ms)",
                    floor,
                    note="the whole year picked as dates",
                )
            )

        # Without migration 0006's indexes: both variants inside one transaction (rolled back).
        with engine().connect() as conn:
            txn = conn.begin()

            def in_txn(tenant_id, statement, params):
                import pandas as pd

                enter_tenant(conn, tenant_id)
                result = conn.execute(sa.text(statement), params)
                return pd.DataFrame(result.fetchall(), columns=list(result.keys()))

            subset = {
                k: v
                for k, v in _pages(end, 30).items()
                if k in ("overview_branch", "carts_rep", "search_branch", "tasks_admin", "tasks_manager", "tasks_rep")
            }
            with data.uncached(in_txn):
                indexed = _measure(subset, max(5, repeats // 2))
            conn.execute(sa.text("RESET ROLE"))
            for name in migration.INDEXES:
                conn.execute(sa.text(f"DROP INDEX tenant_data.{name}"))
            with data.uncached(in_txn):
                unindexed = _measure(subset, max(5, repeats // 2))
            txn.rollback()
        for name in subset:
            out.append(
                compare(
                    f"dashboard.{name}_indexed_vs_without_0006_p95_ms",
                    indexed[name],
                    "ms",
                    "same queries without migration 0006's indexes, p95 (ms)",
                    unindexed[name],
                    note="one transaction for both, rolled back; ratio < 1 = the indexes help",
                )
            )
    finally:
        if not keep:
            _reset(echo)
    return out

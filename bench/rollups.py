"""The roll-up triggers' cost on large writes (`ga-intel bench rollups`, issue 16 goal 3).

The dashboard bench's generator (bench/dashboard.py) writes a year of search terms (2.5M
`search_terms_daily` rows at 1M events a day) and of cart tasks (146k) in one statement
each, and the roll-up triggers (migrations 0008, 0011, 0017) fold every such statement
into `search_terms_rollup` and the task roll-ups. This bench times exactly those two
statements, on an empty bench tenant, each in its own transaction that is rolled back, in
three variants run back to back as a round:

- `without`: the roll-up triggers disabled in the transaction (the same-run baseline: the
  write's own cost, indexes and the other statement triggers included);
- `current`: the trigger functions as migrated;
- `former`: the functions of migrations 0008 (search terms) and 0011 (tasks), put back
  in the transaction: the "before" of migration 0017, measured in the same run.

Each figure is the median over the rounds of the per-round ratio to `without`, with its
spread (the order of the variants rotates between rounds). A ratio of 1 means the
roll-ups cost nothing on the write.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa

from bench.common import Measurement, postgres_server
from bench.dashboard import TASKS_PER_EVENT, search_terms_statement, tasks_statement

TENANT = "bench-rollups"
VARIANTS = ("without", "current", "former")
# Per written table: the roll-up trigger to disable for the baseline, and the migration
# and name of its function's former definition.
TABLES = {
    "search_terms_daily": ("search_terms_rollup_insert", "0008_dashboard_rollups.py", "_SEARCH_FUNCTION"),
    "tasks": ("tasks_rollups_insert", "0011_actionable_tasks.py", "_ROLLUPS"),
}


def former_function(table: str) -> str:
    """CREATE OR REPLACE of the roll-up function on `table` as it was before migration 0017."""
    _, filename, name = TABLES[table]
    path = Path(__file__).resolve().parents[1] / "migrations" / "versions" / filename
    spec = importlib.util.spec_from_file_location(f"migration_{filename[:4]}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, name).replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1)


def _timed_write(table: str, statement: str, params: dict, variant: str) -> tuple[float, int]:
    """Seconds and rows of one write of `statement` in `variant`, rolled back."""
    from ga_intel.db.engine import enter_tenant
    from ga_intel.db.engine import owner_engine as engine  # ALTER TABLE, CREATE FUNCTION: the owner's

    trigger = TABLES[table][0]
    with engine().connect() as conn:
        txn = conn.begin()
        try:
            if variant == "without":
                conn.execute(sa.text(f"ALTER TABLE tenant_data.{table} DISABLE TRIGGER {trigger}"))
            elif variant == "former":
                conn.execute(sa.text(former_function(table)))
            enter_tenant(conn, TENANT)
            conn.execute(sa.text("SELECT setseed(0.42)"))  # the same rows in every variant
            t0 = time.perf_counter()
            rows = conn.execute(sa.text(statement), params).rowcount
            return time.perf_counter() - t0, rows
        finally:
            txn.rollback()


def run(
    echo: Callable[[str], None],
    days: int = 365,
    events_per_day: int = 1_000_000,
    rounds: int = 3,
) -> list[Measurement]:
    from ga_intel.db import control

    end = dt.date.today() - dt.timedelta(days=1)
    params = {"tenant": TENANT, "start": end - dt.timedelta(days=days - 1), "end": end}
    with control() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO control.tenants (tenant_id, name, timezone) VALUES (:tenant, 'Bench roll-ups', 'UTC') "
                "ON CONFLICT DO NOTHING"
            ),
            {"tenant": TENANT},
        )
    writes = {
        "search_terms": ("search_terms_daily", search_terms_statement(events_per_day)),
        "cart_tasks": (
            "tasks",
            tasks_statement("cart_recovery", round(events_per_day * TASKS_PER_EVENT["cart_recovery"])),
        ),
    }
    server = postgres_server()
    out: list[Measurement] = []
    try:
        for name, (table, statement) in writes.items():
            seconds: dict[str, list[float]] = {v: [] for v in VARIANTS}
            rows = 0
            for r in range(rounds):
                order = VARIANTS[r % 3 :] + VARIANTS[: r % 3]
                for variant in order:
                    s, rows = _timed_write(table, statement, params, variant)
                    seconds[variant].append(s)
                    echo(f"  {name} ({rows:,} rows), {variant}: {s:.1f} s")
            load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
            for variant in ("current", "former"):
                ratios = [w / b for w, b in zip(seconds[variant], seconds["without"], strict=True)]
                m = Measurement(
                    f"rollups.{name}_{variant}_s",
                    round(statistics.median(seconds[variant]), 3),
                    "s",
                    "the same statement without the roll-up triggers (s)",
                    round(statistics.median(seconds["without"]), 3),
                    round(statistics.median(ratios), 3),
                    note=(
                        f"{rows:,} rows in one INSERT ({days} days at {events_per_day:,} events/day), "
                        + (
                            "migration 0017's trigger functions"
                            if variant == "current"
                            else "the functions before 0017"
                        )
                        + f"; median of per-round ratios; load average {load}"
                    ),
                )
                m.ratio_min, m.ratio_max, m.pairs, m.server = (
                    round(min(ratios), 3),
                    round(max(ratios), 3),
                    rounds,
                    server,
                )
                out.append(m)
    finally:
        with control() as conn:
            conn.execute(sa.text("DELETE FROM control.tenants WHERE tenant_id = :tenant"), {"tenant": TENANT})
    return out

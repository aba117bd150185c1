"""Outputs are identical before and after the speed-ups of issue 16, goal 3.

Two tenants read the same generated export (three days of a small shop with the quirks of
real GA4 exports: purchases re-fired on a later day, an exactly duplicated row, a visit
across midnight, a refund, cookieless pings, items without a price, anonymous visitors)
through `ga-intel run`. `fast` runs the production path: the candidates upserted in one
statement, the roll-ups kept by the statement-level triggers. `slow` runs a reference
written here in the upsert's place: each candidate read, compared and written on its
own, with the same rules (a new task is open, or stale past its horizon; an existing
one gets its facts refreshed, never its status, who set it or its note). The roll-ups
are checked against their recomputation from the base tables.

Tasks and metrics must be equal row for row after the first run, and again after people
set statuses and notes in both tenants and the days are run again.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
import sqlalchemy as sa

from ga_intel.db import tenant_scope
from ga_intel.insights import tasks as task_rules
from ga_intel_tests.helpers.export import Export
from ga_intel_tests.helpers.rollups import FROM_SCRATCH, SEARCH_COUNTS, SEARCH_FROM_SCRATCH, same_frames
from ga_intel_tests.helpers.scenario import ScenarioTenant, customer

TZ = "America/Chicago"
TODAY = dt.datetime.now(ZoneInfo(TZ)).date()
D1, D2, D3 = (TODAY - dt.timedelta(days=n) for n in (3, 2, 1))
BRANCHES = ["CHI", "MKE", "STL"]
REPS = {"CHI": "Kara", "MKE": "Lee"}  # STL has none
CUSTOMERS = [customer(f"3{n:03d}", BRANCHES[n % 3], company=f"CO-{n % 9}") for n in range(30)]
SKUS = [(f"SKU-{n}", round(5 + n * 7.5, 2)) for n in range(25)]
TERMS = ["ball valve", "copper elbow", "pex crimp", "flux", "solder", "drain snake", "xyzzy"]
# The task facts the upsert refreshes (migration 0004 / 0011's columns); never the status,
# status_set_by/at, note, the recovery, or source_date (the run that first wrote it).
FACTS = (
    "customer_id",
    "company_id",
    "branch_code",
    "assigned_rep_email",
    "assigned_rep_name",
    "created_date",
    "due_date",
    "horizon_date",
    "priority",
    "title",
    "value",
    "context",
    "account_revenue_90d",
)


def at(day: dt.date, hour: float) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0)) + dt.timedelta(hours=hour)


def build_export() -> Export:
    rng = random.Random(16)
    export = Export(TZ)
    txns = []
    for day in (D1, D2, D3):
        for n in range(45):
            who = rng.choice(CUSTOMERS) if rng.random() < 0.7 else None
            v = export.visit(at(day, 6 + rng.random() * 15), customer=who)
            v.page("/")
            if rng.random() < 0.5:
                term = rng.choice(TERMS)
                v.search(term, no_results=term == "xyzzy")
                if rng.random() < 0.5:
                    v.view_item(rng.choice(SKUS)[0])
            if rng.random() < 0.4:
                cart = [(sku, rng.randint(1, 4), price) for sku, price in rng.sample(SKUS, rng.randint(1, 3))]
                v.add_to_cart(cart)
                if rng.random() < 0.35:
                    txn = f"T-{day:%m%d}-{n}"
                    v.purchase(txn, cart if rng.random() < 0.7 else [(rng.choice(SKUS)[0], 1, 99.0)], minutes=3)
                    txns.append((txn, cart, who))
        # Quirks, every day: consent-mode pings, a visit across midnight, an exact duplicate.
        export.cookieless(at(day, 12)).page("/")
        late = export.visit(at(day, 23.9), customer=CUSTOMERS[day.day % 30])
        late.page("/")
        late.search("pex crimp", minutes=2)
        late.add_to_cart([("SKU-3", 2, SKUS[3][1])], minutes=9)  # past midnight: the next day's table
        export.visit(at(day, 13), customer=CUSTOMERS[(day.day + 1) % 30]).view_item("SKU-X", price=None)
        export.duplicate_last(day)
    # A purchase re-fired on a later day (the receipt page reloaded), and a refund.
    txn, cart, who = txns[0]
    export.visit(at(D3, 9), customer=who).purchase(txn, cart)
    export.visit(at(D3, 10), customer=txns[1][2]).refund(txns[1][0], 20.0)
    return export


REFERENCE_RUNS: list[tuple[str, dt.date]] = []  # proof that `slow` went through the reference


def reference_upsert(conn, tenant_id: str, day: dt.date, today: dt.date) -> int:
    """tasks._upsert_candidates written the slow way: one candidate at a time."""
    REFERENCE_RUNS.append((tenant_id, day))
    stale = 0
    candidates = conn.execute(
        sa.text("SELECT * FROM task_candidates WHERE decision = 'create' ORDER BY task_key")
    ).mappings()
    for c in list(candidates):
        facts = {k: c[k] for k in FACTS}
        existing = (
            conn.execute(
                sa.text(f"SELECT {', '.join(FACTS)} FROM tenant_data.tasks WHERE tenant_id = :t AND task_key = :k"),
                {"t": tenant_id, "k": c["task_key"]},
            )
            .mappings()
            .first()
        )
        if existing is None:
            status = "stale" if today > c["horizon_date"] else "open"
            stale += status == "stale"
            conn.execute(
                sa.text(
                    f"INSERT INTO tenant_data.tasks (tenant_id, task_key, task_type, account_key, source_date, status, "
                    f"{', '.join(FACTS)}) VALUES (:tenant_id, :task_key, :task_type, :account_key, :day, :status, "
                    + ", ".join(f"CAST(:{k} AS jsonb)" if k == "context" else f":{k}" for k in FACTS)
                    + ")"
                ),
                {
                    **facts,
                    "context": json.dumps(c["context"]),
                    "tenant_id": tenant_id,
                    "task_key": c["task_key"],
                    "task_type": c["task_type"],
                    "account_key": c["account_key"],
                    "day": day,
                    "status": status,
                },
            )
            continue
        # A transaction first seen on an earlier day, loaded later, moves its task there.
        facts["created_date"] = min(existing["created_date"], c["created_date"])
        if all(_same(existing[k], facts[k]) for k in FACTS):
            continue  # unchanged: not touched
        conn.execute(
            sa.text(
                "UPDATE tenant_data.tasks SET "
                + ", ".join(f"{k} = CAST(:{k} AS jsonb)" if k == "context" else f"{k} = :{k}" for k in FACTS)
                + ", updated_at = now() WHERE tenant_id = :tenant_id AND task_key = :task_key"
            ),
            {**facts, "context": json.dumps(c["context"]), "tenant_id": tenant_id, "task_key": c["task_key"]},
        )
    return stale


def _same(a, b) -> bool:
    if a is None or b is None:
        return a is b
    return a == b  # Decimal with Decimal, dict (jsonb) with dict, dates, text


def frame(tenant_id: str, sql: str) -> pd.DataFrame:
    with tenant_scope(tenant_id) as conn:
        result = conn.execute(sa.text(sql))
        return pd.DataFrame(result.fetchall(), columns=list(result.keys()))


def assert_rollups_are_their_recomputation(kept_by: str, base_of: str) -> None:
    """`kept_by`'s roll-ups (its triggers' work) equal the roll-ups recomputed from
    `base_of`'s daily rows and tasks."""
    measures = {"tasks", "carts", "quantity", "value", "recovered_revenue", "recovered_carts"}
    for table, sql in {**FROM_SCRATCH, "search_terms_rollup": SEARCH_FROM_SCRATCH}.items():
        want = frame(base_of, sql)
        got = frame(kept_by, f"SELECT {', '.join(want.columns)} FROM tenant_data.{table}")
        assert len(want) > 0, table
        same_frames(got, want, [c for c in want.columns if c not in measures and c not in SEARCH_MEASURES])


SEARCH_MEASURES = {*SEARCH_COUNTS, "days"}


def took_up(tenant: ScenarioTenant, task_key: str, status: str, note: str | None = None) -> None:
    """A person's change, with a fixed time so both tenants record the same."""
    with tenant_scope(tenant.id) as conn:
        task_rules.set_status(conn, tenant.id, task_key, status, by="kara@shop.example", note=note)
        conn.execute(
            sa.text(
                "UPDATE tenant_data.tasks SET first_touched_at = :w WHERE task_key = :k AND first_touched_at IS NOT NULL"
            ),
            {"w": dt.datetime.combine(D3, dt.time(15), ZoneInfo(TZ)), "k": task_key},
        )


def run_both(fast: ScenarioTenant, slow: ScenarioTenant, as_of: dt.date) -> None:
    """The three days through `ga-intel run`, in each tenant its own way."""
    fast.run(D1, D3, as_of=as_of)
    REFERENCE_RUNS.clear()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(task_rules, "_upsert_candidates", reference_upsert)
        slow.run(D1, D3, as_of=as_of)
    assert set(REFERENCE_RUNS) == {("slow", d) for d in (D1, D2, D3)}


def assert_identical(fast: ScenarioTenant, slow: ScenarioTenant) -> None:
    got, want = fast.snapshot(), slow.snapshot()
    for table in want:
        assert got[table] == want[table], table
    assert_rollups_are_their_recomputation("fast", "slow")
    assert_rollups_are_their_recomputation("slow", "slow")


def test_a_generated_day_gives_the_same_tasks_and_metrics_both_ways(bigquery_emulator, tmp_path, platform_db):
    from ga_intel_tests.conftest import empty_platform

    empty_platform()
    export = build_export()
    tenants = {
        name: ScenarioTenant(
            name,
            export,
            bigquery_emulator,
            tmp_path,
            branches=BRANCHES,
            customers=CUSTOMERS,
            dataset="bothways",
            reps=REPS,
        )
        for name in ("fast", "slow")
    }
    fast, slow = tenants["fast"], tenants["slow"]
    fast.load(export, tmp_path)
    run_both(fast, slow, as_of=D3 + dt.timedelta(days=1))
    tasks = fast.tasks()
    types = {t["task_type"] for t in tasks.values()}
    assert types >= {"purchase_followup", "cart_recovery", "search_followup"}, types
    assert_identical(fast, slow)

    # People act in both tenants alike; the days are run again a day later.
    keys = sorted(tasks)[:12]
    set_by_people = {key: ("in_progress", "done", "dismissed")[n % 3] for n, key in enumerate(keys)}
    for n, (key, status) in enumerate(set_by_people.items()):
        for tenant in (fast, slow):
            took_up(tenant, key, status, note=f"called ({n})" if n % 2 else None)
    run_both(fast, slow, as_of=D3 + dt.timedelta(days=2))
    assert_identical(fast, slow)
    after = fast.tasks()
    for key, status in set_by_people.items():  # a recorded recovery may close a task in progress
        assert after[key]["status"] == status or after[key]["recovered_on"] is not None, key
        assert after[key]["status_set_by"] == "kara@shop.example", key

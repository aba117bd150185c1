"""Tasks a rep can finish (issue 14), through `ga-intel run` over consecutive days of
export-shaped rows in the BigQuery emulator.

Two tenants read the same export. `ontime` runs each day the next morning (`--as-of`
the day after), as the daily schedule does; its days are recent, so GA4 still marks
them provisional. `backfill` loads the same days a month later, as a new tenant's
history load does. Horizon edges on both sides are in test_tasks_rules.py.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from ga_intel.db import tenant_scope
from ga_intel_tests.helpers.export import Export
from ga_intel_tests.helpers.scenario import ScenarioTenant, customer

TZ = "America/Chicago"
TODAY = dt.datetime.now(ZoneInfo(TZ)).date()
# D1 complete (GA4 closed it), D2..D4 still provisional (within GA4's 72 h).
D1, D2, D3, D4 = (TODAY - dt.timedelta(days=n) for n in (4, 3, 2, 1))
DAYS = (D1, D2, D3, D4)

QUINN = customer("2001", "QT", first="Quinn")  # a cart added late at night on a quiet tenant
RITA = customer("2002", "RC", first="Rita")  # a routine order, then one with a cart item
CARL = customer("2003", "CT", first="Carl")  # recovered after the rep called
DORA = customer("2004", "CT", first="Dora")  # marked done by the rep, then recovered
PETE = customer("2005", "PF", first="Pete")  # a purchase to follow up
SAM = customer("2006", "PF", first="Sam")  # bought four minutes after adding to cart
CUSTOMERS = [QUINN, RITA, CARL, DORA, PETE, SAM]
BRANCHES = ["QT", "RC", "CT", "PF"]
REPS = {"QT": "Kara", "RC": "Kara", "CT": "Lee", "PF": "Lee"}


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute))


def build_export() -> Export:
    export = Export(TZ)
    v = export.visit(at(D1, 23, 30), customer=QUINN)  # window ends D2 23:30
    v.add_to_cart([("SKU-Q", 1, 80.0)])
    v = export.visit(at(D1, 10), customer=RITA)
    v.add_to_cart([("SKU-R1", 2, 100.0), ("SKU-R2", 1, 50.0)])
    export.visit(at(D3, 11), customer=RITA).purchase("T-R1", [("SKU-X", 1, 500.0)])  # routine
    export.visit(at(D4, 9), customer=RITA).purchase("T-R2", [("SKU-R1", 2, 100.0), ("SKU-Y", 1, 300.0)])
    export.visit(at(D1, 11), customer=CARL).add_to_cart([("SKU-C1", 1, 400.0)])
    export.visit(at(D4, 8), customer=CARL).purchase("T-C", [("SKU-C1", 1, 400.0)])
    export.visit(at(D1, 10, 30), customer=DORA).add_to_cart([("SKU-D1", 1, 60.0)])
    export.visit(at(D3, 9), customer=DORA).purchase("T-D", [("SKU-D1", 1, 60.0)])
    export.visit(at(D1, 9), customer=PETE).purchase("T-P", [("SKU-P", 3, 400.0)])
    v = export.visit(at(D1, 14), customer=SAM)
    v.add_to_cart([("SKU-S", 1, 90.0)])
    v.purchase("T-S", [("SKU-S", 1, 90.0)], minutes=4)
    # A quiet tenant: on D2 nothing happens after noon, so D2's data ends before Quinn's
    # window does; D3 and D4 have traffic.
    export.visit(at(D2, 11), device="d2-visitor").page("/")
    export.visit(at(D3, 16), device="d3-visitor").page("/")
    export.visit(at(D4, 16), device="d4-visitor").page("/")
    return export


def took_up(tenant: ScenarioTenant, task_key: str, status: str, when: dt.datetime, by="lee@shop.example") -> None:
    """A rep set `status` at `when` (local time): what the dashboard records, back-dated to
    when the rep acted, so the purchases of the export come after it."""
    from ga_intel.insights import tasks

    with tenant_scope(tenant.id) as conn:
        tasks.set_status(conn, tenant.id, task_key, status, by=by)
        conn.execute(
            sa.text("UPDATE tenant_data.tasks SET first_touched_at = :w, status_set_at = :w WHERE task_key = :k"),
            {"w": when.replace(tzinfo=ZoneInfo(TZ)), "k": task_key},
        )


@pytest.fixture(scope="module")
def runs(bigquery_emulator, tmp_path_factory, platform_db):
    from ga_intel_tests.conftest import empty_platform

    empty_platform()
    tmp = tmp_path_factory.mktemp("lifecycle")
    mp = pytest.MonkeyPatch()
    mp.setenv("DAGSTER_HOME", str(tmp_path_factory.mktemp("dagster-home")))
    export = build_export()
    ontime = ScenarioTenant(
        "ontime", export, bigquery_emulator, tmp, branches=BRANCHES, customers=CUSTOMERS, dataset="lifecycle", reps=REPS
    )
    ontime.load(export, tmp)
    backfill = ScenarioTenant(
        "backfill",
        export,
        bigquery_emulator,
        tmp,
        branches=BRANCHES,
        customers=CUSTOMERS,
        dataset="lifecycle",
        reps=REPS,
    )
    after = {}
    for day in DAYS:
        if day == D4:  # before D4's data comes in, Lee has called Carl and closed Dora's task
            took_up(ontime, f"cart:user:2003:{D1}", "in_progress", at(D3, 12))
        ontime.run(day, as_of=day + dt.timedelta(days=1))
        after[day] = ontime.tasks()
        if day == D2:
            took_up(ontime, f"cart:user:2004:{D1}", "done", at(D2, 15))
    backfill.run(D1, D4, as_of=D4 + dt.timedelta(days=30))
    yield {"ontime": ontime, "backfill": backfill, "after": after}
    mp.undo()


def carts(tasks: dict, user: str) -> list[dict]:
    return [t for k, t in tasks.items() if k.startswith(f"cart:user:{user}:")]


def test_a_cart_bought_minutes_after_the_add_never_becomes_a_task(runs):
    for day in DAYS:
        assert carts(runs["after"][day], "2006") == []
    assert carts(runs["backfill"].tasks(), "2006") == []


def test_a_late_cart_on_a_quiet_tenant_is_decided_once_the_data_covers_its_window(runs):
    after = runs["after"]
    assert carts(after[D1], "2001") == [] and carts(after[D2], "2001") == []  # D2's data ends at noon
    [task] = carts(after[D3], "2001")  # D3 covers the window
    assert (task["status"], float(task["value"]), task["created_date"]) == ("open", 80.0, D1)
    assert task["horizon_date"] == D2 + dt.timedelta(days=3)  # 3 days after the window's end (D2)
    assert task["assigned_rep_name"] == "Kara"


def test_a_routine_order_does_not_recover_a_cart_and_one_with_a_cart_item_does(runs):
    after = runs["after"]
    [task] = carts(after[D3], "2002")  # D3: an order without the cart's items
    assert task["status"] == "open" and task["recovered_on"] is None
    [task] = carts(after[D4], "2002")  # D4: an order with SKU-R1 × 2
    assert (task["status"], task["recovered_on"], task["recovered_transaction_id"]) == ("recovered", D4, "T-R2")
    assert (float(task["recovered_revenue"]), float(task["recovered_order_revenue"])) == (200.0, 500.0)
    assert task["recovered_after_contact"] is False
    m = runs["ontime"].metrics(D4, "RC")
    assert (float(m["recovered_revenue"]), float(m["recovered_after_contact_revenue"])) == (200.0, 0.0)


def test_recovery_after_contact_is_told_apart_from_recovery_on_its_own(runs):
    tasks = runs["ontime"].tasks()
    [carl] = carts(tasks, "2003")
    assert (carl["status"], carl["recovered_after_contact"], float(carl["recovered_revenue"])) == (
        "recovered",
        True,
        400.0,
    )
    [dora] = carts(tasks, "2004")  # closed as done by the rep: keeps it, recovery recorded
    assert (dora["status"], dora["recovered_on"], dora["recovered_after_contact"]) == ("done", D3, True)
    m = runs["ontime"].metrics(D4, "CT")
    assert (float(m["recovered_revenue"]), float(m["recovered_after_contact_revenue"])) == (400.0, 400.0)


def test_a_day_loaded_on_time_gives_open_tasks_and_a_backfill_gives_stale_ones(runs):
    ontime, backfill = runs["after"][D1], runs["backfill"].tasks()
    assert ontime["purchase:T-P"]["status"] == "open" and ontime["purchase:T-P"]["priority"] == 1
    assert {t["status"] for t in backfill.values()} == {"stale"}
    # the same tasks, with the same facts: only their status says they came too late
    assert set(backfill) == set(runs["ontime"].tasks())
    # stale tasks still count in the figures: the recovery is recorded
    [rita] = carts(backfill, "2002")
    assert (rita["recovered_on"], float(rita["recovered_revenue"])) == (D4, 200.0)


def test_open_tasks_expire_at_their_horizon_on_a_later_run(runs):
    ontime = runs["ontime"]
    horizon = ontime.tasks()["purchase:T-P"]["horizon_date"]
    assert horizon == D1 + dt.timedelta(days=7)
    ontime.run(D4, as_of=horizon)  # the horizon itself: still open
    assert ontime.tasks()["purchase:T-P"]["status"] == "open"
    ontime.run(D4, as_of=horizon + dt.timedelta(days=1))  # the day after: expired
    tasks = ontime.tasks()
    assert tasks["purchase:T-P"]["status"] == "expired"
    assert carts(tasks, "2001")[0]["status"] == "expired"  # Quinn's cart (horizon D2 + 3)
    assert carts(tasks, "2004")[0]["status"] == "done"  # a person's status stays

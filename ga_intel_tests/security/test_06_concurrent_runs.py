"""Finding 6: two runs of the same tenant-day must not double the day.

The refresh schedule and the export sensor can both request a tenant-day, and two runs
per tenant may run at once. Each run deletes the day and copies it in its own
transaction; under READ COMMITTED neither sees the other's new rows, so both copies
used to survive (5,788 session rows instead of 2,894, and both runs reported success).

Here two real `ga-intel run` processes load the same day at the same time. To be sure
their transactions overlap (not one after the other by luck of timing), the test holds
a write lock on `data_availability`, the last table a load writes before it commits,
until both runs are waiting inside their load; then it lets them go. Each partition's
replace now takes an advisory lock on (tenant, day), so the second run waits for the
first to commit and replaces its rows: every table holds what one run writes."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
from pathlib import Path

import sqlalchemy as sa

from ga_intel.db.engine import owner_engine
from ga_intel.ga4.extract import TABLES as GA4_TABLES
from ga_intel_tests.helpers.export import Export
from ga_intel_tests.helpers.scenario import ScenarioTenant, customer

DAY = dt.date(2024, 6, 3)
CUSTOMERS = [customer(str(3000 + i), "B1" if i % 2 else "B2", first=f"C{i}") for i in range(12)]
INSIGHTS_TABLES = ("daily_metrics", "location_daily_metrics", "search_terms_daily", "bounced_pages_daily")
WAIT_FOR_RUNS_SECONDS = 300  # generous: two processes import Dagster and query the emulator first


def _export() -> Export:
    export = Export()
    for i, c in enumerate(CUSTOMERS):
        visit = export.visit(dt.datetime.combine(DAY, dt.time(8 + i % 10, i)), customer=c)
        visit.page("/")
        visit.search(f"bolts {i}")
        visit.add_to_cart([(f"SKU-{i}", 2, 10.0 + i)])
        if i % 3 == 0:
            visit.purchase(f"T-{i}", [(f"SKU-{i}", 2, 10.0 + i)], minutes=20)
    for i in range(5):
        export.visit(dt.datetime.combine(DAY, dt.time(12, i)), device=f"anon-{i}").page("/landing")
    return export


def _counts(tenant: ScenarioTenant) -> dict[str, int]:
    return {t: tenant.rows(f"SELECT count(*) AS n FROM tenant_data.{t}")[0]["n"] for t in GA4_TABLES + INSIGHTS_TABLES}


def _cli(tenant_id: str, dagster_home: Path) -> subprocess.Popen:
    # A Dagster home each: two processes creating one SQLite run storage race on its
    # schema (a deployment's storage is PostgreSQL); the runs share the platform database.
    dagster_home.mkdir()
    env = {**os.environ, "DAGSTER_HOME": str(dagster_home)}
    exe = Path(sys.executable).with_name("ga-intel")
    return subprocess.Popen(
        [str(exe), "run", "--tenant", tenant_id, "--date", DAY.isoformat()],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _waiting_loads() -> int:
    """Server processes of this database waiting for a lock (the held table lock, or a
    partition's advisory lock)."""
    with owner_engine().connect() as conn:  # wait events of other logins need the owner
        return conn.execute(
            sa.text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
            )
        ).scalar()


def test_two_concurrent_runs_of_a_day_leave_one_copy(bigquery_emulator, tmp_path, db, secret_key, monkeypatch):
    (tmp_path / "dagster-home").mkdir()
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster-home"))
    export = _export()
    tenant = ScenarioTenant("twice", export, bigquery_emulator, tmp_path, branches=["B1", "B2"], customers=CUSTOMERS)
    tenant.load(export, tmp_path)

    # The attack: two runs of the same day, inside their loads at the same time.
    blocker = owner_engine().connect()  # the test holds the lock as the owner; the runs are the runtime login
    blocker.execute(sa.text("LOCK TABLE tenant_data.data_availability IN EXCLUSIVE MODE"))
    runs = [_cli(tenant.id, tmp_path / "run-a"), _cli(tenant.id, tmp_path / "run-b")]
    try:
        deadline = time.monotonic() + WAIT_FOR_RUNS_SECONDS
        while _waiting_loads() < 2:
            finished = [r for r in runs if r.poll() is not None]
            assert not finished, finished[0].stdout.read()
            assert time.monotonic() < deadline, "the two runs never both reached their load"
            time.sleep(0.2)
    finally:
        blocker.rollback()
        blocker.close()
    outputs = [r.communicate()[0] for r in runs]
    for run, output in zip(runs, outputs):
        assert run.returncode == 0 and "FAILED" not in output, output

    concurrent = _counts(tenant)
    assert concurrent["sessions"] == len(CUSTOMERS) + 5

    # What one run alone writes: every table the same, nothing doubled.
    tenant.run(DAY)
    assert _counts(tenant) == concurrent
    [metrics] = tenant.rows("SELECT sessions, transactions FROM tenant_data.daily_metrics")
    assert metrics == {"sessions": len(CUSTOMERS) + 5, "transactions": 4}
    [availability] = tenant.rows("SELECT status FROM tenant_data.data_availability")
    assert availability["status"] in ("complete", "provisional")

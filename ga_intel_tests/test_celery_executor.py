"""Scale-out through dagster-celery (deploy/celery/celery.yaml, docs/DEPLOYMENT.md): two
real Celery workers on a real Redis run the steps of a 20 tenant-day backfill, and the
tables hold the same rows as an in-process run of the same days (on twin tenants with the
same settings, run meanwhile to keep the test within minutes on a busy machine).

Skipped, with the reason, when no Redis answers on 127.0.0.1:6379; .ci/run starts one and
sets GA_INTEL_REQUIRE_REDIS=1, under which a missing Redis is an error instead."""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import types
import uuid
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa
import yaml

from ga_intel import settings
from ga_intel.connectors import bigquery as bq_connector
from ga_intel.db import tenant_scope
from ga_intel.demo import generator
from ga_intel.ga4 import extract, load
from ga_intel.orchestration import executors
from ga_intel.orchestration.partitions import DATE_DIMENSION, TENANT_DIMENSION
from ga_intel.tenancy import store, tenant_file
from ga_intel_tests.conftest import tenant_data

REDIS = ("127.0.0.1", 6379)
REPO = Path(__file__).resolve().parents[1]
PROJECT = "test-project"
TENANTS = ("celery_a", "celery_b")  # run on the Celery workers
IN_PROCESS = {"celery_a": "inproc_a", "celery_b": "inproc_b"}  # the same settings and days, run in-process
# 2 tenants x 10 days = 20 runs. GA_INTEL_CELERY_TEST_DAYS shrinks it where a loaded
# machine makes the BigQuery emulator too slow (each run's ten queries go through it).
DAYS = [
    dt.date(2024, 3, 4) + dt.timedelta(days=i) for i in range(int(os.environ.get("GA_INTEL_CELERY_TEST_DAYS", "10")))
]
AS_OF = DAYS[-1] + dt.timedelta(days=1)
# Tables whose rows both runs must agree on, and columns that differ by run by design.
COMPARED = (*extract.TABLES, "daily_metrics", "location_daily_metrics", "search_terms_daily", "tasks")
RUN_COLUMNS = {"run_id", "created_at", "updated_at", "computed_at", "loaded_at", "status_set_at", "id", "task_id"}


def _redis_answers() -> bool:
    try:
        with socket.create_connection(REDIS, timeout=2) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


NO_REDIS = "no Redis answers on 127.0.0.1:6379: start redis-server (.ci/run does) to run the dagster-celery test"
if os.environ.get("GA_INTEL_REQUIRE_REDIS") == "1" and not _redis_answers():
    raise RuntimeError(NO_REDIS + " (GA_INTEL_REQUIRE_REDIS=1: CI never skips it)")
pytestmark = pytest.mark.skipif(not _redis_answers(), reason=NO_REDIS)


@pytest.fixture
def celery_setup(platform_db, tmp_path, monkeypatch):
    """A Dagster home on the test PostgreSQL and an executor config with a key prefix of
    its own on the shared Redis, so no other worker on this machine takes these steps."""
    url = settings.database_urls().dagster.set(drivername="postgresql+psycopg2")
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(
        yaml.safe_dump(
            {
                "storage": {"postgres": {"postgres_url": url.render_as_string(hide_password=False)}},
                "telemetry": {"enabled": False},
            }
        )
    )
    config = yaml.safe_load((REPO / "deploy" / "celery" / "celery.yaml").read_text())
    transport = config["execution"]["config"]["config_source"]["broker_transport_options"]
    prefix = transport["global_keyprefix"] = f"ga-intel-test-{uuid.uuid4().hex[:8]}:"
    config_path = tmp_path / "celery.yaml"
    config_path.write_text(yaml.safe_dump(config))
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setenv(executors.EXECUTOR_ENV, "celery")
    monkeypatch.setenv(executors.CELERY_CONFIG_ENV, str(config_path))
    monkeypatch.setenv("GA_INTEL_CELERY_BROKER", f"redis://{REDIS[0]}:{REDIS[1]}/0")
    monkeypatch.setenv("GA_INTEL_CELERY_BACKEND", f"redis://{REDIS[0]}:{REDIS[1]}/0")
    yield {"home": home, "config": config_path}
    import redis

    r = redis.Redis(*REDIS)
    for key in r.scan_iter(match=f"{prefix}*"):  # the queue bindings kombu leaves behind
        r.delete(key)
    r.close()


def _start_worker(name: str, config: Path, log: Path) -> subprocess.Popen:
    bin_dir = Path(sys.executable).parent  # the CLI starts `celery` from PATH
    return subprocess.Popen(
        [
            str(bin_dir / "dagster-celery"),
            "worker",
            "start",
            "-y",
            str(config),
            "-A",
            "dagster_celery.app",
            "-n",
            name,
            "--",
            "--concurrency=2",
            "--without-gossip",
            "--without-mingle",
        ],
        cwd=REPO,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
        env={**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"},
    )


def _stop_worker(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)  # the CLI and the celery worker it started
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _wait_ready(logs: list[Path], procs: list[subprocess.Popen], timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for p, log in zip(procs, logs):
            if p.poll() is not None:
                pytest.fail(f"celery worker exited ({p.returncode}):\n{log.read_text()[-3000:]}")
        if all("ready." in log.read_text() for log in logs):
            return
        time.sleep(0.5)
    pytest.fail("celery workers not ready:\n" + "\n".join(log.read_text()[-2000:] for log in logs))


def _snapshot(tenant: str) -> dict[str, list[tuple]]:
    """The tenant's rows of every compared table, without the tenant id and run columns."""
    out = {}
    with tenant_scope(tenant) as conn:
        for table in COMPARED:
            cols = [
                c
                for c in conn.execute(
                    sa.text(
                        "SELECT column_name FROM information_schema.columns WHERE table_schema = 'tenant_data' "
                        "AND table_name = :t ORDER BY ordinal_position"
                    ),
                    {"t": table},
                ).scalars()
                if c not in RUN_COLUMNS and c != "tenant_id"
            ]
            select = ", ".join(f"coalesce(\"{c}\"::text, '<null>')" for c in cols)  # sortable
            rows = conn.execute(
                sa.text(f"SELECT {select} FROM tenant_data.{table} WHERE tenant_id = :t"), {"t": tenant}
            ).all()
            out[table] = sorted(tuple(r) for r in rows)
    return out


def _tags(tenant: str, day: dt.date) -> dict[str, str]:
    key = dg.MultiPartitionKey({TENANT_DIMENSION: tenant, DATE_DIMENSION: day.isoformat()})
    return {
        "dagster/partition": str(key),
        f"dagster/partition/{TENANT_DIMENSION}": tenant,
        f"dagster/partition/{DATE_DIMENSION}": day.isoformat(),
        "dagster/backfill": "celery-test",
    }


RUN_CONFIG = {"ops": {"insights_day": {"config": {"as_of": AS_OF.isoformat()}}}}


# One run per call, in a process of a pool (runs of a backfill are separate processes in
# Dagster too; Dagster's execution is not meant to share one process between threads).
def _run_on_celery(tenant: str, day: str) -> tuple[bool, str]:
    with dg.DagsterInstance.get() as instance:
        result = dg.execute_job(
            dg.reconstructable(executors.ga4_job),
            instance=instance,
            tags=_tags(tenant, dt.date.fromisoformat(day)),
            run_config=RUN_CONFIG,
        )
        return result.success, result.run_id


def _run_in_process(tenant: str, day: str) -> bool:
    """The way `ga-intel run` materializes a tenant-day."""
    from ga_intel.definitions import defs
    from ga_intel.orchestration.run import _tenant_day_assets

    key = dg.MultiPartitionKey({TENANT_DIMENSION: tenant, DATE_DIMENSION: day})
    with dg.DagsterInstance.get() as instance:
        return dg.materialize(
            _tenant_day_assets(defs),
            partition_key=key,
            instance=instance,
            resources=defs.resources,
            run_config=RUN_CONFIG,
        ).success


def _days_on_celery(tenant: str, days: list[str]) -> list[tuple[bool, str]]:
    return [_run_on_celery(tenant, day) for day in days]


def _days_in_process(tenant: str, days: list[str]) -> bool:
    return all([_run_in_process(tenant, day) for day in days])


def _pool():
    import multiprocessing

    return concurrent.futures.ProcessPoolExecutor(4, mp_context=multiprocessing.get_context("spawn"))


def test_backfill_spreads_over_two_celery_workers_with_in_process_rows(
    db, secret_key, celery_setup, tmp_path, bigquery_emulator, monkeypatch
):  # noqa: F811
    # The pools spawn their processes, and spawn re-runs whatever `__main__` is: after an
    # AppTest earlier in the session that is the Streamlit app. A blank one runs nothing.
    monkeypatch.setitem(sys.modules, "__main__", types.ModuleType("__main__"))
    # Tiny days: the test is about where steps run, not how fast.
    folder = tmp_path / "ga4"
    generator.write_days(folder, DAYS[0], len(DAYS), events_per_day=40, progress=None)
    endpoint = bigquery_emulator.endpoint
    client = bq_connector.client(
        tenant_file.BigQuerySettings(project_id=PROJECT, dataset_id="celery", api_endpoint=endpoint)
    )
    load.load_folder(client, f"{PROJECT}.celery", folder, progress=lambda m: None)
    for tenant in (*TENANTS, *IN_PROCESS.values()):
        store.add(
            tenant_file.validate(
                tenant_data(tenant, bigquery={"project_id": PROJECT, "dataset_id": "celery", "api_endpoint": endpoint}),
                "test",
            )
        )

    # Each tenant's days in date order, the tenants side by side (the run queue's per-tenant
    # limit, dagster.yaml). A day's insights read the days before it (carts decided once their
    # window is covered, repeat visits), so the in-process twin must see the same order for
    # its rows to be comparable; the steps still spread over both workers.
    days = [d.isoformat() for d in DAYS]
    with dg.DagsterInstance.get() as instance, _pool() as in_process_pool, _pool() as celery_pool:
        instance.add_dynamic_partitions(TENANT_DIMENSION, [*TENANTS, *IN_PROCESS.values()])
        # The in-process twin of the backfill runs meanwhile, on tenants of its own.
        in_process = [in_process_pool.submit(_days_in_process, IN_PROCESS[t], days) for t in TENANTS]

        logs = [tmp_path / "worker1.log", tmp_path / "worker2.log"]
        procs = [
            _start_worker("w1", celery_setup["config"], logs[0]),
            _start_worker("w2", celery_setup["config"], logs[1]),
        ]
        try:
            _wait_ready(logs, procs)
            assert dg.reconstructable(executors.ga4_job).get_definition().executor_def.name == "celery"
            results = [r for chain in celery_pool.map(_days_on_celery, TENANTS, [days] * len(TENANTS)) for r in chain]
        finally:
            for p in procs:
                _stop_worker(p)
        assert all(ok for ok, _ in results), [run_id for ok, run_id in results if not ok]
        assert all(f.result() for f in in_process)

        # Where each step ran, from the runs' event logs (the worker's own engine event).
        workers = {}
        for _, run_id in results:
            for record in instance.all_logs(run_id, of_type=dg.DagsterEventType.ENGINE_EVENT):
                data = record.dagster_event.engine_event_data
                if data and "Celery worker" in data.metadata:
                    workers.setdefault(data.metadata["Celery worker"].value.split("@")[0], []).append(
                        (run_id, record.step_key)
                    )
        assert set(workers) == {"w1", "w2"}, workers
        assert sum(len(v) for v in workers.values()) == 2 * len(results)  # ga4_day and insights_day of each run

    for tenant in TENANTS:
        on_workers = _snapshot(tenant)
        assert on_workers["sessions"], "the generated days loaded no sessions"
        assert on_workers == _snapshot(IN_PROCESS[tenant])
    shutil.rmtree(folder)

"""Per-tenant concurrency in the run queue: one tenant's big backfill never starves
another tenant's daily run.

Real pieces: the repository's dagster.yaml (QueuedRunCoordinator and its limits) on the
test PostgreSQL, runs queued in its run storage with the tags Dagster gives tenant × day
runs, and one iteration of Dagster's own QueuedRunCoordinatorDaemon deciding what to
launch. The launcher is Dagster's SyncInMemoryRunLauncher, which really executes a
dequeued run in this process (a one-op job), instead of starting a run worker process;
runs "in progress" are runs whose status says a worker is executing them.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest
import yaml
from dagster._core.storage.dagster_run import DagsterRunStatus

from ga_intel import settings
from ga_intel.ga4.automation import FRESH_TAGS
from ga_intel.orchestration.partitions import tenant_day_partitions

REPO = Path(__file__).resolve().parents[1]
ORIGINS: dict = {}


@dg.op
def load_day() -> None:
    pass


# In-process: a multiprocess step worker is spawned from the parent's __main__, which
# in a pytest process that ran AppTest before is a Streamlit script, not pytest.
@dg.job(executor_def=dg.in_process_executor)
def tenant_day_job() -> None:
    load_day()


defs = dg.Definitions(jobs=[tenant_day_job])


def instance_config(with_bulk_caps: bool = True) -> dict:
    config = yaml.safe_load((REPO / "dagster.yaml").read_text())
    config["run_launcher"] = {
        "module": "dagster._core.launcher.sync_in_memory_run_launcher",
        "class": "SyncInMemoryRunLauncher",
    }
    config.pop("python_logs", None)
    if not with_bulk_caps:  # the configuration before this fix, for contrast
        limits = config["run_coordinator"]["config"]["tag_concurrency_limits"]
        config["run_coordinator"]["config"]["tag_concurrency_limits"] = [
            limit for limit in limits if limit["key"] == "dagster/partition/tenant"
        ]
    return config


@pytest.fixture
def make_instance(platform_db, tmp_path, monkeypatch):
    monkeypatch.setenv(
        "GA_INTEL_DAGSTER_STORAGE_URL", settings.database_urls().dagster.render_as_string(hide_password=False)
    )
    opened = []

    def make(with_bulk_caps: bool = True) -> dg.DagsterInstance:
        home = tmp_path / f"home-{len(opened)}"
        home.mkdir()
        (home / "dagster.yaml").write_text(yaml.safe_dump(instance_config(with_bulk_caps)))
        instance = dg.DagsterInstance.from_config(str(home))
        instance.wipe()  # runs of earlier tests share this storage
        with workspace(instance) as context:
            ORIGINS[instance] = origins(context)
        opened.append(instance)
        return instance

    yield make
    for instance in opened:
        instance.wipe()
        instance.dispose()


def workspace(instance):
    from dagster._core.test_utils import create_test_daemon_workspace_context

    from ga_intel.devservices.dagster_ui import in_process_target

    target = in_process_target(module=__name__, attribute="defs", location="queue_test")
    return create_test_daemon_workspace_context(target, instance)


def origins(context) -> dict:
    location = context.create_request_context().get_code_location("queue_test")
    job = location.get_repository("__repository__").get_full_job("tenant_day_job")
    return {"remote_job_origin": job.get_remote_origin(), "job_code_origin": job.get_python_origin()}


def queue(
    instance,
    tenant: str,
    days: int,
    status=DagsterRunStatus.QUEUED,
    backfill: str | None = None,
    extra: dict | None = None,
) -> list[str]:
    """Runs for `tenant`'s days with the tags Dagster puts on tenant × day runs."""
    ids = []
    for i in range(days):
        key = dg.MultiPartitionKey({"tenant": tenant, "date": f"2024-{1 + i // 28:02d}-{1 + i % 28:02d}"})
        tags = dict(tenant_day_partitions.get_tags_for_partition_key(key))
        if backfill:
            tags["dagster/backfill"] = backfill
        tags.update(extra or {})
        run = instance.create_run_for_job(tenant_day_job, tags=tags, status=status, **ORIGINS[instance])
        ids.append(run.run_id)
    return ids


def dequeue_once(instance) -> None:
    """One pass of the daemon that `dagster-daemon run` runs every few seconds."""
    from dagster._daemon.run_coordinator.queued_run_coordinator_daemon import QueuedRunCoordinatorDaemon

    with workspace(instance) as context:
        with QueuedRunCoordinatorDaemon(interval_seconds=1) as daemon:
            list(daemon.run_iteration(context))


def statuses(instance, run_ids: list[str]) -> list[DagsterRunStatus]:
    return [instance.get_run_by_id(r).status for r in run_ids]


def launched(instance, run_ids: list[str]) -> int:
    return sum(s != DagsterRunStatus.QUEUED for s in statuses(instance, run_ids))


def test_runs_carry_the_tenant_tag_the_limit_uses():
    tags = tenant_day_partitions.get_tags_for_partition_key(
        dg.MultiPartitionKey({"tenant": "acme", "date": "2024-03-01"})
    )
    assert tags["dagster/partition/tenant"] == "acme"


def test_a_backfill_runs_two_at_a_time(make_instance):
    instance = make_instance()
    backfill = queue(instance, "big", 110, backfill="bf-big")  # more than the daemon's page of 100
    dequeue_once(instance)
    assert launched(instance, backfill) == 2
    assert statuses(instance, backfill[:2]) == [DagsterRunStatus.SUCCESS] * 2  # really executed


def test_another_tenants_daily_run_is_not_held_behind_a_backfill(make_instance):
    instance = make_instance()
    running = queue(instance, "big", 2, status=DagsterRunStatus.STARTED, backfill="bf-big")
    backfill = queue(instance, "big", 110, backfill="bf-big")
    daily = queue(instance, "small", 1, extra=FRESH_TAGS)  # queued last, behind 110 runs
    dequeue_once(instance)
    assert statuses(instance, daily) == [DagsterRunStatus.SUCCESS]
    assert launched(instance, backfill) == 0  # "big" is at its limit of two
    assert statuses(instance, running) == [DagsterRunStatus.STARTED] * 2


@pytest.mark.parametrize("with_bulk_caps", [True, False])
def test_four_backfilling_tenants_leave_room_for_a_daily_run(make_instance, with_bulk_caps):
    """With only the per-tenant limit (and FIFO order), four tenants backfilling at two
    runs each fill all eight slots and a daily run waits for their queues to drain: the
    limit bit. The backfill cap in dagster.yaml keeps two slots for everything else, and
    the daily run's priority puts it first in line."""
    instance = make_instance(with_bulk_caps)
    for tenant in ("t1", "t2", "t3"):
        queue(instance, tenant, 2, status=DagsterRunStatus.STARTED, backfill=f"bf-{tenant}")
    queued = {t: queue(instance, t, 30, backfill=f"bf-{t}") for t in ("t1", "t2", "t3", "t4")}
    daily = queue(instance, "small", 1, extra=FRESH_TAGS if with_bulk_caps else None)
    dequeue_once(instance)
    if with_bulk_caps:
        assert statuses(instance, daily) == [DagsterRunStatus.SUCCESS]
        assert launched(instance, queued["t4"]) == 0
    else:
        assert statuses(instance, daily) == [DagsterRunStatus.QUEUED]
        assert launched(instance, queued["t4"]) == 2
    assert all(launched(instance, queued[t]) == 0 for t in ("t1", "t2", "t3"))


def test_fresh_runs_jump_the_queue_of_catch_up_runs(make_instance):
    from ga_intel.ga4.automation import CATCHUP_TAGS

    instance = make_instance()
    # A new tenant's history found by the export sensor: catch-up runs, capped and last in line.
    catchup = queue(instance, "new", 30, extra=CATCHUP_TAGS)
    fresh = [queue(instance, f"t{i}", 1, extra=FRESH_TAGS)[0] for i in range(8)]
    dequeue_once(instance)
    assert statuses(instance, fresh) == [DagsterRunStatus.SUCCESS] * 8  # all eight slots, in priority order
    assert launched(instance, catchup) == 0

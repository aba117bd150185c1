"""The larger-deployment instance config (deploy/dagster.production.yaml) loads against a
real PostgreSQL named by its parts, and keeps dagster.yaml's run-queue guarantees."""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import yaml

from ga_intel import settings

REPO = Path(__file__).resolve().parents[1]


def test_production_config_loads_on_postgres(platform_db, tmp_path, monkeypatch):
    url = settings.database_urls().dagster
    monkeypatch.setenv("DAGSTER_PG_HOST", url.host)
    monkeypatch.setenv("DAGSTER_PG_PORT", str(url.port))
    monkeypatch.setenv("DAGSTER_PG_USER", url.username)
    monkeypatch.setenv("DAGSTER_PG_PASSWORD", url.password or "")
    monkeypatch.setenv("DAGSTER_PG_DB", url.database)
    shutil.copy(REPO / "deploy" / "dagster.production.yaml", tmp_path / "dagster.yaml")
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
        assert instance.run_monitoring_enabled and instance.run_retries_enabled
        instance.get_runs(limit=1)  # the storage answers
        limits = instance.run_coordinator.get_run_queue_config().tag_concurrency_limits
        assert {"key": "dagster/partition/tenant", "value": {"applyLimitPerUniqueValue": True}, "limit": 2} in limits
        required = set(instance.get_required_daemon_types())
        assert {"QUEUED_RUN_COORDINATOR", "MONITORING", "SENSOR", "SCHEDULER", "BACKFILL"} <= required
        # The export sensor's shards tick side by side, not one after another.
        assert instance.get_settings("sensors") == {"use_threads": True, "num_workers": 4}

    # Same lanes as the development config: bulk work leaves a quarter of the slots free.
    dev = yaml.safe_load((REPO / "dagster.yaml").read_text())["run_coordinator"]["config"]
    prod = yaml.safe_load((REPO / "deploy" / "dagster.production.yaml").read_text())["run_coordinator"]["config"]
    assert {lim["key"] for lim in dev["tag_concurrency_limits"]} == {
        lim["key"] for lim in prod["tag_concurrency_limits"]
    }
    for cfg in (dev, prod):
        bulk = {
            lim["key"]: lim["limit"]
            for lim in cfg["tag_concurrency_limits"]
            if lim["key"] != "dagster/partition/tenant"
        }
        assert all(limit == cfg["max_concurrent_runs"] * 3 // 4 for limit in bulk.values())


def test_users_get_the_viewer_toolbar_and_make_dev_the_developer_one():
    """The repository's .streamlit/config.toml (read from the working directory Streamlit
    starts in) hides "Deploy" and the developer menu; `make dev` turns them back on."""
    import tomllib
    from pathlib import Path

    from ga_intel import devrun

    config = tomllib.loads((Path(devrun.REPO) / ".streamlit" / "config.toml").read_text())
    assert config["client"]["toolbarMode"] == "viewer"
    [streamlit] = [c for c in devrun.children(3000, 8501) if c.name == "streamlit"]
    flag = streamlit.argv.index("--client.toolbarMode")
    assert streamlit.argv[flag + 1] == "developer"
    assert devrun.REPO == Path(devrun.__file__).resolve().parents[1]  # the cwd children start in


def test_executor_is_dagster_default_unless_celery_is_asked_for(monkeypatch):
    import pytest

    from ga_intel.errors import GaIntelError
    from ga_intel.orchestration import executors

    monkeypatch.delenv(executors.EXECUTOR_ENV, raising=False)
    assert executors.executor() is None
    monkeypatch.setenv(executors.EXECUTOR_ENV, "celery")
    monkeypatch.setenv("GA_INTEL_CELERY_BROKER", "redis://127.0.0.1:6379/0")
    monkeypatch.setenv("GA_INTEL_CELERY_BACKEND", "redis://127.0.0.1:6379/0")
    assert executors.executor().name == "celery"
    job = executors.ga4_job()
    assert job.executor_def.name == "celery"
    # The shipped YAML is valid executor config (the workers' CLI validates the same way).
    from dagster_celery.cli import get_validated_config

    config = get_validated_config(str(REPO / "deploy" / "celery" / "celery.yaml"))
    assert config["broker"] == "redis://127.0.0.1:6379/0"
    assert config["config_source"]["worker_prefetch_multiplier"] == 1
    monkeypatch.setenv(executors.EXECUTOR_ENV, "ray")
    with pytest.raises(GaIntelError, match="GA_INTEL_EXECUTOR"):
        executors.executor()
    monkeypatch.setenv(executors.EXECUTOR_ENV, "celery")
    monkeypatch.setenv(executors.CELERY_CONFIG_ENV, "/nonexistent/celery.yaml")
    with pytest.raises(GaIntelError, match="does not exist"):
        executors.executor()

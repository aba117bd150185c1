"""The Dagster code location: it loads, its shape is what we expect, and the instance
config in dagster.yaml works against real PostgreSQL storage."""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import pytest
import yaml

from ga_intel.orchestration import tenant_sync
from ga_intel.orchestration.partitions import TENANT_RUN_TAG
from ga_intel.tenancy import store, tenant_file
from ga_intel_tests.conftest import tenant_data

REPO = Path(__file__).resolve().parents[1]


def test_definitions_snapshot():
    from ga_intel.definitions import defs

    repo = defs.get_repository_def()
    snapshot = {
        "assets": sorted(k.to_user_string() for k in repo.asset_graph.get_all_asset_keys()),
        "checks": sorted(f"{k.asset_key.to_user_string()}:{k.name}" for k in repo.asset_graph.asset_check_keys),
        "jobs": sorted(j.name for j in repo.get_all_jobs() if not j.name.startswith("__")),
        "sensors": sorted(s.name for s in repo.sensor_defs),
        "schedules": sorted(s.name for s in repo.schedule_defs),
        "resources": sorted(repo.get_top_level_resources()),
    }
    assert snapshot == {
        "assets": [
            "bounced_pages_daily",
            "cart_adds",
            "daily_metrics",
            "data_availability",
            "email_reports",
            "item_views",
            "location_daily_metrics",
            "locations",
            "page_views",
            "purchase_items",
            "purchases",
            "refunds",
            "sales_reps",
            "search_terms_daily",
            "searches",
            "sessions",
            "tasks",
            "unsessioned_events",
            "users",
        ],
        "checks": [
            "data_availability:bad_values_nulled",
            "data_availability:daily_table_present",
            "data_availability:row_counts_match",
            "email_reports:reports_delivered",
            "location_daily_metrics:metrics_reconcile",
            "purchases:no_duplicate_transaction_ids",
            "tasks:task_customers_known",
            "tasks:task_keys_unique",
            "unsessioned_events:cookieless_share",
            "users:customers_have_a_rep",
        ],
        "jobs": ["email_job", "ga4_job", "master_data_job"],
        "sensors": [
            "email_ready_sensor",
            *(f"ga4_export_sensor_{i}_of_8" for i in range(1, 9)),  # GA_INTEL_EXPORT_SENSOR_SHARDS unset: 8
            "tenant_failure_alerts",
            "tenant_sync_sensor",
        ],
        "schedules": ["email_daily_schedule", "ga4_daily_refresh", "master_data_hourly"],
        "resources": ["bigquery", "master_data", "smtp", "tenant_settings", "warehouse"],
    }


def test_resources_carry_no_secret_config():
    from ga_intel.orchestration.resources import build_resources

    for name, resource in build_resources().items():
        fields = set(type(resource).model_fields) - {"tenant_settings"}
        assert not fields, f"resource {name} has config fields {fields}: secrets must come from the store"


def test_workspace_points_at_the_definitions():
    workspace = yaml.safe_load((REPO / "workspace.yaml").read_text())
    module = workspace["load_from"][0]["python_module"]
    assert module["module_name"] == "ga_intel.definitions" and module["attribute"] == "defs"


def test_plan_adds_and_deletes():
    assert tenant_sync.plan(["a", "b"], ["b", "c"]) == (["a"], ["c"])
    assert tenant_sync.plan([], []) == ([], [])


@pytest.fixture
def instance(platform_db, tmp_path, monkeypatch):
    """A Dagster instance built from the repository's dagster.yaml on real PostgreSQL."""
    from ga_intel import settings

    monkeypatch.setenv(
        "GA_INTEL_DAGSTER_STORAGE_URL", settings.database_urls().dagster.render_as_string(hide_password=False)
    )
    shutil.copy(REPO / "dagster.yaml", tmp_path / "dagster.yaml")
    with dg.DagsterInstance.from_config(str(tmp_path)) as inst:
        for key in inst.get_dynamic_partitions("tenant"):
            inst.delete_dynamic_partition("tenant", key)
        yield inst


def test_instance_config_uses_postgres_and_per_tenant_limits(instance):
    assert type(instance.run_storage).__name__ == "PostgresRunStorage"
    coordinator = instance.run_coordinator
    assert type(coordinator).__name__ == "QueuedRunCoordinator"
    limits = coordinator.get_run_queue_config().tag_concurrency_limits
    assert {"key": TENANT_RUN_TAG, "value": {"applyLimitPerUniqueValue": True}, "limit": 2} in limits


def test_tenant_sync_sensor_follows_the_control_plane(db, secret_key, instance):
    def tick():
        result = tenant_sync.tenant_sync_sensor(dg.build_sensor_context(instance=instance))
        if isinstance(result, dg.SensorResult):
            for request in result.dynamic_partitions_requests or []:
                if isinstance(request, dg.AddDynamicPartitionsRequest):
                    instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
                else:
                    for key in request.partition_keys:
                        instance.delete_dynamic_partition(request.partitions_def_name, key)
        return result

    for t in ("acme", "beta"):
        store.add(tenant_file.validate(tenant_data(t), "test"))
    tick()
    assert sorted(instance.get_dynamic_partitions("tenant")) == ["acme", "beta"]
    assert isinstance(tick(), dg.SkipReason)  # in sync: nothing to do

    store.remove("acme")
    store.add(tenant_file.validate(tenant_data("gamma"), "test"))
    tick()
    assert sorted(instance.get_dynamic_partitions("tenant")) == ["beta", "gamma"]

"""Step retries: transient BigQuery/SFTP failures are re-run by the assets' RetryPolicy
(bounded, exponential backoff with jitter); permanent ones fail at once. Against the
real sshd and a BigQuery endpoint where nothing listens."""

from __future__ import annotations

import dagster as dg

from ga_intel import ports
from ga_intel.errors import ServiceError
from ga_intel.ga4.assets import ga4_day
from ga_intel.masterdata.assets import master_data
from ga_intel.orchestration.resources import build_resources
from ga_intel.orchestration.retries import TRANSIENT_RETRY_POLICY, is_transient
from ga_intel.orchestration.run import failure_messages
from ga_intel.tenancy import store, tenant_file
from ga_intel_tests.conftest import tenant_data
from ga_intel_tests.helpers.masterdata import add_sftp_tenant, materialize


def retries_of(result) -> int:
    return sum(1 for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_UP_FOR_RETRY)


def test_policy_is_bounded_with_backoff_and_jitter():
    for asset in (ga4_day, master_data):
        assert asset.op.retry_policy == TRANSIENT_RETRY_POLICY
    assert TRANSIENT_RETRY_POLICY.max_retries == 3
    assert TRANSIENT_RETRY_POLICY.backoff == dg.Backoff.EXPONENTIAL
    assert TRANSIENT_RETRY_POLICY.jitter == dg.Jitter.PLUS_MINUS
    assert is_transient(ServiceError("sftp", "refused", transient=True))
    assert not is_transient(ServiceError("sftp", "authentication failed"))
    assert is_transient(ConnectionResetError()) and not is_transient(ValueError())


def test_sftp_refused_is_retried_by_the_step_then_fails(db, secret_key, drop, monkeypatch):
    monkeypatch.setattr("ga_intel.masterdata.load.BACKOFF_SECONDS", 0.1)
    add_sftp_tenant(drop, port=ports.free_port())  # nothing listens: refused, transient
    result = materialize("acme")
    assert not result.success
    assert retries_of(result) == TRANSIENT_RETRY_POLICY.max_retries
    assert any("cannot connect" in m for m in failure_messages(result))


def test_wrong_sftp_password_is_not_retried(db, secret_key, drop):
    add_sftp_tenant(drop, password="wrong-password-2")
    result = materialize("acme")
    assert not result.success and retries_of(result) == 0
    assert any("authentication failed" in m for m in failure_messages(result))


def test_unreachable_bigquery_is_retried_and_recorded(db, secret_key, monkeypatch):
    import sqlalchemy as sa

    from ga_intel.db import tenant_scope

    monkeypatch.setattr("ga_intel.ga4.ingest.BQ_TIMEOUT_SECONDS", 1)
    endpoint = f"http://127.0.0.1:{ports.free_port()}"
    store.add(
        tenant_file.validate(
            tenant_data("flaky", bigquery={"project_id": "test-project", "dataset_id": "d", "api_endpoint": endpoint}),
            "test",
        )
    )
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("tenant", ["flaky"])
        result = dg.materialize(
            [ga4_day],
            instance=instance,
            resources=build_resources(),
            raise_on_error=False,
            partition_key=dg.MultiPartitionKey({"tenant": "flaky", "date": "2024-03-01"}),
        )
    assert not result.success
    assert retries_of(result) == TRANSIENT_RETRY_POLICY.max_retries
    assert any(f"cannot reach {endpoint}" in m for m in failure_messages(result))
    with tenant_scope("flaky") as conn:
        status = conn.execute(sa.text("SELECT status FROM tenant_data.data_availability WHERE tenant_id = 'flaky'"))
        assert status.scalar() == "failed"


def test_missing_dataset_is_not_retried(db, secret_key, bigquery_emulator):
    store.add(
        tenant_file.validate(
            tenant_data(
                "nods",
                bigquery={
                    "project_id": bigquery_emulator.project,
                    "dataset_id": "no_such_dataset",
                    "api_endpoint": bigquery_emulator.endpoint,
                },
            ),
            "test",
        )
    )
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("tenant", ["nods"])
        result = dg.materialize(
            [ga4_day],
            instance=instance,
            resources=build_resources(),
            raise_on_error=False,
            partition_key=dg.MultiPartitionKey({"tenant": "nods", "date": "2024-03-01"}),
        )
    assert not result.success and retries_of(result) == 0
    assert any("not found" in m for m in failure_messages(result))

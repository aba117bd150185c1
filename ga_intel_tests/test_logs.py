"""Structured logs: JSON lines under $GA_INTEL_HOME/logs with tenant and partition, from
our own code and from Dagster runs (through dagster.yaml), and never a secret."""

from __future__ import annotations

import json
import logging
import shutil
import uuid
from pathlib import Path

import dagster as dg
import pytest
from pydantic import SecretStr

from ga_intel import logs, settings
from ga_intel.tenancy import store, tenant_file
from ga_intel_tests.conftest import SA_PRIVATE_KEY_MARKER, SMTP_PASSWORD, drop_folder, tenant_data

REPO = Path(__file__).resolve().parents[1]


def log_lines() -> list[dict]:
    path = settings.home() / "logs" / logs.LOG_FILE
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def raw_log() -> str:
    return (settings.home() / "logs" / logs.LOG_FILE).read_text()


def test_lines_carry_context_and_never_a_secret(db, secret_key, tmp_path):
    store.add(tenant_file.validate(tenant_data("acme", folder=str(tmp_path)), "test"))
    logs.forget_secrets()
    config = store.get("acme")  # decrypting alone registers every secret of the tenant
    log = logs.setup("test").getChild("probe")
    probe = uuid.uuid4().hex
    with logs.log_context(tenant="acme", partition="2024-03-01|acme"):
        log.info("%s smtp login with %s", probe, SMTP_PASSWORD)
        log.info("%s settings %s / %r", probe, config.smtp.password, config.smtp.password)
        log.info("%s raw service account %s", probe, config.bigquery.service_account.get_secret_value())
        log.warning("%s key %s and url postgresql://ga:hunter2hunter2@db.example/x", probe, secret_key)
        log.info("%s a SecretStr %s", probe, SecretStr("not-registered-anywhere"))
        try:
            raise RuntimeError(f"server said: bad password {SMTP_PASSWORD}")
        except RuntimeError:
            log.exception("%s failed", probe)
    log.info("%s outside any context", probe)

    text = raw_log()
    for secret in (SMTP_PASSWORD, SA_PRIVATE_KEY_MARKER, secret_key, "hunter2hunter2", "not-registered-anywhere"):
        assert secret not in text
    mine = [line for line in log_lines() if probe in line["message"]]
    assert len(mine) == 7
    inside, outside = mine[:6], mine[6]
    assert all(line["tenant"] == "acme" and line["partition"] == "2024-03-01|acme" for line in inside)
    assert "tenant" not in outside and "partition" not in outside
    assert all(line["component"] == "test" and line["logger"] == "ga_intel.probe" for line in mine)
    assert "smtp login with ***" in inside[0]["message"]
    assert inside[2]["message"].endswith("raw service account ***")  # the whole registered JSON
    assert "postgresql://ga:***@db.example/x" in inside[3]["message"]
    assert inside[5]["level"] == "ERROR" and "RuntimeError: server said: bad password ***" in inside[5]["exc"]


def test_redact_patterns_without_registration():
    assert logs.redact("password=abc123 token: 'xyz789'") == "password=*** token: '***'"
    assert (
        logs.redact('{"private_key": "-----BEGIN PRIVATE KEY-----\\nMIIE\\n-----END PRIVATE KEY-----\\n"}').count(
            "MIIE"
        )
        == 0
    )


@pytest.fixture
def pg_instance(platform_db, tmp_path, monkeypatch):
    """A Dagster instance from the repository's dagster.yaml on real PostgreSQL."""
    monkeypatch.setenv(
        "GA_INTEL_DAGSTER_STORAGE_URL", settings.database_urls().dagster.render_as_string(hide_password=False)
    )
    shutil.copy(REPO / "dagster.yaml", tmp_path / "dagster.yaml")
    with dg.DagsterInstance.from_config(str(tmp_path)) as inst:
        yield inst


def test_dagster_run_logs_carry_tenant_and_partition(db, secret_key, tmp_path, pg_instance):
    from ga_intel.masterdata.assets import master_data
    from ga_intel.orchestration.resources import build_resources
    from ga_intel_tests.helpers.masterdata import LOC_HEADER, LOCS, USER_HEADER, USERS, xlsx

    drop = drop_folder("logs-t")
    (drop / "UserReport.xlsx").write_bytes(xlsx(USER_HEADER, USERS))
    (drop / "Locations_List.xlsx").write_bytes(xlsx(LOC_HEADER, LOCS))
    store.add(tenant_file.validate(tenant_data("logs-t", folder=str(drop)), "test"))
    if "logs-t" not in pg_instance.get_dynamic_partitions("tenant"):
        pg_instance.add_dynamic_partitions("tenant", ["logs-t"])
    result = dg.materialize(
        [master_data], instance=pg_instance, resources=build_resources(), partition_key="logs-t", raise_on_error=False
    )
    assert result.success
    for handler in logging.getLogger().handlers:
        handler.flush()
    lines = [line for line in log_lines() if line.get("run_id") == result.run_id]
    assert len(lines) >= 5, lines
    assert all(line["tenant"] == "logs-t" and line["partition"] == "logs-t" for line in lines)
    events = {line.get("event") for line in lines}
    assert {"STEP_START", "ASSET_MATERIALIZATION", "STEP_SUCCESS"} <= events
    assert SMTP_PASSWORD not in raw_log()

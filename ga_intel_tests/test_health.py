"""`ga-intel health` against real servers: the test PostgreSQL (platform and Dagster
storage), a real Dagster webserver app and a real `streamlit run` on loopback ports, the
daemon's heartbeats in the real instance storage, and ports where nothing listens."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import dagster as dg
import pytest
from click.testing import CliRunner

from ga_intel import health, ports, settings
from ga_intel.cli import main
from ga_intel.tenancy import store, tenant_file
from ga_intel_tests.conftest import drop_folder, tenant_data

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def dagster_home(platform_db, tmp_path, monkeypatch):
    """DAGSTER_HOME with the repository's dagster.yaml on the test PostgreSQL."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(REPO / "dagster.yaml", home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setenv(
        "GA_INTEL_DAGSTER_STORAGE_URL", settings.database_urls().dagster.render_as_string(hide_password=False)
    )
    with dg.DagsterInstance.get() as instance:
        instance.wipe_daemon_heartbeats()
        yield instance


def beat(instance, age_seconds: float = 0) -> None:
    """What a running `dagster-daemon` writes every 30 s, one heartbeat per daemon."""
    from dagster._daemon.types import DaemonHeartbeat

    for daemon_type in instance.get_required_daemon_types():
        instance.add_daemon_heartbeat(DaemonHeartbeat(time.time() - age_seconds, daemon_type, "test-daemon", []))


def invoke(*args: str) -> tuple[int, dict]:
    result = CliRunner().invoke(main, ["health", "--json", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, json.loads(result.output)


def by_name(report: dict) -> dict[str, dict]:
    return {c["name"]: c for c in report["components"]}


def test_unreachable_webserver_and_dashboard_fail_with_a_fix(db, dagster_home):
    beat(dagster_home)
    dead = ports.free_port()
    code, report = invoke(
        "--dagster-url", f"http://127.0.0.1:{dead}", "--streamlit-url", f"http://127.0.0.1:{ports.free_port()}"
    )
    assert code == 1 and not report["healthy"]
    components = by_name(report)
    assert components["platform-db"]["ok"] and "schema at" in components["platform-db"]["detail"]
    assert components["dagster-storage"]["ok"]
    assert components["dagster-daemon"]["ok"]
    web = components["dagster-webserver"]
    assert not web["ok"] and f"127.0.0.1:{dead}" in web["detail"] and "dagster-webserver" in web["fix"]
    assert report["unhealthy"] == ["dagster-webserver", "streamlit"]


def test_text_output_names_the_component_and_the_fix(db, dagster_home):
    beat(dagster_home)
    result = CliRunner().invoke(
        main, ["health", "--dagster-url", f"http://127.0.0.1:{ports.free_port()}", "--skip", "streamlit"]
    )
    assert result.exit_code == 1
    assert "FAIL dagster-webserver" in result.output and "fix: start it" in result.output
    assert result.output.rstrip().endswith("unhealthy: dagster-webserver")


def test_daemon_heartbeats(db, dagster_home):
    missing = health.check_daemon(dagster_home)
    assert not missing.ok and "no heartbeat" in missing.detail and "dagster-daemon run" in missing.fix
    beat(dagster_home, age_seconds=600)
    stale = health.check_daemon(dagster_home)
    assert not stale.ok and "last heartbeat" in stale.detail
    beat(dagster_home)
    assert health.check_daemon(dagster_home).ok


def test_all_healthy_with_real_servers(db, dagster_home, tmp_path):
    from ga_intel.devservices.dagster_ui import serve
    from ga_intel_tests.servers.dashboard import streamlit_server

    beat(dagster_home)
    (tmp_path / "streamlit").mkdir()
    with serve(dagster_home) as dagster_url, streamlit_server(tmp_path / "streamlit") as streamlit_url:
        code, report = invoke("--dagster-url", dagster_url, "--streamlit-url", streamlit_url)
    assert code == 0 and report["healthy"], report
    assert "dagster-webserver 1." in by_name(report)["dagster-webserver"]["detail"]
    assert by_name(report)["streamlit"]["detail"].endswith("answers 'ok'")


def test_schema_behind_is_unhealthy(db, dagster_home):
    import sqlalchemy as sa

    from ga_intel.db.engine import owner_engine

    with owner_engine().begin() as conn:  # the schema revision is the owner's to change
        head = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '0001'"))
    try:
        result = health.check_platform_db()
    finally:
        with owner_engine().begin() as conn:
            conn.execute(sa.text("UPDATE alembic_version SET version_num = :h"), {"h": head})
    assert not result.ok and "revision 0001" in result.detail and "ga-intel db upgrade" in result.fix


def test_tenant_connectors(db, secret_key, dagster_home, tmp_path):
    beat(dagster_home)
    drop_folder("acme")
    store.add(tenant_file.validate(tenant_data("acme"), "test"))
    code, report = invoke("--tenants", "--skip", "dagster-webserver", "--skip", "streamlit")
    assert code == 1
    components = by_name(report)
    # Nothing serves the tenant's BigQuery project or SMTP port 2525; the folder exists
    # but holds no master-data files: each is named, with a fix.
    assert not components["tenant acme: bigquery"]["ok"]
    assert not components["tenant acme: smtp"]["ok"]
    assert not components["tenant acme: folder"]["ok"] and "missing" in components["tenant acme: folder"]["detail"]
    assert report["unhealthy"] == ["tenant acme: bigquery", "tenant acme: folder", "tenant acme: smtp"]
    assert all("ga-intel tenant check acme" in components[n]["fix"] for n in report["unhealthy"])
    assert components["platform-db"]["ok"]

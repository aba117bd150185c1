"""Run-failure alerts: a real failed run (master data with no files to read) in a
Dagster instance, the real `tenant_failure_alerts` sensor through
`build_run_status_sensor_context`, the real SMTP server and the tenant tables."""

from __future__ import annotations

import dagster as dg
import pytest
import sqlalchemy as sa

from ga_intel.db import tenant_scope
from ga_intel.masterdata.assets import master_data
from ga_intel.orchestration.alerts import failure_type, tenant_failure_alerts
from ga_intel.orchestration.resources import build_resources
from ga_intel.tenancy import store, tenant_file
from ga_intel_tests.conftest import drop_folder
from ga_intel_tests.helpers.email import shop_data


@pytest.fixture
def broken_shop(db, secret_key, smtp_sink, tmp_path):
    data = shop_data(smtp_sink)
    drop_folder("shop")  # empty: no master-data files, every run fails
    store.add(tenant_file.validate(data, "test"))
    return smtp_sink


def fail_once(instance) -> dg.RunFailureSensorContext:
    result = dg.materialize(
        [master_data], instance=instance, resources=build_resources(), partition_key="shop", raise_on_error=False
    )
    assert not result.success
    return dg.build_run_status_sensor_context(
        sensor_name="tenant_failure_alerts",
        dagster_instance=instance,
        dagster_run=result.dagster_run,
        dagster_event=result.get_run_failure_event(),
    ).for_run_failure()


def failures():
    with tenant_scope("shop") as c:
        return [
            dict(r)
            for r in c.execute(sa.text("SELECT * FROM tenant_data.pipeline_failures ORDER BY failed_at")).mappings()
        ]


def test_a_failure_is_recorded_and_alerted_once_per_type_per_day(broken_shop):
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("tenant", ["shop"])
        first = fail_once(instance)
        tenant_failure_alerts(first)
        tenant_failure_alerts(first)  # the sensor retried for the same run
        tenant_failure_alerts(fail_once(instance))  # the same failure again, the same day

    rows = failures()
    assert len(rows) == 2 and {r["failure_type"] for r in rows} == {"__ephemeral_asset_job__/folder"}
    assert "UserReport.xlsx" in rows[0]["message"]
    [alert] = broken_shop.messages
    assert alert.rcpt_tos == ["admin@shop.example"]  # the admin, not the managers
    message = alert.message()
    assert "failed (folder)" in message["Subject"] and "Shop Supply" in message["Subject"]
    body = message.get_body(("plain",)).get_content()
    assert "UserReport.xlsx" in body and "Partition:  shop" in body
    assert broken_shop.password not in alert.data.decode(errors="replace")
    with tenant_scope("shop") as c:
        [(status, recipients)] = c.execute(sa.text("SELECT status, recipients FROM tenant_data.pipeline_alerts")).all()
    assert status == "sent" and recipients == ["admin@shop.example"]


def test_runs_that_are_no_tenants_are_ignored(broken_shop):
    @dg.asset
    def boom():
        raise RuntimeError("not a tenant's run")

    with dg.instance_for_test() as instance:
        result = dg.materialize([boom], instance=instance, raise_on_error=False)
        context = dg.build_run_status_sensor_context(
            sensor_name="tenant_failure_alerts",
            dagster_instance=instance,
            dagster_run=result.dagster_run,
            dagster_event=result.get_run_failure_event(),
        ).for_run_failure()
        tenant_failure_alerts(context)
    assert not broken_shop.messages and not failures()


def test_failure_types_name_the_service():
    assert failure_type("ga4_job", "ServiceError", "bigquery: 403 Access Denied") == "ga4_job/bigquery"
    assert failure_type("ga4_job", "KeyError", "'x'") == "ga4_job/KeyError"


def test_the_data_page_lists_the_failures(broken_shop, monkeypatch):
    import datetime as dt
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    from ga_intel_tests.helpers.pages import rendered
    from streamlit_app.lib import data

    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("tenant", ["shop"])
        tenant_failure_alerts(fail_once(instance))
    data.clear_cache()
    monkeypatch.setenv("GA_INTEL_DEV_LOGIN", "1")
    monkeypatch.setenv("GA_INTEL_DEV_USER", "admin@shop.example")
    at = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "streamlit_app" / "app.py"), default_timeout=60)
    today = dt.date.today()
    at.session_state["date_range"] = (today - dt.timedelta(days=1), today)
    at.run()
    at.switch_page("views/data.py").run()
    assert not at.exception, at.exception
    page = rendered(at)
    assert "UserReport.xlsx not found" in page and "__ephemeral_asset_job__/folder" in page
    data.clear_cache()

"""When GA4 days load: the refresh schedule's lookback and the export sensor."""

from __future__ import annotations

import datetime as dt
import json

import dagster as dg
from click.testing import CliRunner

from ga_intel.demo import generator
from ga_intel.ga4 import automation, load
from ga_intel.ga4.automation import changed_tables, refresh_requests
from ga_intel.tenancy import store, tenant_file
from ga_intel_tests.conftest import tenant_data


def test_refresh_covers_yesterday_and_three_restated_days_in_local_time():
    # 09:30 UTC is 04:30 in Chicago (CDT; before the refresh hour) and 10:30 in Berlin.
    now = dt.datetime(2024, 3, 10, 9, 30, tzinfo=dt.UTC)
    requests = refresh_requests([("chi", "America/Chicago"), ("ber", "Europe/Berlin")], now)
    keys = [(r.partition_key.keys_by_dimension["tenant"], r.partition_key.keys_by_dimension["date"]) for r in requests]
    assert keys == [("ber", "2024-03-09"), ("ber", "2024-03-08"), ("ber", "2024-03-07"), ("ber", "2024-03-06")]
    # A later tick the same local day asks for the same runs: same run keys, so nothing twice.
    later = refresh_requests([("ber", "Europe/Berlin")], now + dt.timedelta(hours=5))
    assert [r.run_key for r in later] == [r.run_key for r in requests]


def test_refresh_uses_the_local_date_across_midnight():
    # 02:00 UTC on the 10th is still the 9th in Los Angeles (18:00).
    now = dt.datetime(2024, 3, 10, 2, 0, tzinfo=dt.UTC)
    [first, *_] = refresh_requests([("la", "America/Los_Angeles")], now)
    assert first.partition_key.keys_by_dimension["date"] == "2024-03-08"


def test_changed_tables():
    assert changed_tables({"20240101": "a"}, {"20240101": "a", "20240102": "b"}) == ["20240102"]
    assert changed_tables({"20240101": "a"}, {"20240101": "a2"}) == ["20240101"]
    assert changed_tables({"20240101": "a"}, {"20240101": "a"}) == []


def test_export_sensor_requests_new_and_changed_tables_once(db, secret_key, bigquery_emulator, tmp_path):
    from ga_intel.connectors.bigquery import client as bq_client

    data = tenant_data(
        "sensed",
        bigquery={"project_id": "test-project", "dataset_id": "sensed", "api_endpoint": bigquery_emulator.endpoint},
    )
    config = tenant_file.validate(data, "test")
    store.add(config)
    client = bq_client(config.bigquery)
    generator.write_days(tmp_path, dt.date(2024, 3, 4), 2, 50, progress=None)
    load.load_folder(client, "test-project.sensed", tmp_path, progress=lambda m: None)

    sensor = automation.export_sensor(0, 1)  # one shard: every tenant
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("tenant", ["sensed"])
        context = dg.build_sensor_context(instance=instance)
        first = sensor(context)
        dates = sorted(r.partition_key.keys_by_dimension["date"] for r in first)
        assert dates == ["2024-03-04", "2024-03-05"]
        cursor = context.cursor
        # Past the restatement window: known by name, stored as a range.
        assert json.loads(cursor)["tenants"]["sensed"] == {"days": {}, "older": ["20240304-20240305"]}

        again = sensor(dg.build_sensor_context(instance=instance, cursor=cursor))
        assert isinstance(again, dg.SkipReason)

        generator.write_days(tmp_path, dt.date(2024, 3, 6), 1, 50, progress=None)
        load.load_folder(client, "test-project.sensed", tmp_path, progress=lambda m: None)
        third = sensor(dg.build_sensor_context(instance=instance, cursor=cursor))
        # Only the new day: the old tables are past GA4's restatement window, so unchanged by name.
        assert [r.partition_key.keys_by_dimension["date"] for r in third] == ["2024-03-06"]


def test_ga4_load_command(bigquery_emulator, tmp_path):
    from ga_intel.cli import main

    generator.write_days(tmp_path, dt.date(2024, 3, 4), 1, 40, progress=None)
    result = CliRunner().invoke(
        main,
        [
            "ga4",
            "load",
            str(tmp_path),
            "--project",
            "test-project",
            "--dataset",
            "cli_load",
            "--endpoint",
            bigquery_emulator.endpoint,
        ],
    )
    assert result.exit_code == 0, result.output
    assert "[1/1] events_20240304" in result.output and "into 1 daily table(s)" in result.output
    empty = tmp_path / "empty"
    empty.mkdir()
    result = CliRunner().invoke(
        main,
        [
            "ga4",
            "load",
            str(empty),
            "--project",
            "test-project",
            "--dataset",
            "d",
            "--endpoint",
            bigquery_emulator.endpoint,
        ],
    )
    assert result.exit_code == 2 and "holds no events_YYYYMMDD.ndjson files" in result.output
    bad = CliRunner().invoke(
        main, ["ga4", "load", str(empty), "--project", "p", "--dataset", "d", "--endpoint", bigquery_emulator.endpoint]
    )
    assert bad.exit_code == 2 and "--project: not a GCP project id" in bad.output, bad.output


def test_intraday_requests_today_hourly_only_for_tenants_that_opted_in():
    from ga_intel.ga4.automation import intraday_requests
    from ga_intel.tenancy import tenant_file
    from ga_intel_tests.conftest import tenant_data

    opted = tenant_file.validate(tenant_data("intra", ga4={"load_intraday": True}), "test")
    plain = tenant_file.validate(tenant_data("plain"), "test")
    now = dt.datetime(2024, 3, 5, 3, 30, tzinfo=dt.UTC)  # 21:30 on Mar 4 in Chicago
    [request] = intraday_requests([opted, plain], now)
    assert request.partition_key == dg.MultiPartitionKey({"tenant": "intra", "date": "2024-03-04"})
    assert request.run_key == "ga4-intraday:intra:2024-03-04:21"

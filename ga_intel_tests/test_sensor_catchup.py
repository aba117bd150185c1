"""The export sensor at scale: a new tenant's history is requested a slice per tick, as
catch-up runs (capped and behind fresh runs in the queue), without a get_table call per
old day. Against the BigQuery emulator."""

from __future__ import annotations

import datetime as dt
import json

import dagster as dg

from ga_intel.ga4 import automation
from ga_intel.tenancy import store, tenant_file
from ga_intel_tests.conftest import tenant_data


def test_history_is_requested_a_slice_per_tick(db, secret_key, bigquery_emulator, monkeypatch):
    from google.cloud import bigquery

    from ga_intel.connectors.bigquery import client as bq_client

    monkeypatch.setattr(automation, "MAX_CATCHUP_PER_TENANT_TICK", 5)
    config = tenant_file.validate(
        tenant_data(
            "history",
            bigquery={
                "project_id": "test-project",
                "dataset_id": "history",
                "api_endpoint": bigquery_emulator.endpoint,
            },
        ),
        "test",
    )
    store.add(config)
    client = bq_client(config.bigquery)
    client.create_dataset("test-project.history", exists_ok=True)
    days = [dt.date(2024, 3, 1) + dt.timedelta(days=i) for i in range(12)]
    for day in days:
        client.create_table(
            bigquery.Table(
                f"test-project.history.events_{day:%Y%m%d}", schema=[bigquery.SchemaField("event_name", "STRING")]
            ),
            exists_ok=True,
        )

    requested, cursor = [], None
    sensor = automation.export_sensor(0, 1)  # one shard: every tenant
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("tenant", ["history"])
        for _ in range(4):
            context = dg.build_sensor_context(instance=instance, cursor=cursor)
            result = sensor(context)
            cursor = context.cursor
            requested.append([] if isinstance(result, dg.SkipReason) else result)
    slices = [[r.partition_key.keys_by_dimension["date"] for r in tick] for tick in requested]
    assert [len(s) for s in slices] == [5, 5, 2, 0]
    assert slices[0][0] == "2024-03-12"  # newest history first
    assert sorted(sum(slices, [])) == [d.isoformat() for d in days]  # each day exactly once
    assert all(
        r.tags["ga_intel/catchup"] == "true" and r.tags["dagster/priority"] == "-1" for tick in requested for r in tick
    )
    assert json.loads(cursor)["tenants"]["history"] == {"days": {}, "older": ["20240301-20240312"]}

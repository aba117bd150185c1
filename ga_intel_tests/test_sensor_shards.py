"""The export sensor split into shards: each tenant in exactly one shard, stable across
processes; the shards together request what the single sensor requests; each keeps its
own cursor; a shard out of time defers the rest and resumes; a first tick under a new
name continues from the old sensor's cursor. Against the BigQuery emulator."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys

import dagster as dg
import pytest

from ga_intel import settings
from ga_intel.errors import GaIntelError
from ga_intel.ga4 import automation, sensor_shards
from ga_intel.tenancy import store, tenant_file
from ga_intel_tests.conftest import tenant_data

TENANTS = [f"shard-{i:02d}" for i in range(8)]
SHARDS = 3


def test_every_tenant_is_in_exactly_one_shard_stable_across_processes():
    ids = [f"tenant-{i:04d}" for i in range(1000)]
    here = [sensor_shards.shard_of(t, 4) for t in ids]
    assert set(here) == {0, 1, 2, 3}
    # crc32, not Python's per-process salted hash(): another interpreter agrees.
    code = f"from ga_intel.ga4 import sensor_shards; print([sensor_shards.shard_of(t, 4) for t in {ids!r}])"
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(other.stdout) == here
    # Even enough that a shard's tick is about 1/n of the work.
    assert all(200 <= here.count(s) <= 300 for s in range(4))
    assert [sensor_shards.shard_name(i, 4) for i in range(4)][::3] == [
        "ga4_export_sensor_1_of_4",
        "ga4_export_sensor_4_of_4",
    ]


def test_older_days_are_stored_as_ranges_and_read_back():
    current = {"20240101": "listed", "20240102": "2024-01-03T01:00:00", "20240103": "listed", "20240105": "listed"}
    current |= {"20240110": "2024-01-10T05:00:00", "20240111": "2024-01-11T05:00:00"}
    entry = sensor_shards.compact_days(current, recent_from="20240110")
    assert entry == {
        "days": {"20240110": "2024-01-10T05:00:00", "20240111": "2024-01-11T05:00:00"},
        "older": ["20240101-20240103", "20240105"],
    }
    # A day leaving the window keeps its modified time for that tick (the sensor takes an
    # older day's value from what it had seen), then is stored as a range and read back
    # as "listed": unchanged both times, so never re-run for ageing.
    seen = sensor_shards.expand_days(entry)
    aged = {d: (v if d >= "20240111" else seen.get(d, sensor_shards.LISTED)) for d, v in seen.items()}
    assert automation.changed_tables(seen, aged) == []
    seen = sensor_shards.expand_days(sensor_shards.compact_days(aged, recent_from="20240111"))
    assert seen["20240110"] == seen["20240102"] == "listed"
    assert automation.changed_tables(seen, {d: seen.get(d, sensor_shards.LISTED) for d in aged}) == []
    assert sensor_shards.expand_days({"20240101": "x"}) == {"20240101": "x"}
    assert sensor_shards.expand_days(None) == {}
    # Two years are a few bytes.
    two_years = {f"{dt.date(2023, 1, 1) + dt.timedelta(days=i):%Y%m%d}": "listed" for i in range(730)}
    assert sensor_shards.compact_days(two_years, "20250101")["older"] == ["20230101-20241230"]


def test_shard_settings_come_from_the_environment(monkeypatch):
    monkeypatch.delenv(settings.EXPORT_SENSOR_SHARDS, raising=False)
    assert settings.export_sensor_shards() == settings.DEFAULT_EXPORT_SENSOR_SHARDS
    monkeypatch.setenv(settings.EXPORT_SENSOR_SHARDS, "3")
    assert settings.export_sensor_shards() == 3
    assert [s.name for s in automation.export_sensors(3)] == [f"ga4_export_sensor_{i}_of_3" for i in (1, 2, 3)]
    for bad in ("0", "four", "-2"):
        monkeypatch.setenv(settings.EXPORT_SENSOR_SHARDS, bad)
        with pytest.raises(GaIntelError, match="GA_INTEL_EXPORT_SENSOR_SHARDS"):
            settings.export_sensor_shards()
    monkeypatch.setenv(settings.EXPORT_SENSOR_TICK_BUDGET, "2.5")
    assert settings.export_sensor_tick_budget_s() == 2.5
    monkeypatch.setenv(settings.EXPORT_SENSOR_TICK_BUDGET, "90")
    with pytest.raises(GaIntelError, match="GA_INTEL_EXPORT_SENSOR_TICK_BUDGET_S"):
        settings.export_sensor_tick_budget_s()


@pytest.fixture
def tenants(db, secret_key, bigquery_emulator):
    """Eight tenants reading one emulator dataset of six daily tables (two inside the
    restatement window, so checked by modified time)."""
    from google.cloud import bigquery

    from ga_intel.connectors.bigquery import client as bq_client

    configs = [
        tenant_file.validate(
            tenant_data(
                t,
                bigquery={
                    "project_id": "test-project",
                    "dataset_id": "shards",
                    "api_endpoint": bigquery_emulator.endpoint,
                },
            ),
            "test",
        )
        for t in TENANTS
    ]
    for config in configs:
        store.add(config)
    client = bq_client(configs[0].bigquery)
    client.create_dataset("test-project.shards", exists_ok=True)
    today = dt.date.today()
    for back in (1, 2, 20, 21, 22, 23):
        client.create_table(
            bigquery.Table(
                f"test-project.shards.events_{today - dt.timedelta(days=back):%Y%m%d}",
                schema=[bigquery.SchemaField("event_name", "STRING")],
            ),
            exists_ok=True,
        )
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("tenant", TENANTS)
        yield instance


def _tick(sensor, instance, cursor=None):
    context = dg.build_sensor_context(instance=instance, cursor=cursor)
    result = sensor(context)
    return ([] if isinstance(result, dg.SkipReason) else result), context.cursor


def _run_keys(requests) -> set[str]:
    return {r.run_key for r in requests}


def test_shards_request_what_the_single_sensor_requests_each_with_its_own_cursor(tenants):
    whole, whole_cursor = _tick(automation.export_sensor(0, 1), tenants)
    assert len(whole) == len(TENANTS) * 6

    by_shard = [_tick(automation.export_sensor(i, SHARDS), tenants) for i in range(SHARDS)]
    keys = [_run_keys(requests) for requests, _ in by_shard]
    assert set().union(*keys) == _run_keys(whole)
    assert sum(len(k) for k in keys) == len(whole)  # no tenant requested by two shards
    cursors = [json.loads(cursor)["tenants"] for _, cursor in by_shard]
    for index, cursor in enumerate(cursors):
        assert cursor and all(sensor_shards.shard_of(t, SHARDS) == index for t in cursor)
    merged = {t: days for cursor in cursors for t, days in cursor.items()}
    assert merged == json.loads(whole_cursor)["tenants"]

    # Stable: the same shard asked again with its cursor has nothing new.
    again, _ = _tick(automation.export_sensor(0, SHARDS), tenants, by_shard[0][1])
    assert again == []


def test_a_shard_out_of_time_defers_the_rest_and_resumes_after_them(tenants, capsys):
    sensor = automation.export_sensor(0, 1, budget_s=1e-9)  # time for one tenant a tick
    requested, cursor = [], None
    for _ in range(len(TENANTS)):
        requests, cursor = _tick(sensor, tenants, cursor)
        requested.append(sorted({r.partition_key.keys_by_dimension["tenant"] for r in requests}))
    # One tenant a tick, in order, each exactly once: together what one tick without a
    # budget requests.
    assert requested == [[t] for t in sorted(TENANTS)]
    log = capsys.readouterr().err
    assert "1e-09 s tick budget used; 7 tenant(s) deferred to the next tick: shard-01, shard-02" in log
    state = json.loads(cursor)
    assert state["resume_after"] == "shard-07" and set(state["tenants"]) == set(TENANTS)
    # The next pass wraps around to the first tenant, which has nothing new.
    nothing, cursor = _tick(sensor, tenants, cursor)
    assert nothing == [] and json.loads(cursor)["resume_after"] == "shard-00"
    # A budget that suffices visits everyone and clears the resume point.
    _, cursor = _tick(automation.export_sensor(0, 1, budget_s=30), tenants, cursor)
    assert json.loads(cursor)["resume_after"] is None


def test_a_first_tick_continues_from_the_unsharded_sensors_cursor(tenants):
    from dagster._core.remote_origin import (
        RegisteredCodeLocationOrigin,
        RemoteInstigatorOrigin,
        RemoteRepositoryOrigin,
    )
    from dagster._core.scheduler.instigation import (
        InstigatorState,
        InstigatorStatus,
        InstigatorType,
        SensorInstigatorData,
    )

    repository = RemoteRepositoryOrigin(RegisteredCodeLocationOrigin("ga_intel.definitions"), "__repository__")

    def store_cursor(name: str, cursor: str) -> None:
        tenants.add_instigator_state(
            InstigatorState(
                RemoteInstigatorOrigin(repository, name),
                InstigatorType.SENSOR,
                InstigatorStatus.DECLARED_IN_CODE,
                SensorInstigatorData(cursor=cursor, last_tick_timestamp=1.0),
            )
        )

    _, whole_cursor = _tick(automation.export_sensor(0, 1), tenants)
    # What the single sensor before sharding stored: tenants at the top level.
    store_cursor("ga4_export_sensor", json.dumps(json.loads(whole_cursor)["tenants"]))
    cursors = []
    for index in range(SHARDS):
        requests, cursor = _tick(automation.export_sensor(index, SHARDS), tenants)
        assert requests == []  # no re-run of anything the old sensor had requested
        mine = {t for t in TENANTS if sensor_shards.shard_of(t, SHARDS) == index}
        assert set(json.loads(cursor)["tenants"]) == mine
        cursors.append(cursor)

    # Then from 3 shards to 2: each new shard finds its tenants in the 3 shards' cursors.
    for index, cursor in enumerate(cursors):
        store_cursor(sensor_shards.shard_name(index, SHARDS), cursor)
    for index in range(2):
        requests, cursor = _tick(automation.export_sensor(index, 2), tenants)
        assert requests == []
        assert set(json.loads(cursor)["tenants"]) == {t for t in TENANTS if sensor_shards.shard_of(t, 2) == index}

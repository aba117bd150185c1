"""Scale: N tenants × D days of partitions (default 50 × 730), against 1 tenant × D days
measured in the same run.

- definitions load time (a fresh interpreter importing `ga_intel.definitions` and
  resolving the repository), against importing dagster alone;
- tick durations: `tenant_sync_sensor` (first tick adding every tenant, then an in-sync
  tick); the export sensor over a BigQuery emulator dataset with D daily export tables,
  as one sensor over every tenant with no time budget (how it ran before sharding) and
  as each of its `GA_INTEL_EXPORT_SENSOR_SHARDS` shards with the deployed time budget (a
  cold tick with an empty cursor, then a warm one); `ga4_daily_refresh`;
- the Dagster UI's asset page: the GraphQL queries the page issues for `sessions`
  (definition, partition stats, partition health), over HTTP against the real webserver
  app served in-process, with materializations recorded for the last 30 days of every
  tenant.

Everything runs against a scratch Dagster storage database (`<platform>_bench_dagster`,
dropped afterwards) and scratch tenants `scale-NNN` (removed afterwards).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from bench.common import Measurement, compare, timed

REPO = Path(__file__).resolve().parents[1]
PROJECT = "scale-project"
DATASET = "ga4"
MATERIALIZED_DAYS = 30

ASSET_PAGE_QUERY = """
query AssetPage($assetKey: AssetKeyInput!) {
  assetNodeOrError(assetKey: $assetKey) {
    ... on AssetNode {
      id
      groupName
      description
      partitionDefinition { description dimensionTypes { name type dynamicPartitionsDefinitionName } }
      partitionStats { numMaterialized numMaterializing numPartitions numFailed }
      partitionKeysByDimension { name type partitionKeys }
      assetPartitionStatuses {
        ... on MultiPartitionStatuses {
          primaryDimensionName
          ranges {
            primaryDimStartKey primaryDimEndKey
            secondaryDim {
              ... on TimePartitionStatuses { ranges { status startKey endKey } }
              ... on DefaultPartitionStatuses { materializedPartitions failedPartitions materializingPartitions }
            }
          }
        }
        ... on TimePartitionStatuses { ranges { status startKey endKey } }
        ... on DefaultPartitionStatuses { materializedPartitions failedPartitions materializingPartitions }
      }
    }
  }
}
"""


def _median(fn: Callable[[], object], repeat: int = 3) -> float:
    return statistics.median(timed(fn)[0] for _ in range(repeat))


def _import_seconds(code: str, env: dict) -> float:
    script = f"import time; t = time.perf_counter(); {code}; print(time.perf_counter() - t)"
    out = subprocess.run([sys.executable, "-c", script], env=env, cwd=REPO, capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def _scratch_instance(home: Path):
    import dagster as dg
    import yaml

    from ga_intel import settings
    from ga_intel.db import migrate

    url = settings.database_urls().platform
    url = url.set(database=f"{url.database}_bench_dagster")
    migrate.ensure_database(url)
    os.environ["GA_INTEL_DAGSTER_STORAGE_URL"] = url.render_as_string(hide_password=False)
    config = yaml.safe_load((REPO / "dagster.yaml").read_text())
    config.pop("python_logs", None)  # a bench run's events need not go to the log file
    (home / "dagster.yaml").write_text(yaml.safe_dump(config))
    instance = dg.DagsterInstance.from_config(str(home))
    instance.wipe()
    for key in instance.get_dynamic_partitions("tenant"):
        instance.delete_dynamic_partition("tenant", key)
    return instance, url


def _drop_database(url) -> None:
    import sqlalchemy as sa

    admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'))
    admin.dispose()


def _apply(instance, result) -> None:
    import dagster as dg

    if isinstance(result, dg.SensorResult):
        for request in result.dynamic_partitions_requests or []:
            if isinstance(request, dg.AddDynamicPartitionsRequest):
                instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))


def _measure(instance, url: str, tenants: int, days: list[dt.date], echo) -> dict[str, float]:
    """Tick and page timings for the tenants now in the store."""
    import dagster as dg

    from ga_intel import settings
    from ga_intel.devservices.dagster_ui import graphql
    from ga_intel.ga4 import sensor_shards
    from ga_intel.ga4.automation import export_sensor, ga4_daily_refresh
    from ga_intel.orchestration.tenant_sync import tenant_sync_sensor

    out: dict[str, float] = {}
    t, result = timed(tenant_sync_sensor, dg.build_sensor_context(instance=instance))
    out["tenant_sync_first_tick"] = t
    _apply(instance, result)
    out["tenant_sync_in_sync_tick"] = _median(lambda: tenant_sync_sensor(dg.build_sensor_context(instance=instance)))

    # The sensor as one shard over every tenant with no time budget: what a tick cost
    # before sharding, and the figure the shards are compared with.
    single = export_sensor(0, 1, budget_s=math.inf)
    context = dg.build_sensor_context(instance=instance)
    out["export_sensor_cold_tick"], cold = timed(single, context)
    cursor = context.cursor
    out["export_sensor_cold_requests"] = len(cold) if isinstance(cold, list) else 0
    # The same state as the single sensor stored it before: every day of every tenant.
    plain = {t: sensor_shards.expand_days(e) for t, e in sensor_shards.parse(cursor).tenants.items()}
    out["export_sensor_cursor_before_kb"] = len(json.dumps(plain, sort_keys=True).encode()) / 1024
    out["export_sensor_warm_tick"] = _median(lambda: single(dg.build_sensor_context(instance=instance, cursor=cursor)))
    out.update(_measure_shards(instance, settings.export_sensor_shards()))
    echo(
        f"  {tenants} tenant(s): export sensor unsharded {out['export_sensor_warm_tick']:.2f} s a tick; "
        f"{out['shards']:.0f} shards, longest tick {out['shard_cold_tick_max']:.2f} s cold, "
        f"{out['shard_warm_tick_max']:.2f} s warm, {out['shard_deferred']:.0f} tenant(s) deferred"
    )

    noon = dt.datetime.combine(days[-1] + dt.timedelta(days=1), dt.time(12), dt.UTC)
    t, requests = timed(ga4_daily_refresh, dg.build_schedule_context(instance=instance, scheduled_execution_time=noon))
    out["daily_refresh_tick"] = t
    out["daily_refresh_requests"] = len(requests) if isinstance(requests, list) else 0

    variables = {"assetKey": {"path": ["sessions"]}}
    graphql(url, ASSET_PAGE_QUERY, variables)  # warm-up: the first request loads the workspace snapshot
    out["ui_asset_page"] = _median(lambda: graphql(url, ASSET_PAGE_QUERY, variables))
    stats = graphql(url, ASSET_PAGE_QUERY, variables)["assetNodeOrError"]["partitionStats"]
    out["ui_partitions"] = stats["numPartitions"]
    out["ui_materialized"] = stats["numMaterialized"]
    echo(
        f"  {tenants} tenant(s): {stats['numPartitions']:,} partitions of sessions, "
        f"{stats['numMaterialized']:,} materialized; asset page {out['ui_asset_page']:.2f} s"
    )
    return out


def _shard_figures(big: dict, base: dict, label: str, tenants: int) -> list[Measurement]:
    """The export sensor's shards: each shard's cold and warm tick, the longest of each
    (the issue's goal: every tick under 10 s), against the 1-tenant run's longest."""
    from ga_intel import settings

    n = int(big["shards"])
    budget = settings.export_sensor_tick_budget_s()
    one = "1 tenant, longest shard tick, same run"
    out = [
        Measurement(
            "scale.export_sensor_shards", n, "shards", note=f"GA_INTEL_EXPORT_SENSOR_SHARDS; tick budget {budget:g} s"
        ),
        compare(
            "scale.export_shard_tick_max_s",
            max(big["shard_cold_tick_max"], big["shard_warm_tick_max"]),
            "s",
            one,
            max(base["shard_cold_tick_max"], base["shard_warm_tick_max"]),
            note=f"{label}: longest tick of any of the {n} shards, cold or warm (goal: under 10 s)",
        ),
        compare(
            "scale.export_shard_cold_tick_max_s",
            big["shard_cold_tick_max"],
            "s",
            one,
            base["shard_cold_tick_max"],
            note=f"{label}: longest shard tick with an empty cursor",
        ),
        compare(
            "scale.export_shard_warm_tick_max_s",
            big["shard_warm_tick_max"],
            "s",
            one,
            base["shard_warm_tick_max"],
            note=f"{label}: longest shard tick from its cursor (median of 3 per shard)",
        ),
        Measurement(
            "scale.export_shard_deferred_tenants",
            big["shard_deferred"],
            "tenants",
            note=f"{label}: tenants the shards' cold ticks left to their next tick ({budget:g} s budget); "
            "0: sharding alone kept every tick under the budget",
        ),
        compare(
            "scale.export_shard_cursor_max_kb",
            big["shard_cursor_max_kb"],
            "KB",
            "the single sensor's cursor as stored before sharding, same tenants (KB)",
            big["export_sensor_cursor_before_kb"],
            note=f"{label}: largest shard cursor after its cold tick (stored with the sensor and every tick)",
        ),
        Measurement(
            "scale.export_sensor_per_tenant_ms",
            round(1000 * big["export_sensor_warm_tick"] / tenants, 1),
            "ms",
            note=f"{label}: unsharded warm tick / tenants (for extrapolating to other tenant counts)",
        ),
    ]
    for kind in ("cold", "warm"):
        for i in range(n):
            out.append(
                compare(
                    f"scale.export_shard_{i + 1}_of_{n}_{kind}_tick_s",
                    big[f"shard_{i}_{kind}_tick"],
                    "s",
                    one,
                    base[f"shard_{kind}_tick_max"],
                    note=f"{label}: {kind} tick of shard {i + 1} of {n}",
                )
            )
    return out


def _measure_shards(instance, shards: int) -> dict[str, float]:
    """Each shard of the export sensor as deployed (its time budget from settings): a cold
    tick (empty cursor), then a warm one from that cursor (median of 3)."""
    import dagster as dg

    from ga_intel.ga4 import sensor_shards
    from ga_intel.ga4.automation import export_sensor

    out: dict[str, float] = {"shards": shards, "shard_deferred": 0, "shard_cursor_max_kb": 0.0}
    for index in range(shards):
        sensor = export_sensor(index, shards)
        context = dg.build_sensor_context(instance=instance)
        out[f"shard_{index}_cold_tick"], _ = timed(sensor, context)
        cursor = context.cursor
        # Tenants the cold tick left for the next one: the time budget at work, not
        # sharding alone (a tenant that failed would count too; the bench's do not fail).
        seen = sensor_shards.parse(cursor).tenants
        # Dagster stores the cursor with the sensor and with every tick.
        out["shard_cursor_max_kb"] = max(out["shard_cursor_max_kb"], len(cursor.encode()) / 1024)
        out["shard_deferred"] += sum(1 for t in _shard_tenants(instance, index, shards) if t not in seen)
        out[f"shard_{index}_warm_tick"] = _median(
            lambda sensor=sensor, cursor=cursor: sensor(dg.build_sensor_context(instance=instance, cursor=cursor))
        )
    out["shard_cold_tick_max"] = max(out[f"shard_{i}_cold_tick"] for i in range(shards))
    out["shard_warm_tick_max"] = max(out[f"shard_{i}_warm_tick"] for i in range(shards))
    return out


def _shard_tenants(instance, index: int, shards: int) -> list[str]:
    from ga_intel.ga4 import sensor_shards

    return [t for t in instance.get_dynamic_partitions("tenant") if sensor_shards.shard_of(t, shards) == index]


def _materialize(instance, tenant_ids: list[str], days: list[dt.date]) -> None:
    """What a month of daily runs leaves in the event log for the asset the page shows: a
    materialization per tenant × day of `sessions`."""
    import dagster as dg

    for tenant_id in tenant_ids:
        for day in days[-MATERIALIZED_DAYS:]:
            key = dg.MultiPartitionKey({"tenant": tenant_id, "date": day.isoformat()})
            instance.report_runless_asset_event(dg.AssetMaterialization(asset_key="sessions", partition=key))


def run(echo: Callable[[str], None], tenants: int = 50, days: int = 730) -> list[Measurement]:
    today = dt.date.today()
    start = today - dt.timedelta(days=days)
    os.environ["GA_INTEL_PARTITION_START"] = start.isoformat()
    if "ga_intel.orchestration.partitions" in sys.modules:
        from ga_intel.orchestration.partitions import daily_partitions

        if daily_partitions.start.date() != start:
            raise RuntimeError("run `ga-intel bench scale` on its own: the daily partitions were already defined")
    env = {**os.environ}
    env.pop("PYTHONDONTWRITEBYTECODE", None)

    echo("scale: definitions load time ...")
    _import_seconds("import dagster", env)  # warm the page cache and bytecode for both
    t_dagster = statistics.median(_import_seconds("import dagster", env) for _ in range(3))
    t_defs = statistics.median(
        _import_seconds("import ga_intel.definitions as d; d.defs.get_repository_def()", env) for _ in range(3)
    )

    from google.cloud import bigquery

    from ga_intel.connectors.bigquery import client as bq_client
    from ga_intel.devservices.bigquery_emulator import BigQueryEmulator
    from ga_intel.devservices.dagster_ui import serve
    from ga_intel.tenancy import store, tenant_file

    export_days = [start + dt.timedelta(days=i) for i in range(days)]
    home = Path(tempfile.mkdtemp(prefix="ga-intel-bench-scale-"))
    folder = home / "drop"
    folder.mkdir()
    ids = [f"scale-{i:03d}" for i in range(tenants)]
    instance, storage_url = _scratch_instance(home)
    added: list[str] = []
    try:
        with BigQueryEmulator(PROJECT) as emulator:

            def config(tenant_id: str):
                return tenant_file.validate(
                    {
                        "id": tenant_id,
                        "name": tenant_id,
                        "timezone": "America/Chicago",
                        "bigquery": {"project_id": PROJECT, "dataset_id": DATASET, "api_endpoint": emulator.endpoint},
                        "folder": {"path": str(folder)},
                        "smtp": {"server": "127.0.0.1", "from_name": "b", "from_address": "b@bench.example"},
                    },
                    "bench",
                )

            client = bq_client(config(ids[0]).bigquery)
            client.create_dataset(f"{PROJECT}.{DATASET}", exists_ok=True)
            echo(f"scale: creating {days} daily export tables in the emulator ...")
            t_tables, _ = timed(
                lambda: [
                    client.create_table(
                        bigquery.Table(
                            f"{PROJECT}.{DATASET}.events_{d:%Y%m%d}",
                            schema=[bigquery.SchemaField("event_name", "STRING")],
                        ),
                        exists_ok=True,
                    )
                    for d in export_days
                ]
            )
            with serve(instance) as url:
                echo("scale: 1 tenant (baseline) ...")
                store.add(config(ids[0]))
                added.append(ids[0])
                _materialize(instance, ids[:1], export_days)
                base = _measure(instance, url, 1, export_days, echo)
                echo(f"scale: {tenants} tenants ...")
                for tenant_id in ids[1:]:
                    store.add(config(tenant_id))
                    added.append(tenant_id)
                t_events, _ = timed(_materialize, instance, ids[1:], export_days)
                big = _measure(instance, url, tenants, export_days, echo)
    finally:
        for tenant_id in added:
            store.remove(tenant_id)
        instance.dispose()
        _drop_database(storage_url)
        shutil.rmtree(home, ignore_errors=True)

    label = f"{tenants} tenants x {days} days"
    one = f"1 tenant x {days} days, same run"
    out = [
        compare(
            "scale.definitions_load_s",
            t_defs,
            "s",
            "import dagster alone (s)",
            t_dagster,
            note="fresh interpreter: import ga_intel.definitions + resolve the repository; the partition "
            "count lives in the instance, not the code, so it does not change with tenants",
        ),
        compare(
            "scale.tenant_sync_first_tick_s",
            big["tenant_sync_first_tick"],
            "s",
            one,
            base["tenant_sync_first_tick"],
            note=f"{label}: adds every tenant partition",
        ),
        compare(
            "scale.tenant_sync_tick_s",
            big["tenant_sync_in_sync_tick"],
            "s",
            one,
            base["tenant_sync_in_sync_tick"],
            note=f"{label}: partitions already in sync (median of 3)",
        ),
        compare(
            "scale.export_sensor_cold_tick_s",
            big["export_sensor_cold_tick"],
            "s",
            one,
            base["export_sensor_cold_tick"],
            note=f"{label}: one sensor over every tenant, no time budget (as before sharding); empty cursor, "
            f"{days} tables per tenant in the BigQuery emulator; requested "
            f"{big['export_sensor_cold_requests']:.0f} runs (50 per tenant per tick)",
        ),
        compare(
            "scale.export_sensor_warm_tick_s",
            big["export_sensor_warm_tick"],
            "s",
            one,
            base["export_sensor_warm_tick"],
            note=f"{label}: second tick (median of 3)",
        ),
        *_shard_figures(big, base, label, tenants),
        compare(
            "scale.daily_refresh_tick_s",
            big["daily_refresh_tick"],
            "s",
            one,
            base["daily_refresh_tick"],
            note=f"{label}: {big['daily_refresh_requests']:.0f} run requests (yesterday + 3 restated days)",
        ),
        compare(
            "scale.ui_asset_page_s",
            big["ui_asset_page"],
            "s",
            one,
            base["ui_asset_page"],
            note=f"{label}: GraphQL of the asset page for `sessions` over HTTP, {big['ui_partitions']:,} "
            f"partitions, {big['ui_materialized']:,} materialized (median of 3)",
        ),
        Measurement(
            "scale.partitions_per_asset",
            big["ui_partitions"],
            "partitions",
            note="Dagster's guidance: under 100,000 per asset",
        ),
        Measurement(
            "scale.setup_emulator_tables_s",
            round(t_tables, 2),
            "s",
            note=f"{days} tables (setup, not a product figure)",
        ),
        Measurement(
            "scale.setup_materialization_events_s",
            round(t_events, 2),
            "s",
            note=f"{(tenants - 1) * MATERIALIZED_DAYS:,} runless materializations of sessions (setup)",
        ),
    ]
    return out

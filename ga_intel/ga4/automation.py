"""When GA4 days are (re)loaded: a daily refresh with a lookback, and a sensor for
export tables that landed or changed, split into shards over the tenants
(`sensor_shards`) with a time budget per tick.

Both request tenant × day partitions with run keys, so the same request is never run
twice, and both read the tenant list from the control plane on every tick.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from zoneinfo import ZoneInfo

import dagster as dg

from ga_intel.ga4 import sensor_shards
from ga_intel.ga4.ingest import RESTATEMENT_DAYS, local_today
from ga_intel.ga4.sensor_shards import EXPORT_SENSOR
from ga_intel.orchestration.partitions import DATE_DIMENSION, TENANT_DIMENSION

# A day's GA4 tables, then its metrics and tasks (group "insights"), in one run.
ga4_job = dg.define_asset_job("ga4_job", selection=dg.AssetSelection.groups("ga4", "insights"))

# Local hour after which yesterday's export is normally complete (GA4 writes the daily
# table in the early morning of the property's timezone).
REFRESH_HOUR_LOCAL = 5

# Run queue lanes (dagster.yaml): fresh days jump the queue; the sensor's catch-up of
# old days (a new tenant's history) yields to them and is capped like a backfill.
FRESH_TAGS = {"dagster/priority": "1"}
# Catch-up runs the export sensor requests per tenant and tick (every 5 min): a new
# tenant's two years take ~15 ticks instead of one tick queueing 730 runs.
MAX_CATCHUP_PER_TENANT_TICK = int(os.environ.get("GA_INTEL_MAX_CATCHUP_PER_TICK", "50"))
CATCHUP_TAGS = {"dagster/priority": "-1", "ga_intel/catchup": "true"}


def partition_key(tenant_id: str, day: dt.date) -> dg.MultiPartitionKey:
    return dg.MultiPartitionKey({TENANT_DIMENSION: tenant_id, DATE_DIMENSION: day.isoformat()})


def refresh_requests(tenants: list[tuple[str, str]], now: dt.datetime) -> list[dg.RunRequest]:
    """Yesterday plus the RESTATEMENT_DAYS before it, for each tenant whose local
    refresh hour has come today. `tenants` is [(id, timezone)]."""
    requests = []
    for tenant_id, tz in tenants:
        local = now.astimezone(ZoneInfo(tz))
        if local.hour < REFRESH_HOUR_LOCAL:
            continue
        today = local.date()
        for back in range(1, RESTATEMENT_DAYS + 2):
            day = today - dt.timedelta(days=back)
            requests.append(
                dg.RunRequest(
                    run_key=f"ga4-refresh:{tenant_id}:{day}:{today}",
                    partition_key=partition_key(tenant_id, day),
                    tags={"ga_intel/trigger": "daily_refresh", **FRESH_TAGS},
                )
            )
    return requests


@dg.schedule(
    job=ga4_job,
    cron_schedule="15 * * * *",
    name="ga4_daily_refresh",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Hourly tick; each tenant's yesterday + 3 restated days once its local morning has come.",
)
def ga4_daily_refresh(context: dg.ScheduleEvaluationContext):
    from ga_intel.orchestration.tenant_configs import each_config
    from ga_intel.tenancy import store

    tenants = [(t.tenant_id, t.timezone) for t in store.list_tenants()]
    now = context.scheduled_execution_time or dt.datetime.now(dt.UTC)
    # One tenant at a time: a tenant whose settings cannot be loaded is alerted and
    # skipped, and every other tenant still gets its runs.
    configs = list(each_config([t for t, _ in tenants], "ga4_daily_refresh", context.log, now))
    loaded = {c.id for c in configs}
    requests = refresh_requests([t for t in tenants if t[0] in loaded], now)
    requests += intraday_requests(configs, now)
    return requests or dg.SkipReason("no tenant has reached its refresh hour")


def intraday_requests(configs, now: dt.datetime) -> list[dg.RunRequest]:
    """Each hour, today from `events_intraday_*` for tenants that opted in (provisional;
    the daily table replaces it once the export sensor sees it land)."""
    requests = []
    for config in configs:
        if not config.ga4.load_intraday:
            continue
        local = now.astimezone(ZoneInfo(config.timezone))
        requests.append(
            dg.RunRequest(
                run_key=f"ga4-intraday:{config.id}:{local.date()}:{local:%H}",
                partition_key=partition_key(config.id, local.date()),
                tags={"ga_intel/trigger": "intraday", **FRESH_TAGS},
            )
        )
    return requests


def changed_tables(seen: dict[str, str], current: dict[str, str]) -> list[str]:
    """Days (YYYYMMDD) whose table is new or whose modified time moved."""
    return sorted(day for day, modified in current.items() if seen.get(day) != modified)


def export_sensor(index: int, shards: int, budget_s: float | None = None) -> dg.SensorDefinition:
    """Shard `index` (0-based) of `shards`: the export sensor over the tenants whose
    `sensor_shards.shard_of` is `index`. `budget_s`: seconds a tick may spend before it
    leaves the remaining tenants to the next tick; None reads
    `GA_INTEL_EXPORT_SENSOR_TICK_BUDGET_S` (settings) every tick."""
    name = sensor_shards.shard_name(index, shards)

    @dg.sensor(
        job=ga4_job,
        name=name,
        minimum_interval_seconds=300,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=f"Shard {index + 1} of {shards}: requests the tenant × day partitions whose "
        "events_YYYYMMDD table landed or changed.",
    )
    def _sensor(context: dg.SensorEvaluationContext):
        from ga_intel import settings

        budget = settings.export_sensor_tick_budget_s() if budget_s is None else budget_s
        return export_tick(context, name, index, shards, budget)

    return _sensor


def export_sensors(shards: int) -> list[dg.SensorDefinition]:
    return [export_sensor(i, shards) for i in range(shards)]


def _visit_order(ids: list[str], resume_after: str | None) -> list[str]:
    """Sorted ids, starting after the tenant the previous tick stopped at."""
    ids = sorted(ids)
    if resume_after is None:
        return ids
    later = [t for t in ids if t > resume_after]
    return later + [t for t in ids if t <= resume_after]


def export_tick(context: dg.SensorEvaluationContext, name: str, index: int, shards: int, budget_s: float):
    from ga_intel.tenancy import store

    started = time.monotonic()
    state = sensor_shards.parse(context.cursor)
    if not context.cursor:
        # First tick under this name (an upgrade from the unsharded sensor, or a new
        # shard count): continue from the old cursors so nothing already seen is re-run.
        seeded, sources = sensor_shards.predecessor_tenants(context.instance, name, context.repository_name)
        state.tenants = {t: days for t, days in seeded.items() if sensor_shards.shard_of(t, shards) == index}
        if sources:
            context.log.info(f"{name}: first tick; started from the cursors of {', '.join(sources)}")
    known_partitions = set(context.instance.get_dynamic_partitions(TENANT_DIMENSION))
    # The tenant sync sensor adds a tenant's partitions first.
    ids = [
        t.tenant_id
        for t in store.list_tenants()
        if t.tenant_id in known_partitions and sensor_shards.shard_of(t.tenant_id, shards) == index
    ]
    requests, errors, deferred_tenants = [], [], []
    order = _visit_order(ids, state.resume_after)
    state.resume_after = None
    for position, tenant_id in enumerate(order):
        if position and time.monotonic() - started >= budget_s:
            # Out of time: the rest keep their cursor entries and go first next tick.
            deferred_tenants = order[position:]
            state.resume_after = order[position - 1]
            break
        requests += _check_tenant(context, tenant_id, state.tenants, errors)
    for line in errors:
        context.log.warning(f"{name} skipped {line}")
    if deferred_tenants:
        shown = ", ".join(deferred_tenants[:20]) + (" …" if len(deferred_tenants) > 20 else "")
        context.log.info(
            f"{name}: {budget_s:g} s tick budget used; {len(deferred_tenants)} tenant(s) deferred to the next "
            f"tick: {shown}"
        )
    context.update_cursor(state.dumps())
    deferred_note = f"; {len(deferred_tenants)} tenant(s) deferred to the next tick" if deferred_tenants else ""
    errors_note = f"; errors: {errors}" if errors else ""
    return requests or dg.SkipReason(f"no new or changed GA4 export tables{deferred_note}{errors_note}")


def _check_tenant(context, tenant_id: str, cursor: dict[str, dict], errors: list[str]) -> list[dg.RunRequest]:
    """One tenant's new or changed export tables as run requests; updates `cursor[tenant_id]`."""
    from ga_intel.connectors.bigquery import client, daily_tables
    from ga_intel.orchestration.tenant_configs import each_config

    # A tenant whose settings cannot be loaded is alerted and skipped by each_config.
    for config in each_config([tenant_id], EXPORT_SENSOR, context.log):
        try:
            bq = client(config.bigquery)
            days = daily_tables(bq, config.bigquery)
            # Only recent tables still change (GA4 restates up to 72 h); older ones are
            # checked by name alone, which keeps a tick cheap with years of history.
            recent_from = (local_today(config.timezone) - dt.timedelta(days=RESTATEMENT_DAYS + 1)).strftime("%Y%m%d")
            seen = sensor_shards.expand_days(cursor.get(tenant_id))
            current = {}
            for day in days:
                if day >= recent_from:
                    table = bq.get_table(f"{config.bigquery.project_id}.{config.bigquery.dataset_id}.events_{day}")
                    current[day] = table.modified.isoformat() if table.modified else "unknown"
                else:
                    # Past the restatement window a table no longer changes: its name is
                    # enough (no get_table per day: a new tenant's 730 days cost one list).
                    current[day] = seen.get(day, sensor_shards.LISTED)
        except Exception as exc:  # one tenant's broken credentials must not stop the others
            errors.append(f"{tenant_id}: {getattr(exc, 'message', None) or type(exc).__name__}")
            return []
        changed = changed_tables(seen, current)
        fresh = [d for d in changed if d >= recent_from]
        # A new tenant's history is requested a slice per tick (newest first), so one tick
        # never queues thousands of runs; the rest stay out of the cursor for later ticks.
        catchup = sorted((d for d in changed if d < recent_from), reverse=True)
        deferred = catchup[MAX_CATCHUP_PER_TENANT_TICK:]
        requests = []
        for day in fresh + catchup[:MAX_CATCHUP_PER_TENANT_TICK]:
            date = dt.datetime.strptime(day, "%Y%m%d").date()
            lane = FRESH_TAGS if day >= recent_from else CATCHUP_TAGS
            requests.append(
                dg.RunRequest(
                    run_key=f"ga4-table:{tenant_id}:{day}:{current[day]}",
                    partition_key=partition_key(tenant_id, date),
                    tags={"ga_intel/trigger": "export_sensor", **lane},
                )
            )
        for day in deferred:
            current.pop(day)
        if deferred:
            context.log.info(f"{tenant_id}: {len(deferred)} older export table(s) left for the next ticks")
        cursor[tenant_id] = sensor_shards.compact_days(current, recent_from)
        return requests
    return []

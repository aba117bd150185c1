"""When reports go out.

- `email_daily_schedule` ticks hourly and, for each tenant whose local send hour it is,
  requests yesterday's report (timezones differ, so one cron cannot serve them all).
- `email_ready_sensor` catches what the schedule could not send: yesterday's tasks
  partition materialized after the send hour, or data still incomplete at send time and
  now either complete or past the tenant's deadline.

Both skip a report the ledger already holds and one with a run in flight, and use run
keys, so the same report is never requested twice for the same reason. Even if it were,
the ledger would turn the second run into a no-op.
"""

import datetime as dt
from zoneinfo import ZoneInfo

import dagster as dg

from ga_intel.ga4.automation import partition_key

email_job = dg.define_asset_job("email_job", selection=dg.AssetSelection.groups("email"))

_IN_FLIGHT = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
]


def _planned(tenant_id: str, day: dt.date) -> bool:
    """True once every row of the report is terminal (sent, failed or skipped); rows still
    queued or sending belong to a batch that stopped midway, and the report is still due."""
    from ga_intel.db import tenant_scope
    from ga_intel.email import ledger

    with tenant_scope(tenant_id) as conn:
        return ledger.settled(conn, day)


def _in_flight(instance: dg.DagsterInstance, key: dg.MultiPartitionKey) -> bool:
    runs = instance.get_runs(
        dg.RunsFilter(job_name=email_job.name, statuses=_IN_FLIGHT, tags={"dagster/partition": str(key)}), limit=1
    )
    return bool(runs)


def _tasks_materialized(instance: dg.DagsterInstance, key: dg.MultiPartitionKey) -> bool:
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey("tasks"), asset_partitions=[str(key)]), limit=1
    )
    return bool(records.records)


def _tenants(instance: dg.DagsterInstance, job_name: str, log, now: dt.datetime | None = None):
    """Tenants with email enabled, one at a time: a tenant whose settings cannot be loaded
    is alerted and skipped, and the others still get their reports."""
    from ga_intel.orchestration.tenant_configs import each_config
    from ga_intel.tenancy import store

    known = set(instance.get_dynamic_partitions("tenant"))  # tenant_sync_sensor adds a tenant first
    for config in each_config([t for t in store.tenant_ids() if t in known], job_name, log, now):
        if config.email.enabled:
            yield config


@dg.schedule(
    job=email_job,
    cron_schedule="0 * * * *",
    name="email_daily_schedule",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Hourly tick; sends yesterday's reports for each tenant whose local send hour it is.",
)
def email_daily_schedule(context: dg.ScheduleEvaluationContext):
    now = context.scheduled_execution_time or dt.datetime.now(dt.UTC)
    from ga_intel.db.placement import UNAVAILABLE

    requests = []
    for config in _tenants(context.instance, "email_daily_schedule", context.log, now):
        local = now.astimezone(ZoneInfo(config.timezone))
        if local.hour != config.email.send_hour:
            continue
        day = local.date() - dt.timedelta(days=1)
        key = partition_key(config.id, day)
        try:
            planned = _planned(config.id, day)
        except UNAVAILABLE as exc:  # its own database: the others still get their reports
            context.log.warning(f"email_daily_schedule: skipped tenant {config.id}: {exc.message}")
            continue
        if planned or _in_flight(context.instance, key):
            continue
        requests.append(
            dg.RunRequest(
                run_key=f"email:{config.id}:{day}", partition_key=key, tags={"ga_intel/trigger": "email_schedule"}
            )
        )
    return requests or dg.SkipReason("no tenant is at its send hour with a report still to send")


@dg.sensor(
    job=email_job,
    name="email_ready_sensor",
    minimum_interval_seconds=300,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Sends yesterday's reports once the tasks partition exists and the send hour has passed.",
)
def email_ready_sensor(context: dg.SensorEvaluationContext):
    from ga_intel.db import tenant_scope
    from ga_intel.db.placement import UNAVAILABLE
    from ga_intel.email import content
    from ga_intel.email.deliver import deadline, report_day, send_time

    now = dt.datetime.now(dt.UTC)
    requests, waiting = [], []
    for config in _tenants(context.instance, "email_ready_sensor", context.log, now):
        day = report_day(config, now)
        key = partition_key(config.id, day)
        try:
            if now < send_time(config, day) or _planned(config.id, day):
                continue
            if not _tasks_materialized(context.instance, key):
                waiting.append(f"{config.id}: tasks for {day} not materialized yet")
                continue
            if _in_flight(context.instance, key):
                continue
            with tenant_scope(config.id) as conn:
                incomplete = content.completeness(conn, day)
        except UNAVAILABLE as exc:  # its own database: the others still get their reports
            context.log.warning(f"email_ready_sensor: skipped tenant {config.id}: {exc.message}")
            waiting.append(f"{config.id}: {exc.message}")
            continue
        if incomplete is None:
            reason = "ready"
        elif not config.email.wait_for_complete_data or now >= deadline(config, day):
            reason = "deadline"
        else:
            waiting.append(f"{config.id}: {incomplete}")
            continue
        requests.append(
            dg.RunRequest(
                run_key=f"email:{config.id}:{day}:{reason}",
                partition_key=key,
                tags={"ga_intel/trigger": f"email_sensor_{reason}"},
            )
        )
    if requests:
        return requests
    return dg.SkipReason("; ".join(waiting) or "no report due")

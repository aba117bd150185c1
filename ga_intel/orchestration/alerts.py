"""Run-failure alerts per tenant.

`tenant_failure_alerts` watches every failed run of this code location. A run that
belongs to a tenant (its partition names one) is recorded in that tenant's
`pipeline_failures` (the Data page lists them) and, at most once per failure type per
local day, emailed to the tenant's admins through the tenant's own SMTP. The
`pipeline_alerts` row is the guard: it is inserted before sending, so a sensor retried
after a crash, or a second run failing the same way, never sends a second alert that day.
"""

import datetime as dt
from email.headerregistry import Address
from email.message import EmailMessage
from zoneinfo import ZoneInfo

import dagster as dg
import sqlalchemy as sa

from ga_intel.orchestration.partitions import TENANT_DIMENSION, TENANT_RUN_TAG

SERVICES = ("bigquery", "sftp", "smtp", "postgres", "folder")


def tenant_of(run: dg.DagsterRun, known: set[str]) -> str | None:
    """The tenant a run worked for: the tenant dimension of a tenant × day partition, or
    the partition itself for tenant-only assets (master data)."""
    tenant = run.tags.get(TENANT_RUN_TAG)
    if tenant is None:
        partition = run.tags.get("dagster/partition")
        if partition and "|" not in partition:
            tenant = partition
    return tenant if tenant in known else None


def innermost_error(event: dg.DagsterEvent | None, run_failure_message: str | None) -> tuple[str, str]:
    """(error class, message) of the step failure behind a failed run."""
    error = getattr(getattr(event, "event_specific_data", None), "error", None)
    if error is None:
        return "RunFailure", (run_failure_message or "the run failed").strip()
    while error.cause is not None:
        error = error.cause
    cls_name = error.cls_name or "Error"
    message = error.message.strip()
    # Dagster prefixes the message with the (qualified) class name; the user needs only ours.
    head, sep, rest = message.partition(": ")
    if sep and head.rsplit(".", 1)[-1] == cls_name:
        message = rest
    return cls_name, message


def failure_type(job_name: str, cls_name: str, message: str) -> str:
    """The unit alerts are de-duplicated on: the job, and the failing service if the error
    names one (ServiceError messages start with it), else the error class."""
    head = message.split(":", 1)[0].strip().lower()
    return f"{job_name}/{head if head in SERVICES else cls_name}"


def _step_failure(context: dg.RunFailureSensorContext) -> dg.DagsterEvent | None:
    for event in context.get_step_failure_events():
        return event
    return None


def record_and_alert(tenant_id: str, run: dg.DagsterRun, cls_name: str, message: str,
                     failed_at: dt.datetime, log=None) -> str:
    """Record the failure; send the day's alert for its type unless one went out already.
    Returns what happened, for the sensor's log."""
    from ga_intel.db import tenant_scope
    from ga_intel.logs import redact
    from ga_intel.tenancy import store

    config = store.get(tenant_id)  # also teaches the redaction this tenant's secrets
    message = redact(message)[:4000]
    kind = failure_type(run.job_name, cls_name, message)
    day = failed_at.astimezone(ZoneInfo(config.timezone)).date()
    admins = sorted(m.email for m in config.members if m.role == "admin")
    with tenant_scope(tenant_id) as conn:
        conn.execute(sa.text("""
            INSERT INTO tenant_data.pipeline_failures (tenant_id, run_id, job_name, partition_key, failure_type,
                message, failed_at, alert_date)
            VALUES (:t, :run, :job, :p, :kind, :msg, :at, :day) ON CONFLICT (tenant_id, run_id) DO NOTHING"""),
            {"t": tenant_id, "run": run.run_id, "job": run.job_name, "p": run.tags.get("dagster/partition"),
             "kind": kind, "msg": message, "at": failed_at, "day": day})
        claimed = conn.execute(sa.text("""
            INSERT INTO tenant_data.pipeline_alerts (tenant_id, alert_date, failure_type, first_run_id, recipients,
                status)
            VALUES (:t, :day, :kind, :run, :to, :status) ON CONFLICT DO NOTHING RETURNING 1"""),
            {"t": tenant_id, "day": day, "kind": kind, "run": run.run_id, "to": admins,
             "status": "sending" if admins else "no_recipients"}).first()
    if not claimed:
        return f"{tenant_id}: {kind} already alerted on {day}"
    if not admins:
        return f"{tenant_id}: {kind} recorded; the tenant has no admin to alert"
    status, error = _send(config, run, kind, message, admins, failed_at)
    with tenant_scope(tenant_id) as conn:
        conn.execute(sa.text(
            "UPDATE tenant_data.pipeline_alerts SET status = :s, error = :e, "
            "sent_at = CASE WHEN :s = 'sent' THEN now() END WHERE alert_date = :day AND failure_type = :kind"),
            {"s": status, "e": error, "day": day, "kind": kind})
    return f"{tenant_id}: {kind} alert {status}" + (f" ({error})" if error else "")


def _send(config, run: dg.DagsterRun, kind: str, message: str, admins: list[str],
          failed_at: dt.datetime) -> tuple[str, str | None]:
    import os

    from ga_intel.email.deliver import Mailer

    dagster = os.environ.get("GA_INTEL_DAGSTER_URL", "http://127.0.0.1:3000").rstrip("/")
    msg = EmailMessage()
    msg["Subject"] = f"[ga-intel] {config.name}: {run.job_name} failed ({kind.split('/', 1)[1]})"
    msg["From"] = Address(config.smtp.from_name, addr_spec=config.smtp.from_address)
    msg["To"] = ", ".join(admins)
    msg["Auto-Submitted"] = "auto-generated"
    partition = run.tags.get("dagster/partition", "-")
    msg.set_content(
        f"A ga-intel run for {config.name} ({config.id}) failed.\n\n"
        f"Job:        {run.job_name}\nPartition:  {partition}\nFailed at:  {failed_at:%Y-%m-%d %H:%M %Z}\n"
        f"Run:        {dagster}/runs/{run.run_id}\n\nError:\n{message}\n\n"
        f"You get at most one alert per failure type per day; later failures of this type today are listed on "
        f"the dashboard's Data page. What to do: docs/RUNBOOK.md.\n", cte="quoted-printable")
    mailer = Mailer(config)
    try:
        refused = mailer.send(msg, admins)
    finally:
        mailer.close()
    if len(refused) == len(admins):
        return "failed", "; ".join(f"{r}: {err}" for r, (_, err) in refused.items())[:2000]
    return "sent", None


@dg.run_failure_sensor(name="tenant_failure_alerts", default_status=dg.DefaultSensorStatus.RUNNING,
                       minimum_interval_seconds=60,
                       description="Records each tenant's failed runs and emails its admins once per failure "
                                   "type per day.")
def tenant_failure_alerts(context: dg.RunFailureSensorContext):
    from ga_intel.tenancy import store

    run = context.dagster_run
    tenant_id = tenant_of(run, set(context.instance.get_dynamic_partitions(TENANT_DIMENSION)) | set(store.tenant_ids()))
    if tenant_id is None:
        context.log.info(f"run {run.run_id} ({run.job_name}) is not a tenant's; no alert")
        return
    cls_name, message = innermost_error(_step_failure(context), context.failure_event.message)
    record = context.instance.get_run_record_by_id(run.run_id)
    failed_at = (record.end_time and dt.datetime.fromtimestamp(record.end_time, dt.timezone.utc)) \
        or dt.datetime.now(dt.timezone.utc)
    context.log.info(record_and_alert(tenant_id, run, cls_name, message, failed_at))

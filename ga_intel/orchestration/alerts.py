"""Run-failure alerts per tenant.

`tenant_failure_alerts` watches every failed run of this code location. A run that
belongs to a tenant (its partition names one) is recorded in that tenant's
`pipeline_failures` (the Data page lists them) and, at most once per failure type per
local day, emailed to the tenant's admins through the tenant's own SMTP. The
`pipeline_alerts` row is the guard: it is inserted before sending, so a sensor retried
after a crash, or a second run failing the same way, never sends a second alert that day.

A schedule or sensor tick that skips a tenant because its settings cannot be loaded
(`orchestration/tenant_configs.py`) is recorded and alerted the same way
(`settings_failure`), without needing the broken settings.
"""

import datetime as dt
import os
from email.headerregistry import Address
from email.message import EmailMessage
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import dagster as dg
import sqlalchemy as sa

from ga_intel.orchestration.partitions import TENANT_DIMENSION, TENANT_RUN_TAG
from ga_intel.tenancy.tenant_file import EmailSettings

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


def record_and_alert(
    tenant_id: str, run: dg.DagsterRun, cls_name: str, message: str, failed_at: dt.datetime, log=None
) -> str:
    """Record the failure; send the day's alert for its type unless one went out already.
    Returns what happened, for the sensor's log."""
    from ga_intel.logs import redact
    from ga_intel.tenancy import store

    try:
        config = store.get(tenant_id)  # also teaches the redaction this tenant's secrets
        name, timezone, sender, unsendable = config.name, config.timezone, config, None
        admins = sorted(m.email for m in config.members if m.role == "admin")
    except Exception:  # noqa: BLE001 - broken settings (likely why the run failed) must not stop the sensor
        name, timezone, admins, sender, unsendable = _reach(tenant_id)
    message = redact(message)[:4000]
    kind = failure_type(run.job_name, cls_name, message)
    partition = run.tags.get("dagster/partition")
    dagster = os.environ.get("GA_INTEL_DAGSTER_URL", "http://127.0.0.1:3000").rstrip("/")
    body = (
        f"A ga-intel run for {name} ({tenant_id}) failed.\n\n"
        f"Job:        {run.job_name}\nPartition:  {partition or '-'}\nFailed at:  {failed_at:%Y-%m-%d %H:%M %Z}\n"
        f"Run:        {dagster}/runs/{run.run_id}\n\nError:\n{message}\n\n{FOOTER}"
    )
    return _record_and_send(
        tenant_id,
        name,
        timezone,
        sender,
        run.run_id,
        run.job_name,
        partition,
        kind,
        message,
        failed_at,
        admins,
        f"{run.job_name} failed ({kind.split('/', 1)[1]})",
        body,
        unsendable=unsendable,
    )


def _reach(tenant_id: str):
    """(name, timezone, admins, sender, why unsendable) of a tenant whose settings do not
    load as a whole: the plain control rows, and its SMTP section if that alone loads."""
    from ga_intel.tenancy import store

    name, timezone, admins = store.contact(tenant_id)
    try:
        smtp = store.section(tenant_id, "smtp")
    except Exception as exc:  # noqa: BLE001 - the SMTP section may be what is broken
        return name, timezone, admins, None, f"the tenant's SMTP settings cannot be loaded ({type(exc).__name__})"
    if smtp is None:
        return name, timezone, admins, None, "the tenant has no SMTP settings"
    return name, timezone, admins, SimpleNamespace(id=tenant_id, name=name, smtp=smtp, email=EmailSettings()), None


def settings_failure(tenant_id: str, job_name: str, message: str, now: dt.datetime) -> str:
    """A schedule or sensor skipped `tenant_id` because its settings cannot be loaded:
    record it (the Data page lists it) and alert the admins once per local day. Needs none
    of the broken settings: the admins and timezone are plain rows, and the alert goes
    through the tenant's SMTP only if that section alone still decrypts and validates."""
    name, timezone, admins, sender, unsendable = _reach(tenant_id)
    kind = f"{job_name}/settings"
    day = now.astimezone(ZoneInfo(timezone)).date()
    body = (
        f"ga-intel could not read the settings of {name} ({tenant_id}), so {job_name} skipped this tenant "
        f"at {now:%Y-%m-%d %H:%M %Z}. Nothing of yours is loaded or sent until they are fixed.\n\n"
        f"Error:\n{message}\n\nFix the settings on the dashboard's Settings page (or ask your operator: "
        f"`ga-intel tenant check {tenant_id}`).\n\n{FOOTER}"
    )
    return _record_and_send(
        tenant_id,
        name,
        timezone,
        sender,
        f"{job_name}:settings:{day}",
        job_name,
        None,
        kind,
        message,
        now,
        admins,
        f"{job_name} skipped your tenant: settings cannot be read",
        body,
        unsendable=unsendable,
    )


FOOTER = (
    "You get at most one alert per failure type per day; later failures of this type today are listed on "
    "the dashboard's Data page. What to do: docs/RUNBOOK.md.\n"
)


def _record_and_send(
    tenant_id: str,
    name: str,
    timezone: str,
    sender,
    run_id: str,
    job_name: str,
    partition: str | None,
    kind: str,
    message: str,
    failed_at: dt.datetime,
    admins: list[str],
    subject: str,
    body: str,
    unsendable: str | None = None,
) -> str:
    """Record one failure in `pipeline_failures`; claim the day's alert for its type
    (the `pipeline_alerts` row, inserted before sending) and send it to `admins`."""
    from ga_intel.db import tenant_scope

    day = failed_at.astimezone(ZoneInfo(timezone)).date()
    with tenant_scope(tenant_id) as conn:
        conn.execute(
            sa.text("""
            INSERT INTO tenant_data.pipeline_failures (tenant_id, run_id, job_name, partition_key, failure_type,
                message, failed_at, alert_date)
            VALUES (:tenant, :run, :job, :p, :kind, :msg, :at, :day) ON CONFLICT (tenant_id, run_id) DO NOTHING"""),
            {
                "tenant": tenant_id,
                "run": run_id,
                "job": job_name,
                "p": partition,
                "kind": kind,
                "msg": message,
                "at": failed_at,
                "day": day,
            },
        )
        claimed = conn.execute(
            sa.text("""
            INSERT INTO tenant_data.pipeline_alerts (tenant_id, alert_date, failure_type, first_run_id, recipients,
                status)
            VALUES (:tenant, :day, :kind, :run, :to, :status) ON CONFLICT DO NOTHING RETURNING 1"""),
            {
                "tenant": tenant_id,
                "day": day,
                "kind": kind,
                "run": run_id,
                "to": admins,
                "status": "sending" if admins else "no_recipients",
            },
        ).first()
    if not claimed:
        return f"{tenant_id}: {kind} already alerted on {day}"
    if not admins:
        return f"{tenant_id}: {kind} recorded; the tenant has no admin to alert"
    if sender is None:
        status, error = "failed", unsendable or "no SMTP settings"
    else:
        status, error = _send(sender, name, f"[ga-intel] {name}: {subject}", body, admins)
    with tenant_scope(tenant_id) as conn:
        conn.execute(
            sa.text(
                "UPDATE tenant_data.pipeline_alerts SET status = :s, error = :e, "
                "sent_at = CASE WHEN :s = 'sent' THEN now() END WHERE alert_date = :day AND failure_type = :kind"
            ),
            {"s": status, "e": error, "day": day, "kind": kind},
        )
    return f"{tenant_id}: {kind} alert {status}" + (f" ({error})" if error else "")


def _send(sender, name: str, subject: str, body: str, admins: list[str]) -> tuple[str, str | None]:
    from ga_intel.email.deliver import Mailer

    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = Address(sender.smtp.from_name, addr_spec=sender.smtp.from_address)
    msg["To"] = ", ".join(admins)
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(body, cte="quoted-printable")
    mailer = Mailer(sender)
    try:
        refused = mailer.send(msg, admins)
    finally:
        mailer.close()
    if len(refused) == len(admins):
        return "failed", "; ".join(f"{r}: {err}" for r, (_, err) in refused.items())[:2000]
    return "sent", None


@dg.run_failure_sensor(
    name="tenant_failure_alerts",
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=60,
    description="Records each tenant's failed runs and emails its admins once per failure type per day.",
)
def tenant_failure_alerts(context: dg.RunFailureSensorContext):
    from ga_intel.tenancy import store

    run = context.dagster_run
    tenant_id = tenant_of(run, set(context.instance.get_dynamic_partitions(TENANT_DIMENSION)) | set(store.tenant_ids()))
    if tenant_id is None:
        context.log.info(f"run {run.run_id} ({run.job_name}) is not a tenant's; no alert")
        return
    cls_name, message = innermost_error(_step_failure(context), context.failure_event.message)
    record = context.instance.get_run_record_by_id(run.run_id)
    failed_at = (record.end_time and dt.datetime.fromtimestamp(record.end_time, dt.UTC)) or dt.datetime.now(dt.UTC)
    from ga_intel.db.placement import UNAVAILABLE

    try:
        context.log.info(record_and_alert(tenant_id, run, cls_name, message, failed_at))
    except UNAVAILABLE as exc:
        # The ledger that de-duplicates alerts is in the tenant's own database: without it
        # this failure is not recorded or mailed (it stays in the Dagster UI), and the
        # sensor goes on to the other tenants' failures instead of stopping here.
        context.log.warning(f"run {run.run_id} of tenant {tenant_id} failed; not recorded or alerted: {exc.message}")

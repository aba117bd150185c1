"""The `email_reports` asset: a tenant × day's branch reports and summary, sent through
the delivery ledger. Materializing it again (a re-run, a retry, a backfill) never sends
a message the ledger marks sent."""

import datetime as dt

import dagster as dg

from ga_intel.orchestration.partitions import tenant_and_date, tenant_day_partitions

GROUP = "email"


class EmailReportConfig(dg.Config):
    force: bool = False  # send even if disabled, old, or the data is incomplete
    retry_failed: bool = False  # also re-send deliveries the ledger marks failed
    now: str | None = None  # ISO timestamp standing in for the clock (backfills, tests)


@dg.asset(
    name="email_reports",
    group_name=GROUP,
    partitions_def=tenant_day_partitions,
    deps=["tasks", "location_daily_metrics", "daily_metrics"],
    kinds={"email", "postgres"},
    description="Branch reports and the tenant summary for the day, sent once per recipient (docs/EMAIL.md).",
    check_specs=[
        dg.AssetCheckSpec(
            "reports_delivered",
            asset="email_reports",
            description="Every planned message is sent or deliberately skipped.",
        )
    ],
)
def email_reports(context: dg.AssetExecutionContext, config: EmailReportConfig):
    from ga_intel.email.deliver import send_day

    tenant_id, date_key = tenant_and_date(context)
    now = dt.datetime.fromisoformat(config.now) if config.now else None
    outcome = send_day(
        tenant_id,
        dt.date.fromisoformat(date_key),
        now=now,
        force=config.force,
        retry_failed=config.retry_failed,
        run_id=context.run.run_id,
        progress=context.log.info,
    )
    context.log.info(outcome.summary())
    ledger = outcome.ledger
    yield dg.MaterializeResult(
        metadata={
            "state": outcome.state,
            "reason": outcome.reason or "",
            "data_incomplete": outcome.data_incomplete,
            "sent_this_run": outcome.sent,
            "failed_this_run": outcome.failed,
            "interrupted": outcome.interrupted,
            **{f"ledger_{status}": n for status, n in sorted(ledger.items())},
        }
    )
    failed = ledger.get("failed", 0)
    waiting = outcome.state == "waiting"
    yield dg.AssetCheckResult(
        check_name="reports_delivered",
        passed=outcome.state != "waiting" and not failed,
        severity=dg.AssetCheckSeverity.WARN if waiting and not failed else dg.AssetCheckSeverity.ERROR,
        description=(
            f"{failed} delivery(ies) failed; `ga-intel email retry --tenant {tenant_id} --date {date_key}`"
            if failed
            else outcome.reason
            if waiting
            else "all planned messages sent or skipped"
        ),
        metadata={"failed": failed, "state": outcome.state},
    )

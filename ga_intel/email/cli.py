"""`ga-intel email ...`: preview, send, retry and inspect a tenant's reports."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from ga_intel.cli_support import needs_database


def _day(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)") from None


@click.group("email")
def email() -> None:
    """Branch email reports: preview, send, retry failed, ledger status."""


@email.command("preview")
@click.option("--tenant", "tenant_id", required=True)
@click.option("--branch", required=True, help="a branch code, or 'summary' for the tenant-wide summary")
@click.option("--date", "date", required=True, help="the report's day (YYYY-MM-DD)")
@click.option(
    "--out",
    "out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="HTML file to write (default: report-<tenant>-<branch>-<date>.html); the .txt goes beside it",
)
@needs_database
def email_preview(tenant_id: str, branch: str, date: str, out: Path | None) -> None:
    """Render a report to a file without sending anything."""
    from ga_intel.email.preview import preview

    day = _day(date)
    out = out or Path(f"report-{tenant_id}-{branch}-{day}.html")
    rendered = preview(tenant_id, branch, day)
    out.write_text(rendered.html)
    out.with_suffix(".txt").write_text(rendered.text)
    click.echo(f"subject: {rendered.subject}")
    click.echo(f"wrote {out} and {out.with_suffix('.txt')} (nothing was sent)")


def _send(tenant_id: str, date: str, force: bool, retry_failed: bool) -> None:
    from ga_intel.email.deliver import send_day
    from ga_intel.errors import GaIntelError

    outcome = send_day(
        tenant_id,
        _day(date),
        force=force,
        retry_failed=retry_failed,
        progress=lambda line: click.echo(f"  {line}", err=True),
    )
    click.echo(outcome.summary())
    if outcome.failed or outcome.state in ("waiting", "skipped_incomplete"):
        hint = (
            f"retry with `ga-intel email retry --tenant {tenant_id} --date {date}`"
            if outcome.failed
            else "use --force to send now with a 'data incomplete' note"
        )
        raise GaIntelError(
            f"{outcome.failed} delivery(ies) failed" if outcome.failed else f"not sent: {outcome.reason}", hint=hint
        )


@email.command("send")
@click.option("--tenant", "tenant_id", required=True)
@click.option("--date", "date", required=True, help="the report's day (YYYY-MM-DD)")
@click.option("--force", is_flag=True, help="send even if email is disabled, the day is old or its data incomplete")
@needs_database
def email_send(tenant_id: str, date: str, force: bool) -> None:
    """Send a day's reports now. Messages the ledger marks sent are never sent again."""
    _send(tenant_id, date, force, retry_failed=False)


@email.command("retry")
@click.option("--tenant", "tenant_id", required=True)
@click.option("--date", "date", required=True, help="the report's day (YYYY-MM-DD)")
@needs_database
def email_retry(tenant_id: str, date: str) -> None:
    """Send again the deliveries the ledger marks failed (and any still queued)."""
    _send(tenant_id, date, force=True, retry_failed=True)


@email.command("status")
@click.option("--tenant", "tenant_id", required=True)
@click.option("--date", "date", default=None, help="one report day (default: the latest 200 rows)")
@needs_database
def email_status(tenant_id: str, date: str | None) -> None:
    """The delivery ledger: one line per recipient."""
    from ga_intel.db import tenant_scope
    from ga_intel.email import ledger
    from ga_intel.tenancy import store

    store.get(tenant_id)
    with tenant_scope(tenant_id) as conn:
        rows = ledger.rows(conn, _day(date) if date else None, limit=200)
    if not rows:
        click.echo("no deliveries recorded" + (f" for {date}" if date else ""))
    for r in rows:
        detail = r["skip_reason"] or r["error"] or r["message_id"] or ""
        code = f" {r['smtp_code']}" if r["smtp_code"] and r["status"] == "failed" else ""
        click.echo(
            f"{r['report_date']} {r['report_kind']:<7} {r['branch_code']:<8} {r['recipient'] or '-':<36} "
            f"{r['status']:<8}{code} x{r['attempts']}  {detail}"
        )

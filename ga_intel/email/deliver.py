"""Send one tenant's reports for one day, exactly once per recipient.

    send_day(tenant, day)  ->  wait for data? -> plan the ledger -> for each report:
                               render and build the message -> claim its rows -> SMTP
                               -> mark sent / failed

A message that cannot be built (a template error, a bad address) fails its own rows
before any is claimed; nothing about one report stops the batch.

Every ledger change commits on its own, so a crash at any point leaves a ledger that
tells the truth (see ledger.py for why an interrupted row is never re-sent on its own).
A session-level advisory lock keeps two batches for the same tenant and day apart.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
import smtplib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from zoneinfo import ZoneInfo

from ga_intel.db import tenant_scope
from ga_intel.email import content, ledger
from ga_intel.email.content import SUMMARY, Report
from ga_intel.email.render import RenderedEmail, render
from ga_intel.errors import GaIntelError, ServiceError
from ga_intel.tenancy.tenant_file import TenantConfig

log = logging.getLogger(__name__)
MAX_BACKOFF_SECONDS = 60.0
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_MAILBOX = re.compile(r"[^@\s<>(),;:\"\[\]\\]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?")


@dataclass
class Outcome:
    tenant_id: str
    day: dt.date
    state: str  # done | waiting | disabled | too_old | skipped_incomplete
    reason: str | None = None
    data_incomplete: bool = False
    planned: int = 0
    sent: int = 0
    failed: int = 0
    interrupted: int = 0
    ledger: dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        if self.state != "done":
            return f"{self.tenant_id} {self.day}: {self.state}" + (f" ({self.reason})" if self.reason else "")
        states = ", ".join(f"{n} {s}" for s, n in sorted(self.ledger.items())) or "nothing to send"
        note = " [data incomplete]" if self.data_incomplete else ""
        return f"{self.tenant_id} {self.day}: sent {self.sent} now, failed {self.failed}; ledger: {states}{note}"


# --- timing rules -----------------------------------------------------------------------


def report_day(config: TenantConfig, now: dt.datetime) -> dt.date:
    """The day a report sent `now` is about: yesterday in the tenant's timezone."""
    return now.astimezone(ZoneInfo(config.timezone)).date() - dt.timedelta(days=1)


def _local_at(config: TenantConfig, day: dt.date, hour: int) -> dt.datetime:
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(hour), tzinfo=ZoneInfo(config.timezone))


def send_time(config: TenantConfig, day: dt.date) -> dt.datetime:
    return _local_at(config, day, config.email.send_hour)


def deadline(config: TenantConfig, day: dt.date) -> dt.datetime:
    return _local_at(config, day, config.email.incomplete_deadline_hour)


def too_old(config: TenantConfig, day: dt.date, now: dt.datetime) -> bool:
    return (report_day(config, now) - day).days > config.email.max_report_age_days


# --- SMTP with bounded retries ----------------------------------------------------------


class Mailer:
    """One SMTP connection for a batch, reopened after a failure. Transient failures
    (timeouts, dropped connections, 4xx replies) are retried with exponential backoff;
    permanent ones (5xx, a refused login, TLS trouble) fail at once."""

    def __init__(self, config: TenantConfig, sleep: Callable[[float], None] = time.sleep):
        self.config = config
        self.sleep = sleep
        self._conn: smtplib.SMTP | None = None

    def _connection(self) -> smtplib.SMTP:
        if self._conn is None:
            from ga_intel.connectors.smtp import open_connection

            self._conn = open_connection(self.config.smtp)
        return self._conn

    def _drop(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            finally:
                self._conn = None

    def close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.quit()
            except (smtplib.SMTPException, OSError):
                pass
            self._drop()

    def send(self, message: EmailMessage, recipients: list[str]) -> dict[str, tuple[int | None, str]]:
        """Send to `recipients`; returns the refused ones as {address: (code, error)}.
        Recipients refused with a 4xx are tried again within the attempt budget."""
        settings = self.config.email
        todo, refused = list(recipients), {}
        for attempt in range(1, settings.retry_attempts + 1):
            last = attempt == settings.retry_attempts
            try:
                conn = self._connection()
                # send_message writes CRLF line ends; sendmail(bytes) would send bare LFs.
                result = conn.send_message(message, self.config.smtp.from_address, todo)
                refused = {r: (code, _text(err)) for r, (code, err) in result.items()}
            except smtplib.SMTPRecipientsRefused as exc:
                refused = {r: (code, _text(err)) for r, (code, err) in exc.recipients.items()}
                self._reset()
            except smtplib.SMTPResponseException as exc:
                self._reset()
                error = (exc.smtp_code, f"{exc.smtp_code} {_text(exc.smtp_error)}")
                if not (400 <= exc.smtp_code < 500) or last:
                    return {**refused, **{r: error for r in todo}}
                log.warning(
                    "SMTP answered %s; retrying (attempt %d of %d)", exc.smtp_code, attempt, settings.retry_attempts
                )
                self._backoff(attempt)
                continue
            except ServiceError as exc:  # from connecting: refused login, TLS, unreachable
                self._drop()
                if not exc.transient or last:
                    return {**refused, **{r: (None, exc.message) for r in todo}}
                log.warning("%s; retrying (attempt %d of %d)", exc.message, attempt, settings.retry_attempts)
                self._backoff(attempt)
                continue
            except (TimeoutError, smtplib.SMTPServerDisconnected, OSError) as exc:
                self._drop()
                if last:
                    return {**refused, **{r: (None, f"connection lost: {exc}") for r in todo}}
                log.warning(
                    "SMTP connection lost (%s); retrying (attempt %d of %d)", exc, attempt, settings.retry_attempts
                )
                self._backoff(attempt)
                continue
            todo = [r for r, (code, _) in refused.items() if code is not None and 400 <= code < 500]
            if not todo or last:
                return refused
            for r in todo:
                refused.pop(r)
            log.warning(
                "%d recipient(s) deferred (4xx); retrying them (attempt %d of %d)",
                len(todo),
                attempt,
                settings.retry_attempts,
            )
            self._backoff(attempt)
        return refused

    def _reset(self) -> None:
        # After a refused transaction the session is still usable once RSET clears it.
        try:
            if self._conn is not None:
                self._conn.rset()
        except (smtplib.SMTPException, OSError):
            self._drop()

    def _backoff(self, attempt: int) -> None:
        self.sleep(min(self.config.email.retry_backoff_seconds * 2 ** (attempt - 1), MAX_BACKOFF_SECONDS))


def _text(value) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


def display_name(name: str | None) -> str:
    """A name as a header may carry it: control characters (a CR/LF would start a header
    of its own) become spaces. Master data is cleaned at load; names typed elsewhere too."""
    return " ".join(_CONTROL.sub(" ", name or "").split())


def build_message(
    config: TenantConfig, rendered: RenderedEmail, recipients: list[dict], report: Report, message_id: str
) -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = rendered.subject
    msg["From"] = Address(display_name(config.smtp.from_name), addr_spec=config.smtp.from_address)
    msg["To"] = [Address(display_name(r["recipient_name"]), addr_spec=r["recipient"]) for r in recipients]
    msg["Date"] = format_datetime(dt.datetime.now(dt.UTC))
    msg["Message-ID"] = message_id
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-GA-Intel-Report"] = f"{config.id}; {report.kind}; {report.branch_code}; {report.day.isoformat()}"
    # Quoted-printable keeps every line under SMTP's 998-octet limit (inlined CSS makes
    # very long lines) and survives any relay.
    msg.set_content(rendered.text, cte="quoted-printable")
    msg.add_alternative(rendered.html, subtype="html", cte="quoted-printable")
    return msg


def _message_id(config: TenantConfig, claimed: list[dict]) -> str:
    # Stable for the same rows and attempt: a receiving server that de-duplicates on
    # Message-ID drops a copy that an uncertain retry might produce.
    digest = hashlib.sha256("|".join(f"{r['idempotency_key']}:{r['attempts']}" for r in claimed).encode())
    domain = config.smtp.from_address.rsplit("@", 1)[-1]
    return f"<{digest.hexdigest()[:32]}@{domain}>"


# --- the batch --------------------------------------------------------------------------


def _plan(conn, config: TenantConfig, day: dt.date, incomplete: str | None) -> tuple[list[ledger.Planned], dict]:
    planned: list[ledger.Planned] = []
    reports: dict[tuple[str, str], Report] = {}
    for code, name in content.branches(conn):
        report = content.branch_report(conn, config, day, code, name, incomplete)
        reports[("branch", code)] = report
        recipients = content.branch_recipients(conn, config, code)
        if not recipients:
            planned.append(ledger.Planned("branch", code, "", skip_reason="no recipients"))
        elif not report.has_activity:
            planned += [ledger.Planned("branch", code, r.email, r.name, skip_reason="no data") for r in recipients]
        else:
            planned += [ledger.Planned("branch", code, r.email, r.name) for r in recipients]
    summary = content.summary_report(conn, config, day, incomplete)
    reports[("summary", SUMMARY)] = summary
    recipients = content.summary_recipients(config)
    if not recipients:
        planned.append(ledger.Planned("summary", SUMMARY, "", skip_reason="no recipients"))
    else:
        planned += [ledger.Planned("summary", SUMMARY, r.email, r.name) for r in recipients]
    return planned, reports


def _report_for(conn, config: TenantConfig, day: dt.date, kind: str, branch: str, incomplete: str | None) -> Report:
    if kind == "summary":
        return content.summary_report(conn, config, day, incomplete)
    name = dict(content.branches(conn)).get(branch, branch)
    return content.branch_report(conn, config, day, branch, name, incomplete)


def send_day(
    tenant_id: str,
    day: dt.date,
    *,
    now: dt.datetime | None = None,
    force: bool = False,
    retry_failed: bool = False,
    run_id: str | None = None,
    sleep: Callable[[float], None] = time.sleep,
    progress: Callable[[str], None] | None = None,
) -> Outcome:
    """Plan and send `tenant_id`'s reports for `day`. Safe to call any number of times.

    force: send even if email is disabled, the day is old or its data is incomplete.
    retry_failed: also re-send rows marked failed (an operator's explicit decision)."""
    from ga_intel.tenancy import store

    now = now or dt.datetime.now(dt.UTC)
    config = store.get(tenant_id)
    settings = config.email
    if not settings.enabled and not force:
        return Outcome(tenant_id, day, "disabled", "email.enabled is false in the tenant settings")
    if too_old(config, day, now) and not force and not retry_failed:
        return Outcome(
            tenant_id,
            day,
            "too_old",
            f"reports older than {settings.max_report_age_days} day(s) are not "
            "sent on their own (email.max_report_age_days); use --force to send anyway",
        )
    with _day_lock(tenant_id, day):
        with tenant_scope(tenant_id) as conn:
            interrupted = ledger.recover_interrupted(conn, day)
            incomplete = content.completeness(conn, day)
        if interrupted:
            log.warning(
                "%d delivery(ies) of %s %s were interrupted by an earlier crash; marked failed",
                interrupted,
                tenant_id,
                day,
            )
        if incomplete and not force:
            if settings.wait_for_complete_data and now < deadline(config, day):
                return Outcome(
                    tenant_id,
                    day,
                    "waiting",
                    f"{incomplete}; waiting until {deadline(config, day).isoformat()} (email.incomplete_deadline_hour)",
                    interrupted=interrupted,
                )
            if not settings.send_incomplete_after_deadline:
                return Outcome(
                    tenant_id,
                    day,
                    "skipped_incomplete",
                    f"{incomplete}; email.send_incomplete_after_deadline is false",
                    interrupted=interrupted,
                )
        with tenant_scope(tenant_id) as conn:
            planned_rows, reports = _plan(conn, config, day, incomplete)
            planned = ledger.plan(conn, tenant_id, day, planned_rows, run_id, incomplete is not None)
            groups = ledger.pending_groups(conn, day, include_failed=retry_failed)
        outcome = Outcome(tenant_id, day, "done", incomplete, incomplete is not None, planned, interrupted=interrupted)
        mailer = Mailer(config, sleep=sleep)
        try:
            for i, (kind, branch) in enumerate(groups, 1):
                _send_group(config, day, kind, branch, reports, incomplete, retry_failed, run_id, mailer, outcome)
                if progress:
                    progress(f"{i}/{len(groups)} reports: {outcome.sent} sent, {outcome.failed} failed")
        finally:
            mailer.close()
        with tenant_scope(tenant_id) as conn:
            outcome.ledger = ledger.counts(conn, day)
    return outcome


def _send_group(config, day, kind, branch, reports, incomplete, retry_failed, run_id, mailer, outcome) -> None:
    """One report's message: built first from the rows it would go to, then those rows
    claimed, then sent. Whatever goes wrong fails this report's rows (recorded on each),
    never the batch: the day's other reports still go out."""
    with tenant_scope(config.id) as conn:
        report = reports.get((kind, branch)) or _report_for(conn, config, day, kind, branch, incomplete)
        rows = ledger.sendable(conn, day, kind, branch, retry_failed)
    if not rows:
        return  # another batch got there first
    unsendable = {}
    try:
        rendered = render(report, config.email)
    except Exception as exc:  # a template that validated but fails on real data
        rendered = None
        unsendable = {r["idempotency_key"]: f"rendering failed: {type(exc).__name__}: {exc}" for r in rows}
    if rendered is not None:
        for r in rows:
            problem = address_problem(r["recipient"])
            if problem:
                unsendable[r["idempotency_key"]] = problem
    sendable = [r for r in rows if r["idempotency_key"] not in unsendable]
    message = None
    if sendable:
        # The attempt the claim below records, so the Message-ID is the claimed rows'.
        message, error = _try_build(config, rendered, [{**r, "attempts": r["attempts"] + 1} for r in sendable], report)
        if message is None:
            unsendable.update({r["idempotency_key"]: error for r in sendable})
            sendable = []
    if unsendable:
        with tenant_scope(config.id) as conn:
            for key, error in unsendable.items():
                ledger.fail_unsent(conn, key, error, run_id)
        outcome.failed += len(unsendable)
        log.warning(
            "%s %s %s: %d message(s) could not be built; recorded as failed", config.id, kind, branch, len(unsendable)
        )
    if not sendable:
        return
    with tenant_scope(config.id) as conn:
        claimed = ledger.claim(
            conn, day, kind, branch, retry_failed, run_id, keys=[r["idempotency_key"] for r in sendable]
        )
    if not claimed:
        return  # another batch got there first
    if [(r["idempotency_key"], r["attempts"]) for r in claimed] != [
        (r["idempotency_key"], r["attempts"] + 1) for r in sendable
    ]:
        message, _ = _try_build(config, rendered, claimed, report)  # the same rows built once already
    by_address = {r["recipient"]: r for r in claimed}
    try:
        if message is None:
            raise GaIntelError("the message could not be built for the claimed rows")
        refused = mailer.send(message, list(by_address))
    except Exception as exc:  # noqa: BLE001 - e.g. the server refusing the message's encoding: this report only
        refused = {a: (None, f"sending failed: {type(exc).__name__}: {exc}") for a in by_address}
    with tenant_scope(config.id) as conn:
        for address, (code, error) in refused.items():
            ledger.mark_failed(conn, by_address[address]["idempotency_key"], code, error, rendered.subject)
        ledger.mark_sent(
            conn,
            [r["idempotency_key"] for a, r in by_address.items() if a not in refused],
            message["Message-ID"] if message else "",
            rendered.subject,
            report.data_incomplete,
        )
    outcome.sent += len(by_address) - len(refused)
    outcome.failed += len(refused)


def address_problem(address: str) -> str | None:
    """Why `address` cannot be a recipient of a report, or None. Reports go out without
    SMTPUTF8, so an address must be plain ASCII, one mailbox, no control characters."""
    if not address:
        return "no recipient address"
    if not address.isascii():
        return (
            f"recipient address {address!r} has non-ASCII characters, which ga-intel does not send to; "
            "fix it in the sales-rep mapping or the locations file"
        )
    if _CONTROL.search(address) or not _MAILBOX.fullmatch(address):
        return (
            f"recipient address {address!r} is not a single email address; "
            "fix it in the sales-rep mapping or the locations file"
        )
    return None


def _try_build(config, rendered, rows, report) -> tuple[EmailMessage | None, str | None]:
    try:
        message = build_message(config, rendered, rows, report, _message_id(config, rows))
        message.as_bytes()  # header errors surface when the message is written, not when it is built
        return message, None
    except Exception as exc:  # noqa: BLE001 - fail this report's rows, not the batch
        return None, f"the message could not be built: {type(exc).__name__}: {exc}"


def _day_lock(tenant_id: str, day: dt.date):
    """Session-level advisory lock on (tenant, day), held on its own connection for the
    whole batch; released by PostgreSQL if the process dies."""
    from ga_intel.db.locks import session_lock

    return session_lock(
        f"ga-intel-email:{tenant_id}:{day.isoformat()}",
        GaIntelError(
            f"another run is sending the {tenant_id} {day} reports right now; nothing was done",
            hint="wait for it to finish (Dagster UI), then check `ga-intel email status`",
        ),
    )

"""The delivery ledger, `tenant_data.email_deliveries`: one row per message a person
should get (tenant × report kind × date × branch × recipient), keyed by a stable
idempotency key. Rows only move forward:

    queued -> sending -> sent | failed        skipped (final, with a reason)
    failed -> sending (only by an explicit retry)

`sending` is written and committed before a message is handed to the SMTP server, and
`sent` right after the server accepts it. A row still `sending` when the next batch
starts belongs to a batch that died in between: whether the server got that message is
unknown, so it is turned into `failed` ("interrupted") and never re-sent on its own.
That is the one place a person decides (`ga-intel email retry`), and the reason a
re-run can never send a message twice.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

INTERRUPTED = (
    "interrupted while handing the message to the SMTP server; it may or may not have "
    "been delivered. Retry (`ga-intel email retry`) to send it again"
)


def idempotency_key(tenant_id: str, kind: str, day: dt.date, branch: str, recipient: str) -> str:
    raw = "\x1f".join((tenant_id, kind, day.isoformat(), branch, recipient.lower()))
    return hashlib.sha256(raw.encode()).hexdigest()


@dataclass(frozen=True)
class Planned:
    kind: str
    branch: str
    recipient: str  # '' for a skipped report without recipients
    recipient_name: str | None = None
    skip_reason: str | None = None


def plan(
    conn: Connection, tenant_id: str, day: dt.date, rows: list[Planned], run_id: str | None, data_incomplete: bool
) -> int:
    """Queue (or record as skipped) every planned message; rows already in the ledger keep
    their state. Returns how many rows are new."""
    new = 0
    for r in rows:
        new += conn.execute(
            sa.text("""
            INSERT INTO tenant_data.email_deliveries (tenant_id, idempotency_key, report_kind, report_date,
                branch_code, recipient, recipient_name, status, skip_reason, data_incomplete, run_id)
            VALUES (:tenant, :k, :kind, :d, :b, :r, :n, :status, :reason, :inc, :run)
            ON CONFLICT (tenant_id, idempotency_key) DO NOTHING"""),
            {
                "tenant": tenant_id,
                "k": idempotency_key(tenant_id, r.kind, day, r.branch, r.recipient),
                "kind": r.kind,
                "d": day,
                "b": r.branch,
                "r": r.recipient,
                "n": r.recipient_name,
                "status": "skipped" if r.skip_reason else "queued",
                "reason": r.skip_reason,
                "inc": data_incomplete,
                "run": run_id,
            },
        ).rowcount
    return new


def recover_interrupted(conn: Connection, day: dt.date) -> int:
    return conn.execute(
        sa.text(
            "UPDATE tenant_data.email_deliveries SET status = 'failed', error = :e, updated_at = now() "
            "WHERE report_date = :d AND status = 'sending'"
        ),
        {"d": day, "e": INTERRUPTED},
    ).rowcount


def pending_groups(conn: Connection, day: dt.date, include_failed: bool) -> list[tuple[str, str]]:
    """(kind, branch) of every report with a message still to send."""
    statuses = ("queued", "failed") if include_failed else ("queued",)
    return [
        tuple(r)
        for r in conn.execute(
            sa.text(
                "SELECT DISTINCT report_kind, branch_code FROM tenant_data.email_deliveries "
                "WHERE report_date = :d AND status IN :s ORDER BY report_kind, branch_code"
            ).bindparams(sa.bindparam("s", expanding=True)),
            {"d": day, "s": list(statuses)},
        )
    ]


def sendable(conn: Connection, day: dt.date, kind: str, branch: str, include_failed: bool) -> list[dict]:
    """A report's rows that a batch would send, without claiming them: its message is
    built from these first, so a message that cannot be built never leaves a row `sending`."""
    statuses = ["queued", "failed"] if include_failed else ["queued"]
    rows = conn.execute(
        sa.text("""
        SELECT idempotency_key, recipient, recipient_name, attempts FROM tenant_data.email_deliveries
        WHERE report_date = :d AND report_kind = :kind AND branch_code = :b AND status IN :s""").bindparams(
            sa.bindparam("s", expanding=True)
        ),
        {"d": day, "kind": kind, "b": branch, "s": statuses},
    ).mappings()
    return sorted((dict(r) for r in rows), key=lambda r: r["recipient"])


def claim(
    conn: Connection,
    day: dt.date,
    kind: str,
    branch: str,
    include_failed: bool,
    run_id: str | None,
    keys: list[str] | None = None,
) -> list[dict]:
    """Move a report's sendable rows (only `keys`, when given) to `sending` (committed by
    the caller before any SMTP traffic). A concurrent batch cannot claim the same rows."""
    statuses = ["queued", "failed"] if include_failed else ["queued"]
    only = "AND idempotency_key IN :keys" if keys is not None else ""
    statement = sa.text(f"""
        UPDATE tenant_data.email_deliveries SET status = 'sending', attempts = attempts + 1,
               last_attempt_at = now(), updated_at = now(), run_id = :run
        WHERE report_date = :d AND report_kind = :kind AND branch_code = :b AND status IN :s {only}
        RETURNING idempotency_key, recipient, recipient_name, attempts""").bindparams(sa.bindparam("s", expanding=True))
    params = {"d": day, "kind": kind, "b": branch, "s": statuses, "run": run_id}
    if keys is not None:
        if not keys:
            return []
        statement = statement.bindparams(sa.bindparam("keys", expanding=True))
        params["keys"] = keys
    rows = conn.execute(statement, params).mappings().all()
    return sorted((dict(r) for r in rows), key=lambda r: r["recipient"])


def fail_unsent(conn: Connection, key: str, error: str, run_id: str | None) -> None:
    """Record that a row's message could not even be built (a bad address, a template
    error): nothing was handed to SMTP, so the row goes straight to `failed`."""
    conn.execute(
        sa.text(
            "UPDATE tenant_data.email_deliveries SET status = 'failed', attempts = attempts + 1, smtp_code = NULL, "
            "error = :e, last_attempt_at = now(), updated_at = now(), run_id = :run "
            "WHERE idempotency_key = :k AND status IN ('queued', 'failed')"
        ),
        {"k": key, "e": error[:2000], "run": run_id},
    )


def mark_sent(conn: Connection, keys: list[str], message_id: str, subject: str, data_incomplete: bool) -> None:
    if keys:
        conn.execute(
            sa.text(
                "UPDATE tenant_data.email_deliveries SET status = 'sent', message_id = :m, subject = :s, sent_at = now(), "
                "smtp_code = 250, error = NULL, data_incomplete = :inc, updated_at = now() "
                "WHERE idempotency_key IN :k AND status = 'sending'"
            ).bindparams(sa.bindparam("k", expanding=True)),
            {"k": keys, "m": message_id, "s": subject, "inc": data_incomplete},
        )


def mark_failed(conn: Connection, key: str, code: int | None, error: str, subject: str | None = None) -> None:
    conn.execute(
        sa.text(
            "UPDATE tenant_data.email_deliveries SET status = 'failed', smtp_code = :c, error = :e, "
            "subject = coalesce(:s, subject), updated_at = now() WHERE idempotency_key = :k AND status = 'sending'"
        ),
        {"k": key, "c": code, "e": error[:2000], "s": subject},
    )


# States a batch leaves a row in; `queued` and `sending` mean a batch is still due or died.
TERMINAL = ("sent", "failed", "skipped")


def settled(conn: Connection, day: dt.date) -> bool:
    """True once the ledger holds the day's report and every row is in a terminal state
    (what the schedule and sensor ask before requesting a send): a batch that stopped
    midway leaves rows queued, and the report is then still due."""
    return bool(
        conn.execute(
            sa.text(
                "SELECT count(*) > 0 AND count(*) FILTER (WHERE status NOT IN :terminal) = 0 "
                "FROM tenant_data.email_deliveries WHERE report_date = :d"
            ).bindparams(sa.bindparam("terminal", expanding=True)),
            {"d": day, "terminal": list(TERMINAL)},
        ).scalar()
    )


def counts(conn: Connection, day: dt.date) -> dict[str, int]:
    rows = conn.execute(
        sa.text("SELECT status, count(*) FROM tenant_data.email_deliveries WHERE report_date = :d GROUP BY status"),
        {"d": day},
    ).all()
    return {status: n for status, n in rows}


def rows(conn: Connection, day: dt.date | None = None, limit: int = 1000) -> list[dict]:
    """Ledger rows, newest report first (CLI status and the dashboard)."""
    where = "WHERE report_date = :d" if day else ""
    return [
        dict(r)
        for r in conn.execute(
            sa.text(
                f"SELECT report_date, report_kind, branch_code, recipient, recipient_name, status, skip_reason, attempts, "
                f"smtp_code, error, message_id, subject, data_incomplete, last_attempt_at, sent_at, run_id "
                f"FROM tenant_data.email_deliveries {where} "
                f"ORDER BY report_date DESC, report_kind, branch_code, recipient LIMIT :n"
            ),
            {"d": day, "n": limit},
        ).mappings()
    ]

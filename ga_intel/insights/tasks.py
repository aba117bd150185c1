"""Tasks: computed per tenant × day, upserted by deterministic key.

Re-running any day, in any order, never duplicates a task and never resets what a
person set (status, note). The computation may only:
- create a task, or refresh its facts (title, value, context, assignee);
- delete a cart task nobody touched once a purchase inside its window shows up
  (a cart bought within the window never becomes a task);
- auto-close: `recovered` (bought after the window), `expired` (older than the tenant's
  task_expiry_days), from `open` or `in_progress` only.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ga_intel.errors import GaIntelError
from ga_intel.insights.queries import rule_params, sql
from ga_intel.tenancy.tenant_file import RuleSettings

PERSON_STATUSES = ("open", "in_progress", "done", "dismissed")
ACTIVE = ("open", "in_progress")


@dataclass
class TaskRun:
    upserted: dict[str, int] = field(default_factory=dict)
    withdrawn: int = 0
    skipped_cooldown: int = 0
    skipped_open_repeat: int = 0
    recovered: int = 0
    expired: int = 0


_UPSERT = """
INSERT INTO tenant_data.tasks (tenant_id, task_key, task_type, account_key, customer_id, company_id, branch_code,
    assigned_rep_email, assigned_rep_name, source_date, created_date, due_date, priority, title, value, context)
VALUES (:tenant, :task_key, :task_type, :account_key, :customer_id, :company_id, :branch_code,
    :assigned_rep_email, :assigned_rep_name, :day, :created_date, :due_date, :priority, :title, :value,
    CAST(:context AS jsonb))
ON CONFLICT (tenant_id, task_key) DO UPDATE SET
    customer_id = EXCLUDED.customer_id, company_id = EXCLUDED.company_id, branch_code = EXCLUDED.branch_code,
    assigned_rep_email = EXCLUDED.assigned_rep_email, assigned_rep_name = EXCLUDED.assigned_rep_name,
    due_date = EXCLUDED.due_date, priority = EXCLUDED.priority, title = EXCLUDED.title, value = EXCLUDED.value,
    context = EXCLUDED.context, updated_at = now()
    -- status, status_set_by/at and note are the people's: never touched here
"""


def compute(conn: Connection, tenant_id: str, day: dt.date, rules: RuleSettings) -> TaskRun:
    import json

    run = TaskRun()
    params = {"tenant": tenant_id, "day": day, **rule_params(rules)}
    candidates = [dict(r) for r in conn.execute(sa.text(sql("task_candidates")), params).mappings()]
    for c in candidates:
        if c["task_type"] == "cart_recovery":
            if c["bought_in_window"]:
                # Bought inside the window: not a task. Withdraw one made before the
                # purchase was loaded, unless a person has already acted on it.
                run.withdrawn += conn.execute(sa.text(
                    "DELETE FROM tenant_data.tasks WHERE tenant_id = :t AND task_key = :k "
                    "AND status = 'open' AND status_set_by IS NULL"), {"t": tenant_id, "k": c["task_key"]}).rowcount
                continue
            if not c["window_over"]:
                continue  # the customer may still buy: decide on a later run
            if conn.execute(sa.text(
                    "SELECT 1 FROM tenant_data.tasks WHERE tenant_id = :t AND task_type = 'cart_recovery' "
                    "AND account_key = :a AND task_key <> :k AND abs(created_date - CAST(:d AS date)) < :cool"),
                    {"t": tenant_id, "a": c["account_key"], "k": c["task_key"], "d": c["created_date"],
                     "cool": rules.cart_cooldown_days}).first():
                run.skipped_cooldown += 1
                continue
        if c["task_type"] == "repeat_visitor" and conn.execute(sa.text(
                "SELECT 1 FROM tenant_data.tasks WHERE tenant_id = :t AND task_type = 'repeat_visitor' "
                "AND account_key = :a AND task_key <> :k AND status IN ('open', 'in_progress')"),
                {"t": tenant_id, "a": c["account_key"], "k": c["task_key"]}).first():
            run.skipped_open_repeat += 1  # one open repeat-visitor task per customer
            continue
        conn.execute(sa.text(_UPSERT), {
            **{k: c[k] for k in ("task_key", "task_type", "account_key", "customer_id", "company_id", "branch_code",
                                 "assigned_rep_email", "assigned_rep_name", "created_date", "due_date", "priority",
                                 "title", "value")},
            "tenant": tenant_id, "day": day, "context": json.dumps(c["context"], default=str),
        })
        run.upserted[c["task_type"]] = run.upserted.get(c["task_type"], 0) + 1
    run.recovered = _recover(conn, tenant_id, rules)
    run.expired = conn.execute(sa.text(
        "UPDATE tenant_data.tasks SET status = 'expired', status_set_by = 'ga-intel', status_set_at = now(), "
        "updated_at = now() WHERE tenant_id = :t AND status = 'open' AND created_date < CAST(:d AS date) - :days"),
        {"t": tenant_id, "d": day, "days": rules.task_expiry_days}).rowcount
    return run


def _recover(conn: Connection, tenant_id: str, rules: RuleSettings) -> int:
    """Close active cart tasks whose customer bought after the window; credit that order."""
    return conn.execute(sa.text("""
        WITH {attribution},
        buys AS (
          SELECT CASE WHEN ku.user_id IS NOT NULL THEN 'user:' || ku.user_id
                      WHEN kc.company_id IS NOT NULL THEN 'company:' || kc.company_id END AS account_key,
                 p.event_time, p.event_date, p.revenue
          FROM tenant_data.purchases p
          LEFT JOIN known_users ku ON ku.user_id = p.customer_id
          LEFT JOIN known_companies kc ON kc.company_id = p.company_id
          WHERE p.tenant_id = :t
        ),
        firsts AS (
          SELECT DISTINCT ON (t.task_key) t.task_key, b.event_date, b.revenue
          FROM tenant_data.tasks t
          JOIN buys b ON b.account_key = t.account_key
                     AND b.event_time > CAST(t.context->>'window_ends' AS timestamptz)
                     AND b.event_date <= t.created_date + :expiry
          WHERE t.tenant_id = :t AND t.task_type = 'cart_recovery' AND t.status IN ('open', 'in_progress')
          ORDER BY t.task_key, b.event_time
        )
        UPDATE tenant_data.tasks t SET status = 'recovered', status_set_by = 'ga-intel', status_set_at = now(),
               recovered_revenue = f.revenue, recovered_on = f.event_date, updated_at = now()
        FROM firsts f WHERE t.tenant_id = :t AND t.task_key = f.task_key
    """.replace("{attribution}", _attribution()).replace(":tenant", ":t")),
        {"t": tenant_id, "expiry": rules.task_expiry_days}).rowcount


def _attribution() -> str:
    from ga_intel.insights.queries import SQL_DIR

    return "\n".join(line for line in (SQL_DIR / "_attribution.sql").read_text().splitlines()
                     if not line.lstrip().startswith("--"))


def set_status(conn: Connection, tenant_id: str, task_key: str, status: str, by: str, note: str | None = None) -> None:
    """A person's change (dashboard, CLI): kept across every later re-computation."""
    if status not in PERSON_STATUSES:
        raise GaIntelError(f"status must be one of {', '.join(PERSON_STATUSES)}, not {status!r}")
    found = conn.execute(sa.text(
        "UPDATE tenant_data.tasks SET status = :s, status_set_by = :by, status_set_at = now(), "
        "note = COALESCE(:note, note), updated_at = now() WHERE tenant_id = :t AND task_key = :k RETURNING 1"),
        {"s": status, "by": by, "note": note, "t": tenant_id, "k": task_key}).first()
    if not found:
        raise GaIntelError(f"no task {task_key!r} for tenant {tenant_id!r}")

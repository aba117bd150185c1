"""Tasks: computed per tenant × day, set-based, upserted by deterministic key.

The vocabulary of tasks (types, labels, statuses) is defined here once; the dashboard,
the email and the API import it.

A run for day D (docs/TASKS.md):
1. finds the candidates (sql/task_candidates.sql) with a decision each;
2. withdraws cart tasks bought within their window, unless a person acted on them;
3. upserts the rest in one statement: a new task is `open`, or `stale` when it is first
   computed after its actionable horizon (a backfill, a late export); an existing task
   gets its facts refreshed, never its status, status_set_by/at or note;
4. records cart recoveries (sql/recover_carts.sql), and withdraws one whose order no longer
   counts (a re-fire, once its transaction's earlier day is loaded);
5. expires open tasks past their horizon.

Re-running any day, in any order, never duplicates a task and never resets what a
person set. `today` is the tenant's local date (or the run's `as_of`): it decides what is
stale or expired, and nothing else.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ga_intel.db import sqlfiles
from ga_intel.errors import GaIntelError
from ga_intel.insights.queries import rule_params, window_days
from ga_intel.tenancy.tenant_file import TenantConfig

TASK_TYPES = {
    "purchase_followup": "Purchase follow-ups",
    "cart_recovery": "Cart recovery",
    "search_followup": "Search follow-ups",
    "repeat_visitor": "Repeat visitors",
}
STATUS_LABELS = {
    "open": "Open",
    "in_progress": "In progress",
    "done": "Done",
    "dismissed": "Dismissed",
    "recovered": "Recovered",
    "expired": "Expired",
    "stale": "Stale",
}
STATUSES = tuple(STATUS_LABELS)
PERSON_STATUSES = ("open", "in_progress", "done", "dismissed")  # what a person may set
WORK_LIST_STATUSES = ("open", "in_progress")  # what a work list shows
ACCOUNT_REVENUE_DAYS = 90  # the score's account revenue


@dataclass
class TaskRun:
    upserted: dict[str, int] = field(default_factory=dict)  # per type, created or refreshed
    created_stale: int = 0
    withdrawn: int = 0
    waiting: int = 0  # carts whose window the loaded data does not cover yet
    skipped_cooldown: int = 0
    skipped_open_repeat: int = 0
    recovered: int = 0
    recovered_days: set[dt.date] = field(default_factory=set)  # their metrics change (new and former days)
    expired: int = 0


def cart_days_back(config: TenantConfig) -> int:
    """How many days before a run's day it still decides carts of: a cart's window ends at
    most `window_days` later, and a quiet night may leave it uncovered one more day."""
    return window_days(config) + 2


def local_today(config: TenantConfig) -> dt.date:
    from zoneinfo import ZoneInfo

    return dt.datetime.now(ZoneInfo(config.timezone)).date()


def compute(
    conn: Connection, tenant_id: str, day: dt.date, config: TenantConfig, today: dt.date | None = None
) -> TaskRun:
    rules = config.rules
    today = today or local_today(config)
    run = TaskRun()
    back = dt.timedelta(days=max(cart_days_back(config), ACCOUNT_REVENUE_DAYS - 1, rules.repeat_visitor_days - 1))
    params = {
        "tenant": tenant_id,
        "day": day,
        "today": today,
        "timezone": config.timezone,
        **rule_params(config),
        "cart_days_back": cart_days_back(config),
        "cooldown": rules.cart_cooldown_days,
        "purchases_from": day - back,
        "purchases_to": day + dt.timedelta(days=window_days(config)),
        **{
            f"horizon_{short}": rules.horizon_days(task_type)
            for short, task_type in (
                ("cart", "cart_recovery"),
                ("purchase", "purchase_followup"),
                ("search", "search_followup"),
                ("repeat", "repeat_visitor"),
            )
        },
    }
    conn.execute(sa.text("CREATE TEMP TABLE task_candidates ON COMMIT DROP AS " + _sql("task_candidates")), params)
    for decision, task_type, n in conn.execute(
        sa.text("SELECT decision, task_type, count(*) FROM task_candidates GROUP BY 1, 2")
    ):
        if decision == "create":
            run.upserted[task_type] = n
        else:
            attr = {"wait": "waiting", "cooldown": "skipped_cooldown", "open_repeat": "skipped_open_repeat"}
            if decision in attr:
                setattr(run, attr[decision], getattr(run, attr[decision]) + n)
    # A cart bought inside its window is not a task: withdraw one made before the purchase
    # was loaded, unless a person has already acted on it.
    run.withdrawn = conn.execute(
        sa.text(
            "DELETE FROM tenant_data.tasks t USING task_candidates c "
            "WHERE t.tenant_id = :tenant AND t.task_key = c.task_key AND c.decision = 'withdraw' "
            "AND t.status IN ('open', 'stale') AND t.status_set_by IS NULL"
        ),
        {"tenant": tenant_id},
    ).rowcount
    run.created_stale = _upsert_candidates(conn, tenant_id, day, today)
    conn.execute(sa.text("DROP TABLE task_candidates"))
    span = dt.timedelta(days=window_days(config) + rules.recovery_window_days + 1)
    recovered = conn.execute(
        sa.text(_sql("recover_carts")),
        {
            "tenant": tenant_id,
            "currency": config.ga4.reporting_currency,
            "recovery_days": rules.recovery_window_days,
            "tasks_from": day - span,
            "tasks_to": day + span,
            "purchases_from": day - span,
            "purchases_to": day + span * 2,
        },
    ).all()
    run.recovered = sum(1 for on, _ in recovered if on is not None)
    run.recovered_days = {d for row in recovered for d in row if d is not None}
    run.expired = conn.execute(
        sa.text(
            "UPDATE tenant_data.tasks SET status = 'expired', status_set_by = 'ga-intel', status_set_at = now(), "
            "updated_at = now() WHERE tenant_id = :tenant AND status = 'open' AND horizon_date < :today"
        ),
        {"tenant": tenant_id, "today": today},
    ).rowcount
    return run


def _upsert_candidates(conn: Connection, tenant_id: str, day: dt.date, today: dt.date) -> int:
    """Step 3: the `create` candidates of task_candidates into tasks, in one statement;
    returns how many new tasks were created stale. (test_insights_both_ways.py runs the
    day again with a row-by-row reference in its place and compares the outcomes.)"""
    return conn.execute(sa.text(_UPSERT), {"tenant": tenant_id, "day": day, "today": today}).scalar() or 0


def _sql(name: str) -> str:
    return sqlfiles.render(f"ga_intel/insights/sql/{name}.sql")


# One statement for every candidate: the roll-up triggers on tasks (migration 0008) then
# run once per run, not once per task. Rows whose facts did not change are not touched.
_UPSERT = """
WITH written AS (
  INSERT INTO tenant_data.tasks AS t (tenant_id, task_key, task_type, account_key, customer_id, company_id,
      branch_code, assigned_rep_email, assigned_rep_name, source_date, created_date, due_date, horizon_date, priority,
      title, value, context, account_revenue_90d, status)
  SELECT :tenant, task_key, task_type, account_key, customer_id, company_id, branch_code, assigned_rep_email,
         assigned_rep_name, :day, created_date, due_date, horizon_date, priority, title, value, context,
         account_revenue_90d, CASE WHEN CAST(:today AS date) > horizon_date THEN 'stale' ELSE 'open' END
  FROM task_candidates WHERE decision = 'create'
  ORDER BY task_key
  ON CONFLICT (tenant_id, task_key) DO UPDATE SET
      customer_id = EXCLUDED.customer_id, company_id = EXCLUDED.company_id, branch_code = EXCLUDED.branch_code,
      assigned_rep_email = EXCLUDED.assigned_rep_email, assigned_rep_name = EXCLUDED.assigned_rep_name,
      -- a transaction first seen on an earlier day, loaded later, moves its task there
      created_date = LEAST(t.created_date, EXCLUDED.created_date), due_date = EXCLUDED.due_date,
      horizon_date = EXCLUDED.horizon_date, priority = EXCLUDED.priority, title = EXCLUDED.title,
      value = EXCLUDED.value, context = EXCLUDED.context, account_revenue_90d = EXCLUDED.account_revenue_90d,
      updated_at = now()
      -- status, status_set_by/at, note and the recovery are never touched here
  WHERE (t.customer_id, t.company_id, t.branch_code, t.assigned_rep_email, t.assigned_rep_name, t.created_date,
         t.due_date, t.horizon_date, t.priority, t.title, t.value, t.context, t.account_revenue_90d)
        IS DISTINCT FROM
        (EXCLUDED.customer_id, EXCLUDED.company_id, EXCLUDED.branch_code, EXCLUDED.assigned_rep_email,
         EXCLUDED.assigned_rep_name, LEAST(t.created_date, EXCLUDED.created_date), EXCLUDED.due_date,
         EXCLUDED.horizon_date, EXCLUDED.priority, EXCLUDED.title, EXCLUDED.value, EXCLUDED.context,
         EXCLUDED.account_revenue_90d)
  RETURNING t.status, (xmax = 0) AS inserted
)
SELECT count(*) FROM written WHERE inserted AND status = 'stale'
"""


def set_status(conn: Connection, tenant_id: str, task_key: str, status: str, by: str, note: str | None = None) -> None:
    """A person's change (dashboard, CLI, API): kept across every later re-computation.
    The first time a person takes a task up (in progress, or done) is recorded: recovery
    after contact is told apart from recovery on its own by it."""
    if status not in PERSON_STATUSES:
        raise GaIntelError(f"status must be one of {', '.join(PERSON_STATUSES)}, not {status!r}")
    found = conn.execute(
        sa.text(
            "UPDATE tenant_data.tasks SET status = :s, status_set_by = :by, status_set_at = now(), "
            "note = COALESCE(:note, note), updated_at = now(), "
            "first_touched_at = CASE WHEN :s IN ('in_progress', 'done') THEN COALESCE(first_touched_at, now()) "
            "                        ELSE first_touched_at END "
            "WHERE tenant_id = :tenant AND task_key = :k RETURNING 1"
        ),
        {"s": status, "by": by, "note": note, "tenant": tenant_id, "k": task_key},
    ).first()
    if not found:
        raise GaIntelError(f"no task {task_key!r} for tenant {tenant_id!r}")

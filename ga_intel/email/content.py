"""What a report says: figures, open tasks and recipients, read under the tenant's
row-level security. Rendering (render.py) and delivery (deliver.py) take these as given."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ga_intel.tenancy.tenant_file import TenantConfig

SQL_DIR = Path(__file__).parent / "sql"
SUMMARY = "*"  # branch_code of the tenant-wide summary in the ledger

TASK_TYPES = {
    "purchase_followup": "Purchase follow-ups",
    "cart_recovery": "Cart recovery",
    "search_followup": "Search follow-ups",
    "repeat_visitor": "Repeat visitors",
}


@cache
def _sql(name: str) -> sa.TextClause:
    return sa.text((SQL_DIR / f"{name}.sql").read_text())


@dataclass(frozen=True)
class Recipient:
    email: str
    name: str
    role: str  # rep | manager


@dataclass(frozen=True)
class Figure:
    label: str
    value: float | None
    previous: float | None
    kind: str  # money | count | percent
    higher_is_better: bool = True

    @property
    def change(self) -> float | None:
        """Relative change against the previous week; None when there is nothing to compare."""
        if self.value is None or not self.previous:
            return None
        return (self.value - self.previous) / abs(self.previous)


@dataclass
class TaskLine:
    task_key: str
    title: str
    value: Decimal | None
    priority: int
    due_date: dt.date
    status: str
    rep: str | None
    company: str | None
    contact_name: str | None
    contact_email: str | None
    contact_phone: str | None
    details: list[str]


@dataclass
class TaskGroup:
    task_type: str
    label: str
    total: int
    tasks: list[TaskLine]

    @property
    def more(self) -> int:
        return self.total - len(self.tasks)


@dataclass
class Report:
    """One report: a branch's, or the tenant-wide summary (branch_code == SUMMARY)."""

    tenant_id: str
    tenant_name: str
    kind: str  # branch | summary
    branch_code: str
    branch_name: str
    day: dt.date
    currency: str
    day_figures: list[Figure]
    week_figures: list[Figure]
    task_groups: list[TaskGroup]
    branches: list[dict] = field(default_factory=list)  # summary only
    data_incomplete: bool = False
    incomplete_reason: str | None = None
    links: dict[str, str] = field(default_factory=dict)

    @property
    def open_tasks(self) -> int:
        return sum(g.total for g in self.task_groups)

    @property
    def has_activity(self) -> bool:
        return bool(self.open_tasks) or any(f.value for f in self.day_figures + self.week_figures)


# --- recipients -------------------------------------------------------------------------

def branch_recipients(conn: Connection, config: TenantConfig, branch: str) -> list[Recipient]:
    """The branch's enabled reps and managers (sales-rep mapping), plus members who manage
    that branch in the dashboard. One entry per address."""
    rows = conn.execute(sa.text(
        "SELECT rep_email, rep_name, role FROM tenant_data.sales_reps WHERE branch_code = :b AND enabled "
        "ORDER BY role DESC, rep_email"), {"b": branch}).all()
    found = {email: Recipient(email, name, role) for email, name, role in rows}
    for m in config.members:
        if m.role == "manager" and m.branch == branch and m.email not in found:
            found[m.email] = Recipient(m.email, m.email.split("@")[0], "manager")
    return sorted(found.values(), key=lambda r: r.email)


def summary_recipients(config: TenantConfig) -> list[Recipient]:
    """Tenant managers: members with the manager role and no branch of their own."""
    return sorted((Recipient(m.email, m.email.split("@")[0], "manager") for m in config.members
                   if m.role == "manager" and not m.branch), key=lambda r: r.email)


def branches(conn: Connection) -> list[tuple[str, str]]:
    """Every branch in the locations list: (code, name)."""
    return [tuple(r) for r in conn.execute(sa.text(
        "SELECT warehouse_code, warehouse_name FROM tenant_data.locations ORDER BY warehouse_code"))]


# --- completeness -----------------------------------------------------------------------

def completeness(conn: Connection, day: dt.date) -> str | None:
    """Why the day's data is not complete yet, or None when it is."""
    availability = conn.execute(sa.text(
        "SELECT status, source_table, message FROM tenant_data.data_availability WHERE event_date = :d"),
        {"d": day}).first()
    if availability is None:
        return f"GA4 data for {day} has not been loaded"
    # A loaded daily table is what the morning report is for, even while GA4 may still
    # restate it ('provisional'); only an intraday stand-in is not the day yet.
    loaded = availability.status == "complete" or (
        availability.status == "provisional" and not availability.source_table.startswith("events_intraday_"))
    if not loaded:
        detail = f" ({availability.message})" if availability.message else ""
        return f"GA4 data for {day} is {availability.status}{detail}"
    computed = conn.execute(sa.text(
        "SELECT computed_at FROM tenant_data.daily_metrics WHERE event_date = :d"), {"d": day}).first()
    if computed is None:
        return f"metrics and tasks for {day} have not been computed"
    return None


# --- figures ----------------------------------------------------------------------------

_SUMS = ("revenue", "transactions", "purchasers", "sessions", "converting_sessions", "carts_created",
         "carts_abandoned", "recovered_revenue", "searches", "no_click_searches")


def _sum(rows: list, start: dt.date, end: dt.date) -> dict | None:
    picked = [r for r in rows if start <= r.event_date <= end]
    if not picked:
        return None
    return {k: float(sum(getattr(r, k) or 0 for r in picked)) for k in _SUMS}


def _ratio(a: float, b: float) -> float | None:
    return a / b if b else None


def _figures(now: dict | None, before: dict | None) -> list[Figure]:
    def pick(sums, fn):
        return None if sums is None else fn(sums)

    spec = [
        ("Revenue", "money", lambda s: s["revenue"]),
        ("Orders", "count", lambda s: s["transactions"]),
        ("Average order value", "money", lambda s: _ratio(s["revenue"], s["transactions"])),
        ("Sessions", "count", lambda s: s["sessions"]),
        ("Session conversion", "percent", lambda s: _ratio(s["converting_sessions"], s["sessions"])),
        ("Abandoned carts", "count", lambda s: s["carts_abandoned"]),
        ("Cart abandonment", "percent", lambda s: _ratio(s["carts_abandoned"], s["carts_created"])),
        ("Recovered revenue", "money", lambda s: s["recovered_revenue"]),
        ("Searches", "count", lambda s: s["searches"]),
        ("Searches without a click", "percent", lambda s: _ratio(s["no_click_searches"], s["searches"])),
    ]
    lower_is_better = {"Abandoned carts", "Cart abandonment", "Searches without a click"}
    return [Figure(label, pick(now, fn), pick(before, fn), kind, label not in lower_is_better)
            for label, kind, fn in spec]


def figures(conn: Connection, tenant_id: str, day: dt.date, branch: str | None) -> tuple[list[Figure], list[Figure]]:
    """(the day vs the same weekday a week before, the 7 days vs the 7 before)."""
    rows = conn.execute(_sql("figures"), {"tenant": tenant_id, "day": day, "branch": branch}).all()
    week = dt.timedelta(days=7)
    day_figs = _figures(_sum(rows, day, day), _sum(rows, day - week, day - week))
    week_figs = _figures(_sum(rows, day - dt.timedelta(days=6), day),
                         _sum(rows, day - dt.timedelta(days=13), day - week))
    return day_figs, week_figs


# --- tasks ------------------------------------------------------------------------------

def _details(task_type: str, context: dict) -> list[str]:
    """The context a rep needs before calling: what was in the cart, what they searched."""
    def items(entries):
        out = []
        for i in entries or []:
            qty = i.get("quantity")
            out.append(f"{i.get('item_name') or i.get('item_id')}" + (f" × {qty:g}" if isinstance(qty, (int, float)) else ""))
        return out

    if task_type in ("cart_recovery", "purchase_followup"):
        return items(context.get("items"))
    if task_type == "search_followup":
        terms = context.get("terms") or []
        none = set(context.get("no_result_terms") or [])
        return [f"“{t}”" + (" (no results)" if t in none else "") for t in terms]
    if task_type == "repeat_visitor":
        return [f"{context.get('sessions')} sessions on {context.get('days')} days "
                f"in the last {context.get('window_days')} days, no order"]
    return []


def task_groups(conn: Connection, tenant_id: str, day: dt.date, branch: str, limit: int) -> list[TaskGroup]:
    groups: dict[str, TaskGroup] = {}
    for r in conn.execute(_sql("open_tasks"), {"tenant": tenant_id, "day": day, "branch": branch}).mappings():
        group = groups.setdefault(r["task_type"], TaskGroup(r["task_type"], TASK_TYPES.get(r["task_type"], r["task_type"]),
                                                             r["type_total"], []))
        if len(group.tasks) < limit:
            group.tasks.append(TaskLine(
                r["task_key"], r["title"], r["value"], r["priority"], r["due_date"], r["status"],
                r["assigned_rep_name"] or r["assigned_rep_email"], r["company_name"], r["contact_name"],
                r["contact_email"], r["contact_phone"], _details(r["task_type"], r["context"] or {})))
    return [groups[t] for t in TASK_TYPES if t in groups]


def _links(config: TenantConfig, branch: str | None) -> dict[str, str]:
    from urllib.parse import urlencode

    base = config.email.dashboard_url.rstrip("/")
    query = urlencode({"tenant": config.id, **({"branch": branch} if branch else {})})
    return {"dashboard": f"{base}/overview?{query}", "tasks": f"{base}/tasks?{query}"}


def day_currency(conn: Connection, day: dt.date) -> str:
    """The tenant's usual currency around `day` (the same for every report of the day)."""
    found = conn.execute(sa.text(
        "SELECT currency FROM tenant_data.purchases WHERE event_date BETWEEN CAST(:d AS date) - 30 AND :d "
        "AND currency IS NOT NULL GROUP BY currency ORDER BY count(*) DESC LIMIT 1"), {"d": day}).scalar()
    return found or "USD"


def branch_report(conn: Connection, config: TenantConfig, day: dt.date, branch: str, branch_name: str,
                  incomplete: str | None = None, currency: str | None = None) -> Report:
    day_figs, week_figs = figures(conn, config.id, day, branch)
    return Report(
        config.id, config.name, "branch", branch, branch_name, day, currency or day_currency(conn, day),
        day_figs, week_figs,
        task_groups(conn, config.id, day, branch, config.email.max_tasks_per_type),
        data_incomplete=incomplete is not None, incomplete_reason=incomplete, links=_links(config, branch))


def summary_report(conn: Connection, config: TenantConfig, day: dt.date, incomplete: str | None = None,
                   currency: str | None = None) -> Report:
    day_figs, week_figs = figures(conn, config.id, day, None)
    rows = [dict(r) for r in conn.execute(_sql("branch_overview"), {"tenant": config.id, "day": day}).mappings()]
    totals = conn.execute(sa.text(
        "SELECT task_type, count(*) FROM tenant_data.tasks WHERE status IN ('open', 'in_progress') "
        "AND created_date <= :d GROUP BY task_type"), {"d": day}).all()
    by_type = dict(totals)
    groups = [TaskGroup(t, label, by_type[t], []) for t, label in TASK_TYPES.items() if by_type.get(t)]
    return Report(
        config.id, config.name, "summary", SUMMARY, "All branches", day, currency or day_currency(conn, day),
        day_figs, week_figs,
        groups, branches=rows, data_incomplete=incomplete is not None, incomplete_reason=incomplete,
        links=_links(config, None))

"""What a report says: figures, open tasks and recipients, read under the tenant's
row-level security. Rendering (render.py) and delivery (deliver.py) take these as given."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ga_intel.db import sqlfiles
from ga_intel.insights import change, users, work_list
from ga_intel.insights.tasks import TASK_TYPES
from ga_intel.tenancy.tenant_file import TenantConfig

SUMMARY = "*"  # branch_code of the tenant-wide summary in the ledger


def _sql(name: str) -> sa.TextClause:
    return sa.text(sqlfiles.render(f"ga_intel/email/sql/{name}.sql"))


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
        return change.relative(self.value, self.previous)

    @property
    def change_text(self) -> str | None:
        """'+12%', '−5%', 'new' or '×302' (insights/change.py); None: nothing to compare."""
        if self.kind == "percent":  # a rate's change is in percentage points
            if self.value is None or self.previous is None:
                return None
            return f"{'+' if self.value >= self.previous else '−'}{abs(self.value - self.previous) * 100:.1f} pp"
        return change.describe(self.value, self.previous)


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
    task_type: str = ""
    type_label: str = ""
    is_new: bool = False
    days_overdue: int = 0


@dataclass
class RepList:
    """One assignee's ranked list for the day: today's new tasks first, then the rest by
    score, at most the tenant's daily_list_cap; `total` is the whole open list."""

    rep_name: str | None
    rep_email: str | None  # None: tasks of the branch that nobody is assigned to
    total: int
    new: int
    tasks: list[TaskLine]
    link: str

    @property
    def more(self) -> int:
        return self.total - len(self.tasks)

    @property
    def label(self) -> str:
        return self.rep_name or self.rep_email or "Not assigned to a rep"


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
    task_groups: list[TaskGroup]  # open tasks per type (counts)
    rep_lists: list[RepList] = field(default_factory=list)  # branch only
    branches: list[dict] = field(default_factory=list)  # summary only
    data_incomplete: bool = False
    incomplete_reason: str | None = None
    links: dict[str, str] = field(default_factory=dict)

    @property
    def open_tasks(self) -> int:
        """Open tasks still within their horizon (the work lists' total)."""
        return sum(g.total for g in self.task_groups)

    @property
    def has_activity(self) -> bool:
        return bool(self.open_tasks) or any(f.value for f in self.day_figures + self.week_figures)


# --- recipients -------------------------------------------------------------------------


def branch_recipients(conn: Connection, config: TenantConfig, branch: str) -> list[Recipient]:
    """The branch's enabled reps and managers (sales-rep mapping), plus members who manage
    that branch in the dashboard. One entry per address."""
    rows = conn.execute(
        sa.text(
            "SELECT rep_email, rep_name, role FROM tenant_data.sales_reps WHERE branch_code = :b AND enabled "
            "ORDER BY role DESC, rep_email"
        ),
        {"b": branch},
    ).all()
    found = {email: Recipient(email, name, role) for email, name, role in rows}
    for m in config.members:
        if m.role == "manager" and m.branch == branch and m.email not in found:
            found[m.email] = Recipient(m.email, m.email.split("@")[0], "manager")
    return sorted(found.values(), key=lambda r: r.email)


def summary_recipients(config: TenantConfig) -> list[Recipient]:
    """Tenant managers: members with the manager role and no branch of their own."""
    return sorted(
        (
            Recipient(m.email, m.email.split("@")[0], "manager")
            for m in config.members
            if m.role == "manager" and not m.branch
        ),
        key=lambda r: r.email,
    )


def branches(conn: Connection) -> list[tuple[str, str]]:
    """Every branch in the locations list: (code, name)."""
    return [
        tuple(r)
        for r in conn.execute(
            sa.text("SELECT warehouse_code, warehouse_name FROM tenant_data.locations ORDER BY warehouse_code")
        )
    ]


# --- completeness -----------------------------------------------------------------------


def completeness(conn: Connection, day: dt.date) -> str | None:
    """Why the day's data is not complete yet, or None when it is."""
    availability = conn.execute(
        sa.text("SELECT status, source_table, message FROM tenant_data.data_availability WHERE event_date = :d"),
        {"d": day},
    ).first()
    if availability is None:
        return f"GA4 data for {day} has not been loaded"
    # A loaded daily table is what the morning report is for, even while GA4 may still
    # restate it ('provisional'); only an intraday stand-in is not the day yet.
    loaded = availability.status == "complete" or (
        availability.status == "provisional" and not availability.source_table.startswith("events_intraday_")
    )
    if not loaded:
        detail = f" ({availability.message})" if availability.message else ""
        return f"GA4 data for {day} is {availability.status}{detail}"
    computed = conn.execute(
        sa.text("SELECT computed_at FROM tenant_data.daily_metrics WHERE event_date = :d"), {"d": day}
    ).first()
    if computed is None:
        return f"metrics and tasks for {day} have not been computed"
    return None


# --- figures ----------------------------------------------------------------------------

_SUMS = (
    "revenue",
    "refunds",
    "net_revenue",
    "transactions",
    "purchasers",
    "sessions",
    "engaged_sessions",
    "new_users",
    "converting_sessions",
    "carts_created",
    "carts_abandoned",
    "recovered_revenue",
    "recovered_after_contact_revenue",
    "searches",
    "no_click_searches",
)


def _sum(rows: list, start: dt.date, end: dt.date) -> dict | None:
    picked = [r for r in rows if start <= r.event_date <= end]
    if not picked:
        return None
    sums = {k: float(sum(getattr(r, k) or 0 for r in picked)) for k in _SUMS}
    # Users are never added up over days: the days' sketches are merged (insights/users.py).
    sums["users"] = float(users.distinct_users(r.users_sketch for r in picked))
    return sums


def _ratio(a: float, b: float) -> float | None:
    return a / b if b else None


def _figures(now: dict | None, before: dict | None) -> list[Figure]:
    def pick(sums, fn):
        return None if sums is None else fn(sums)

    spec = [
        ("Revenue", "money", lambda s: s["revenue"]),
        ("Net revenue (after refunds)", "money", lambda s: s["net_revenue"]),
        ("Orders", "count", lambda s: s["transactions"]),
        ("Average order value", "money", lambda s: _ratio(s["revenue"], s["transactions"])),
        ("Sessions", "count", lambda s: s["sessions"]),
        ("Engagement rate", "percent", lambda s: _ratio(s["engaged_sessions"], s["sessions"])),
        ("Users", "count", lambda s: s["users"]),
        ("New users", "count", lambda s: s["new_users"]),
        ("Session conversion", "percent", lambda s: _ratio(s["converting_sessions"], s["sessions"])),
        ("Abandoned carts", "count", lambda s: s["carts_abandoned"]),
        ("Cart abandonment", "percent", lambda s: _ratio(s["carts_abandoned"], s["carts_created"])),
        ("Recovered revenue", "money", lambda s: s["recovered_revenue"]),
        ("… after a rep's contact", "money", lambda s: s["recovered_after_contact_revenue"]),
        ("Searches", "count", lambda s: s["searches"]),
        ("Searches without a click", "percent", lambda s: _ratio(s["no_click_searches"], s["searches"])),
    ]
    lower_is_better = {"Abandoned carts", "Cart abandonment", "Searches without a click"}
    return [
        Figure(label, pick(now, fn), pick(before, fn), kind, label not in lower_is_better) for label, kind, fn in spec
    ]


def figures(conn: Connection, tenant_id: str, day: dt.date, branch: str | None) -> tuple[list[Figure], list[Figure]]:
    """(the day vs the same weekday a week before, the 7 days vs the 7 before)."""
    rows = conn.execute(_sql("figures"), {"tenant": tenant_id, "day": day, "branch": branch}).all()
    week = dt.timedelta(days=7)
    day_figs = _figures(_sum(rows, day, day), _sum(rows, day - week, day - week))
    week_figs = _figures(
        _sum(rows, day - dt.timedelta(days=6), day), _sum(rows, day - dt.timedelta(days=13), day - week)
    )
    return day_figs, week_figs


# --- tasks ------------------------------------------------------------------------------


def _details(task_type: str, context: dict) -> list[str]:
    """The context a rep needs before calling: what was in the cart, what they searched."""

    def items(entries):
        out = []
        for i in entries or []:
            qty = i.get("quantity")
            out.append(
                f"{i.get('item_name') or i.get('item_id')}" + (f" × {qty:g}" if isinstance(qty, (int, float)) else "")
            )
        return out

    if task_type in ("cart_recovery", "purchase_followup"):
        return items(context.get("items"))
    if task_type == "search_followup":
        terms = context.get("terms") or []
        none = set(context.get("no_result_terms") or [])
        return [f"“{t}”" + (" (no results)" if t in none else "") for t in terms]
    if task_type == "repeat_visitor":
        return [
            f"{context.get('sessions')} sessions on {context.get('days')} days "
            f"in the last {context.get('window_days')} days, no order"
        ]
    return []


def _line(r: dict) -> TaskLine:
    return TaskLine(
        r["task_key"],
        r["title"],
        r["value"],
        r["priority"],
        r["due_date"],
        r["status"],
        r["assigned_rep_name"] or r["assigned_rep_email"],
        r["company_name"],
        r["contact_name"],
        r["contact_email"],
        r["contact_phone"],
        _details(r["task_type"], r["context"] or {}),
        task_type=r["task_type"],
        type_label=TASK_TYPES.get(r["task_type"], r["task_type"]),
        is_new=r["is_new"],
        days_overdue=r["days_overdue"],
    )


def work_day(day: dt.date) -> dt.date:
    """The morning a report about `day` is read: its work list is that day's."""
    return day + dt.timedelta(days=1)


def rep_lists(conn: Connection, config: TenantConfig, day: dt.date, branch: str) -> list[RepList]:
    """Each assignee's ranked list in the branch (insights/sql/work_list.sql), capped at the
    tenant's daily_list_cap, with a link to the rest on the dashboard."""
    cap = config.rules.daily_list_cap
    lists: dict[str, RepList] = {}
    for r in work_list.rows(conn, config.id, work_day(day), new_since=day, branch=branch, cap=cap):
        email = r["assigned_rep_email"]
        key = (email or "").lower()
        if key not in lists:
            lists[key] = RepList(
                r["assigned_rep_name"],
                email,
                r["list_size"],
                r["list_new"],
                [],
                _links(config, branch, rep=key)["tasks"],
            )
        lists[key].tasks.append(_line(r))
    return list(lists.values())


def task_groups(lists: list[RepList]) -> list[TaskGroup]:
    """Open tasks per type, counted over the listed tasks (the summary by type)."""
    totals: dict[str, int] = {}
    for rep in lists:
        for t in rep.tasks:
            totals[t.task_type] = totals.get(t.task_type, 0) + 1
    return [TaskGroup(t, label, totals[t], []) for t, label in TASK_TYPES.items() if t in totals]


def _links(config: TenantConfig, branch: str | None, rep: str | None = None) -> dict[str, str]:
    """Dashboard links, filtered to the branch (and a rep's list: '' is the unassigned)."""
    from urllib.parse import urlencode

    base = config.email.dashboard_url.rstrip("/")
    query = {"tenant": config.id, **({"branch": branch} if branch else {})}
    tasks_query = {**query, **({"rep": rep or "unassigned"} if rep is not None else {})}
    return {"dashboard": f"{base}/overview?{urlencode(query)}", "tasks": f"{base}/tasks?{urlencode(tasks_query)}"}


def branch_report(
    conn: Connection, config: TenantConfig, day: dt.date, branch: str, branch_name: str, incomplete: str | None = None
) -> Report:
    day_figs, week_figs = figures(conn, config.id, day, branch)
    lists = rep_lists(conn, config, day, branch)
    groups = _open_by_type(conn, config.id, work_day(day), branch)
    return Report(
        config.id,
        config.name,
        "branch",
        branch,
        branch_name,
        day,
        config.ga4.reporting_currency,
        day_figs,
        week_figs,
        groups,
        rep_lists=lists,
        data_incomplete=incomplete is not None,
        incomplete_reason=incomplete,
        links=_links(config, branch),
    )


def _open_by_type(conn: Connection, tenant_id: str, today: dt.date, branch: str | None) -> list[TaskGroup]:
    """Open work-list tasks per type: what is still actionable (horizon not passed)."""
    totals = dict(
        conn.execute(
            sa.text(
                "SELECT task_type, count(*) FROM tenant_data.tasks WHERE tenant_id = :tenant "
                "AND status IN ('open', 'in_progress') AND horizon_date >= :today "
                "AND (CAST(:branch AS text) IS NULL OR branch_code = :branch) GROUP BY task_type"
            ),
            {"tenant": tenant_id, "today": today, "branch": branch},
        ).all()
    )
    return [TaskGroup(t, label, totals[t], []) for t, label in TASK_TYPES.items() if totals.get(t)]


def summary_report(conn: Connection, config: TenantConfig, day: dt.date, incomplete: str | None = None) -> Report:
    day_figs, week_figs = figures(conn, config.id, day, None)
    rows = [
        dict(r)
        for r in conn.execute(
            _sql("branch_overview"), {"tenant": config.id, "day": day, "today": work_day(day)}
        ).mappings()
    ]
    return Report(
        config.id,
        config.name,
        "summary",
        SUMMARY,
        "All branches",
        day,
        config.ga4.reporting_currency,
        day_figs,
        week_figs,
        _open_by_type(conn, config.id, work_day(day), None),
        branches=rows,
        data_incomplete=incomplete is not None,
        incomplete_reason=incomplete,
        links=_links(config, None),
    )

"""What each page reads, as functions of the page's `Context`: the one list of a page's
queries, shared by the page and by `ga-intel bench dashboard` (which runs them uncached,
through `data.uncached`, and reports each page's p95).

Every query goes through `data.fetch(ctx.tenant_id, ...)`: tenant-scoped by row-level
security, cached per tenant. Task queries also carry the person's scope (lib/task_scope.py).
The branch filter (`ctx.branch_filter`) narrows every query that has a branch.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pandas as pd
import streamlit as st

from ga_intel.insights.tasks import STATUSES as TASK_STATUSES  # one vocabulary, insights/tasks.py
from ga_intel.insights.tasks import TASK_TYPES as TASK_TYPE_LABELS
from ga_intel.insights.tasks import WORK_LIST_STATUSES as ACTIVE_STATUSES
from streamlit_app.lib import context, data, metrics, task_scope

TASK_TYPES = tuple(TASK_TYPE_LABELS)
TASK_LIST_LIMIT = 500
ACTIVITY_LIMIT = 20
TOP = 100


# ---------------------------------------------------------------- Overview
@dataclass
class Overview:
    days: pd.DataFrame  # the period, one row per day with figures
    previous: pd.DataFrame  # the previous period of equal length
    users: int | None = None  # distinct users of the period
    previous_users: int | None = None  # ... and of the previous one
    entry_pages: pd.DataFrame = field(default_factory=pd.DataFrame)  # tenant-wide


def overview(ctx: context.Context) -> Overview:
    prev_start, prev_end = metrics.previous_period(ctx.start, ctx.end)
    both = metrics.daily(ctx.tenant_id, prev_start, ctx.end, ctx.branch_filter)  # one query for both periods
    if both.empty:
        return Overview(both, both)
    current = both["event_date"] >= pd.Timestamp(ctx.start)
    return Overview(
        both[current].reset_index(drop=True),
        both[~current].reset_index(drop=True),
        users=metrics.users(ctx.tenant_id, ctx.start, ctx.end, ctx.branch_filter),
        previous_users=metrics.users(ctx.tenant_id, prev_start, prev_end, ctx.branch_filter),
        entry_pages=data.fetch(ctx.tenant_id, "entry_pages", start=ctx.start, end=ctx.end, top=20),
    )


# ---------------------------------------------------------------- Cart abandonment
@dataclass
class Carts:
    days: pd.DataFrame  # metrics per day: carts created / abandoned, recovered revenue
    tasks_by_day: pd.DataFrame  # cart-recovery tasks per created_date and status: carts, value, recovered_revenue
    top_products: pd.DataFrame
    open_tasks: pd.DataFrame  # the person's open cart-recovery tasks


def carts(ctx: context.Context) -> Carts:
    return Carts(
        days=metrics.daily(ctx.tenant_id, ctx.start, ctx.end, ctx.branch_filter),
        tasks_by_day=data.fetch(
            ctx.tenant_id, "cart_tasks_daily", start=ctx.start, end=ctx.end, branch=ctx.branch_filter
        ),
        top_products=data.fetch(
            ctx.tenant_id,
            "cart_top_products",
            start=ctx.start,
            end=ctx.end,
            branch=ctx.branch_filter,
            top=20,
            **metrics.whole_months(ctx.start, ctx.end),
        ),
        open_tasks=task_list(ctx, TaskFilters(types=("cart_recovery",), statuses=ACTIVE_STATUSES)),
    )


# ---------------------------------------------------------------- Locations
@dataclass
class Locations:
    branches: pd.DataFrame  # one row per branch: summed counts and rates
    days: pd.DataFrame  # per branch and day


def locations(ctx: context.Context) -> Locations:
    summary = metrics.branches(ctx.tenant_id, ctx.start, ctx.end)
    days = data.fetch(ctx.tenant_id, "locations_daily", start=ctx.start, end=ctx.end)
    if not days.empty:
        days = metrics.with_rates(days)
    return Locations(summary, days)


# ---------------------------------------------------------------- Search
@dataclass
class Search:
    terms: pd.DataFrame
    days: pd.DataFrame


def search(ctx: context.Context) -> Search:
    return Search(
        terms=metrics.search_terms(ctx.tenant_id, ctx.start, ctx.end, ctx.branch_filter, top=TOP),
        days=metrics.daily(ctx.tenant_id, ctx.start, ctx.end, ctx.branch_filter),
    )


# ---------------------------------------------------------------- Data
def data_availability(ctx: context.Context) -> pd.DataFrame:
    """One row per day of the dates, `not loaded` where no load is recorded."""
    from ga_intel.reads import days

    return days.availability(ctx.tenant_id, ctx.start, ctx.end, fetch=data.fetch)


# ---------------------------------------------------------------- Tasks
@dataclass(frozen=True)
class TaskFilters:
    types: tuple[str, ...] = TASK_TYPES
    statuses: tuple[str, ...] = ACTIVE_STATUSES
    branch: str | None = None  # narrows further than the branch filter can't widen (see task_list)
    rep: str | None = None  # an email (lowercase), '' for unassigned, None for anyone


def task_summary(ctx: context.Context, today: dt.date | None = None) -> pd.DataFrame:
    """Per status, type, branch and assignee within the person's scope and the branch filter."""
    return data.fetch(
        ctx.tenant_id,
        task_scope.scoped_sql("tasks_summary"),
        start=ctx.start,
        end=ctx.end,
        branch=ctx.branch_filter,
        today=today or dt.date.today(),
        **metrics.whole_months(ctx.start, ctx.end),
        **task_scope.params(ctx),
    )


def task_list(ctx: context.Context, filters: TaskFilters, limit: int = TASK_LIST_LIMIT) -> pd.DataFrame:
    """The person's tasks (scope in the SQL), by priority and due date, at most `limit`."""
    branch = ctx.branch_filter
    if filters.branch and branch and filters.branch != branch:
        return _no_tasks()  # a page filter outside the branch filter: nothing, never a widening
    from ga_intel.reads import tasks

    return tasks.task_list(
        ctx,
        ctx.start,
        ctx.end,
        types=tuple(filters.types or TASK_TYPES),
        statuses=tuple(filters.statuses or TASK_STATUSES),
        branch=filters.branch or branch,
        rep=filters.rep,
        limit=limit,
        fetch=data.fetch,
    )


def daily_list(ctx: context.Context, rep: str | None):
    """The ranked list for today (`ga_intel.reads.tasks.daily_list`, the email's query too),
    within the person's scope and the branch filter: `rep` an email, '' the unassigned,
    None anyone's."""
    from ga_intel.reads import tasks

    return tasks.daily_list(ctx, rep, ctx.branch_filter, fetch=data.fetch, rules=tenant_rules(ctx.tenant_id))


@st.cache_data(ttl=60, show_spinner=False)
def tenant_rules(tenant_id: str) -> tuple[str, int]:
    """(timezone, daily_list_cap) of the tenant, cached a minute."""
    from ga_intel.reads import tasks

    return tasks.tenant_rules(tenant_id)


@st.cache_data(ttl=60, show_spinner=False)
def reporting_currency(tenant_id: str) -> str:
    """The ISO code the tenant's figures are in (tenant file `ga4.reporting_currency`)."""
    from ga_intel.tenancy import store

    return store.get(tenant_id).ga4.reporting_currency


def _no_tasks() -> pd.DataFrame:
    return pd.DataFrame(
        columns=[
            "task_key",
            "task_type",
            "status",
            "priority",
            "due_date",
            "created_date",
            "branch_code",
            "assigned_rep_email",
            "assigned_rep_name",
            "title",
            "value",
            "customer_id",
            "company_id",
            "account_key",
            "note",
            "status_set_by",
            "status_set_at",
            "recovered_revenue",
            "recovered_on",
            "context",
        ]
    )


@dataclass
class Activity:
    customers: pd.DataFrame
    sessions: pd.DataFrame
    cart_adds: pd.DataFrame
    searches: pd.DataFrame
    purchases: pd.DataFrame
    about: str = field(default="")


def activity(ctx: context.Context, task: dict) -> Activity:
    """The recent activity of a task's customer (else its buying company). `task` must be a
    row of `task_list` for this `ctx`: the caller picks it from the scoped list."""
    who = {
        "customer_id": task.get("customer_id") or None,
        "company_id": task.get("company_id") or None,
        "limit": ACTIVITY_LIMIT,
    }
    from streamlit_app.lib.widgets import plain  # ids come from the site and master data: no Markdown

    about = (
        f"customer **{plain(who['customer_id'])}**"
        if who["customer_id"]
        else f"company **{plain(who['company_id'])}** (all its people)"
    )
    if not who["customer_id"] and not who["company_id"]:
        empty = pd.DataFrame()
        return Activity(empty, empty, empty, empty, empty, about="no customer or company on this task")
    fetch = lambda name: data.fetch(ctx.tenant_id, name, **who)  # noqa: E731
    return Activity(
        fetch("activity_customer"),
        fetch("activity_sessions"),
        fetch("activity_cart_adds"),
        fetch("activity_searches"),
        fetch("activity_purchases"),
        about=about,
    )

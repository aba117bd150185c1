"""The task lists of a person (dashboard Tasks page, API `/v1/tasks`): the list of every
task (sql/tasks_list.sql, keyset pagination for the API) and the ranked list for today
(ga_intel/insights/work_list.py, the email's too), both scoped by `task_scope`."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

from ga_intel import reads
from ga_intel.insights.tasks import STATUSES, TASK_TYPES, WORK_LIST_STATUSES
from ga_intel.reads import task_scope

EVER = (dt.date(1, 1, 1), dt.date(9999, 12, 31))  # created_date bounds that leave no task out


@dataclass(frozen=True)
class After:
    """Where a page ends: the last row's sort key (priority, due date, value, key)."""

    priority: int
    due_date: dt.date
    value: float | None
    task_key: str

    @classmethod
    def of(cls, row: dict) -> After:
        value = row.get("value")
        return cls(
            int(row["priority"]),
            row["due_date"],
            None if value is None or pd.isna(value) else float(value),
            str(row["task_key"]),
        )

    def params(self) -> dict:
        # The SQL sorts by -value with no value last (coalesce(-value, 1e15)).
        return {
            "after_priority": self.priority,
            "after_due": self.due_date,
            "after_value": 1e15 if self.value is None else -self.value,
            "after_key": self.task_key,
        }


NO_AFTER = {"after_priority": None, "after_due": None, "after_value": None, "after_key": None}


def task_list(
    person: task_scope.Person,
    start: dt.date,
    end: dt.date,
    *,
    types: tuple[str, ...] = (),
    statuses: tuple[str, ...] = WORK_LIST_STATUSES,
    branch: str | None = None,
    rep: str | None = None,
    limit: int = 500,
    after: After | None = None,
    task_key: str | None = None,
    fetch: reads.Fetch = reads.fetch,
) -> pd.DataFrame:
    """`person`'s tasks created in [start, end] (scope in the SQL), by priority, due date and
    value, at most `limit`, after `after`. `rep`: an email, '' for unassigned, None anyone's."""
    return fetch(
        person.tenant_id,
        task_scope.scoped_sql("tasks_list"),
        start=start,
        end=end,
        types=list(types or TASK_TYPES),
        statuses=list(statuses or STATUSES),
        branch=branch,
        rep=rep.lower() if rep else rep,
        limit=limit,
        task_key=task_key,
        **(after.params() if after else NO_AFTER),
        **task_scope.params(person),
    )


def one(person: task_scope.Person, task_key: str, fetch: reads.Fetch = reads.fetch) -> dict | None:
    """The task `task_key` when it is in `person`'s scope, else None."""
    frame = task_list(person, *EVER, statuses=STATUSES, task_key=task_key, limit=1, fetch=fetch)
    return None if frame.empty else frame.iloc[0].to_dict()


@dataclass(frozen=True)
class DailyList:
    tasks: pd.DataFrame  # ranked (insights/sql/work_list.sql), at most `cap` per assignee
    today: dt.date  # the tenant's local date: what is new, overdue and past its horizon
    cap: int


def tenant_rules(tenant_id: str) -> tuple[str, int]:
    """(timezone, daily_list_cap) of the tenant, from its stored settings."""
    from ga_intel.tenancy import store

    config = store.get(tenant_id)
    return config.timezone, config.rules.daily_list_cap


def daily_list(
    person: task_scope.Person,
    rep: str | None,
    branch: str | None = None,
    fetch: reads.Fetch = reads.fetch,
    rules: tuple[str, int] | None = None,
) -> DailyList:
    """The ranked list for today (the same query as the email's lists) within `person`'s
    scope: `rep` an email, '' the unassigned, None anyone's; `branch` narrows it."""
    from zoneinfo import ZoneInfo

    from ga_intel.insights import work_list

    timezone, cap = rules or tenant_rules(person.tenant_id)
    today = dt.datetime.now(ZoneInfo(timezone)).date()
    frame = fetch(
        person.tenant_id,
        work_list.sql(scope=task_scope.SCOPE),
        **work_list.params(
            person.tenant_id, today, new_since=today - dt.timedelta(days=1), branch=branch, rep=rep, cap=cap
        ),
        **task_scope.params(person),
    )
    return DailyList(frame, today, cap)

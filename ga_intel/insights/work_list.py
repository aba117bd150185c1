"""The ranked daily work list: one query (sql/work_list.sql) for the email, the dashboard
and the API, so a rep sees the same list, in the same order, everywhere."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ga_intel.db import sqlfiles


def sql(scope: str = "TRUE") -> str:
    """The work-list SQL; `scope` is SQL on `tasks` (the row) narrowing whose tasks show."""
    return sqlfiles.render("ga_intel/insights/sql/work_list.sql", scope=scope)


def params(
    tenant_id: str,
    today: dt.date,
    *,
    new_since: dt.date | None = None,
    branch: str | None = None,
    rep: str | None = None,
    cap: int | None = None,
) -> dict:
    """Bound parameters: tasks new since `new_since` (default `today`) come first; `rep` is
    an email, '' for unassigned tasks, None for anyone's; `cap` tasks per assignee."""
    return {
        "tenant": tenant_id,
        "today": today,
        "new_since": new_since or today,
        "branch": branch,
        "rep": rep.lower() if rep else rep,
        "cap": cap,
    }


def rows(conn: Connection, tenant_id: str, today: dt.date, **kwargs) -> list[dict]:
    return [dict(r) for r in conn.execute(sa.text(sql()), params(tenant_id, today, **kwargs)).mappings()]

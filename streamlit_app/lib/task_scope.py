"""Which tasks a person may see and change: `ga_intel.reads.task_scope`, the one copy the
dashboard and the API share, with the dashboard's cache cleared after a change."""

from __future__ import annotations

from ga_intel.reads import task_scope as _shared
from ga_intel.reads.task_scope import SCOPE, describe, params  # noqa: F401  (the pages' vocabulary)
from streamlit_app.lib import context, data


def scoped_sql(name: str) -> str:
    """`<name>.sql` (streamlit_app/sql, else ga_intel/reads/sql) with `SCOPE` in place of its marker."""
    return _shared.scoped(data._statement(name), f"{name}.sql")


def change_status(ctx: context.Context, task_key: str, status: str, note: str | None) -> None:
    """`ga_intel.reads.task_scope.change_status` (scope re-checked on the row, FOR UPDATE)."""
    _shared.change_status(ctx, task_key, status, note)
    data.clear_cache()

"""The one way a dashboard page reads tenant data.

Every query runs inside `ga_intel.db.tenant_scope(tenant_id)`: the non-owner role under
row-level security, with `app.tenant_id` set for that transaction only, so PostgreSQL
itself keeps other tenants' rows out whatever the SQL says. The tenant is always the one
`lib.context` resolved for this run from the control plane, never a page's argument.

Results are cached with `st.cache_data`; the tenant id is an argument of the cached
function, so it is part of every cache key and one tenant's cached result can never be
served to another. Parameters are always bound (`:name` in the SQL), never formatted in.

SQL longer than a few lines lives in `streamlit_app/sql/<name>.sql` (`sql("name")` reads it), or in
`ga_intel/reads/sql/` when the API runs it too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from streamlit_app.lib import context

SQL_DIR = Path(__file__).resolve().parents[1] / "sql"
CACHE_TTL_SECONDS = 300


@lru_cache(maxsize=64)
def sql(name: str) -> str:
    """The text of `streamlit_app/sql/<name>.sql`."""
    return (SQL_DIR / f"{name}.sql").read_text()


def run_query(tenant_id: str, statement: str, params: dict[str, Any]) -> pd.DataFrame:
    """Uncached: `statement` with bound `params`, scoped to `tenant_id` by row-level security."""
    from ga_intel import reads

    return reads.run_query(tenant_id, statement, params)


@st.cache_data(ttl=CACHE_TTL_SECONDS, show_spinner=False, max_entries=512)
def _cached_query(tenant_id: str, statement: str, params: dict[str, Any]) -> pd.DataFrame:
    # tenant_id is deliberately an argument: it is part of the cache key.
    return run_query(tenant_id, statement, params)


Runner = Callable[[str, str, dict[str, Any]], pd.DataFrame]
_runner: Runner | None = None  # None: the cached runner (see `uncached`)


def _statement(statement: str) -> str:
    """SQL text as is; a name: its file in sql/, else the shared one in ga_intel/reads/sql/."""
    from ga_intel import reads

    if "\n" not in statement and (SQL_DIR / f"{statement}.sql").is_file():
        return sql(statement)
    if reads.has_sql(statement):
        return reads.sql(statement)
    return statement


def fetch(tenant_id: str, statement: str, **params: Any) -> pd.DataFrame:
    """`statement` (SQL text, or the name of a file in sql/) for `tenant_id`, cached.

    Page loaders (`lib/pagedata.py`) take the tenant from the `Context` they are given, which
    on a page is always `context.current()`; `ga-intel bench dashboard` runs the same loaders
    uncached."""
    if _runner is not None:
        return _runner(tenant_id, _statement(statement), params)
    return _cached_query(tenant_id, _statement(statement), params)


def query(statement: str, **params: Any) -> pd.DataFrame:
    """`statement` (SQL text, or the name of a file in sql/) for the signed-in user's tenant."""
    return fetch(context.current().tenant_id, statement, **params)


@contextmanager
def uncached(runner: Runner = run_query) -> Iterator[None]:
    """Run every `fetch` through `runner` (default: straight to the database, no cache)."""
    global _runner
    saved, _runner = _runner, runner
    try:
        yield
    finally:
        _runner = saved


def clear_cache() -> None:
    _cached_query.clear()

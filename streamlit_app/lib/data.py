"""The one way a dashboard page reads tenant data.

Every query runs inside `ga_intel.db.tenant_scope(tenant_id)`: the non-owner role under
row-level security, with `app.tenant_id` set for that transaction only, so PostgreSQL
itself keeps other tenants' rows out whatever the SQL says. The tenant is always the one
`lib.context` resolved for this run from the control plane, never a page's argument.

Results are cached with `st.cache_data`; the tenant id is an argument of the cached
function, so it is part of every cache key and one tenant's cached result can never be
served to another. Parameters are always bound (`:name` in the SQL), never formatted in.

SQL longer than a few lines lives in `streamlit_app/sql/<name>.sql`; `sql("name")` reads it.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa
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
    from ga_intel.db import tenant_scope

    with tenant_scope(tenant_id) as conn:
        result = conn.execute(sa.text(statement), params)
        return pd.DataFrame(result.fetchall(), columns=list(result.keys()))


@st.cache_data(ttl=CACHE_TTL_SECONDS, show_spinner=False, max_entries=512)
def _cached_query(tenant_id: str, statement: str, params: dict[str, Any]) -> pd.DataFrame:
    # tenant_id is deliberately an argument: it is part of the cache key.
    return run_query(tenant_id, statement, params)


def query(statement: str, **params: Any) -> pd.DataFrame:
    """`statement` (SQL text, or the name of a file in sql/) for the signed-in user's tenant."""
    if "\n" not in statement and (SQL_DIR / f"{statement}.sql").is_file():
        statement = sql(statement)
    return _cached_query(context.current().tenant_id, statement, params)


def clear_cache() -> None:
    _cached_query.clear()

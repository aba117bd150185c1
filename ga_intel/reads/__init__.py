"""Reads of tenant data shared by the dashboard and the API: one copy of each query.

The SQL lives in `ga_intel/reads/sql/<name>.sql` (read through `ga_intel.db.sqlfiles`);
every statement runs inside `tenant_scope(tenant_id)`, under row-level security. Readers
take a `fetch(tenant_id, statement, **params)`: the dashboard passes its cached
`streamlit_app.lib.data.fetch`, the API the uncached `fetch` below.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa

from ga_intel.db import sqlfiles

SQL_DIR = Path(__file__).resolve().parent / "sql"

Fetch = Callable[..., pd.DataFrame]  # fetch(tenant_id, statement, **params)


def has_sql(name: str) -> bool:
    return "\n" not in name and (SQL_DIR / f"{name}.sql").is_file()


def sql(name: str) -> str:
    """The text of `ga_intel/reads/sql/<name>.sql`."""
    return sqlfiles.render(f"ga_intel/reads/sql/{name}.sql")


def run_query(tenant_id: str, statement: str, params: dict[str, Any]) -> pd.DataFrame:
    """`statement` with bound `params`, scoped to `tenant_id` by row-level security."""
    from ga_intel.db import tenant_scope

    with tenant_scope(tenant_id) as conn:
        result = conn.execute(sa.text(statement), params)
        # psycopg2 returns bytea as memoryview, which neither a cache nor JSON can take.
        rows = [tuple(bytes(v) if isinstance(v, memoryview) else v for v in row) for row in result.fetchall()]
        return pd.DataFrame(rows, columns=list(result.keys()))


def fetch(tenant_id: str, statement: str, **params: Any) -> pd.DataFrame:
    """Uncached: `statement` (SQL, or the name of a file in sql/) for `tenant_id`."""
    return run_query(tenant_id, sql(statement) if has_sql(statement) else statement, params)

"""Bulk loading into tenant tables.

PostgreSQL refuses COPY into a table under row-level security, so rows are COPYed into a
transaction-local staging table and moved over with one INSERT ... SELECT, which the
tenant policy's WITH CHECK still vets row by row. Call inside `tenant_scope`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import IO

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ga_intel.db.rls import TENANT_SCHEMA


def copy_via_stage(conn: Connection, table: str, columns: Sequence[str], csv_chunks: Iterable[IO]) -> None:
    """COPY each CSV chunk (no header; empty unquoted field = NULL) into
    `tenant_data.<table>` through a staging table."""
    stage = f"stage_{table}"
    column_list = ", ".join(f'"{c}"' for c in columns)
    conn.execute(sa.text(f"CREATE TEMP TABLE IF NOT EXISTS {stage} (LIKE {TENANT_SCHEMA}.{table}) ON COMMIT DROP"))
    conn.execute(sa.text(f"TRUNCATE {stage}"))
    cursor = conn.connection.dbapi_connection.cursor()
    copied = False
    for chunk in csv_chunks:
        cursor.copy_expert(f"COPY {stage} ({column_list}) FROM STDIN WITH (FORMAT csv)", chunk)
        copied = True
    if copied:
        conn.execute(sa.text(
            f"INSERT INTO {TENANT_SCHEMA}.{table} ({column_list}) SELECT {column_list} FROM {stage}"))

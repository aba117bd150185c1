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
    move = sa.text(f"INSERT INTO {TENANT_SCHEMA}.{table} ({column_list}) SELECT {column_list} FROM {stage}")
    for chunk in csv_chunks:
        # Chunk by chunk, so the caller can prepare the next chunk (CSV from Arrow, in a
        # thread) while this one is copied and moved, not only while it is copied.
        cursor.copy_expert(f"COPY {stage} ({column_list}) FROM STDIN WITH (FORMAT csv)", chunk)
        conn.execute(move)
        conn.execute(sa.text(f"TRUNCATE {stage}"))


def refresh_statistics(tenant_id: str, written: dict[str, int], share: float = 0.1) -> list[str]:
    """ANALYZE the tenant tables a load wrote more than `share` of their rows into (as
    of their last ANALYZE), in the database that holds `tenant_id`'s data; returns the
    ones analyzed. `written`: rows written per table, as the load counted them (the
    statistics views lag a committed load by up to a second, too late to ask them).

    Autovacuum gets there too, but minutes later: the metrics and tasks of the same run
    would be planned on empty-table estimates (rows=1), and a nested loop over a day's
    sessions is quadratic. ANALYZE needs the owner: `tenant_data.analyze_table`
    (migration 0016) runs it as the owner, for tenant tables only. After the load commits."""
    from ga_intel.db import tenant_scope

    if not written:
        return []
    with tenant_scope(tenant_id) as conn:
        # reltuples: the row estimate of the last ANALYZE (-1: never analyzed).
        estimates = dict(
            conn.execute(
                sa.text(
                    "SELECT c.relname, c.reltuples FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE n.nspname = :s AND c.relname IN :tables"
                ).bindparams(sa.bindparam("tables", expanding=True)),
                {"s": TENANT_SCHEMA, "tables": list(written)},
            ).all()
        )
        stale = [t for t, rows in written.items() if t in estimates and rows > share * max(estimates[t], 1)]
        for table in stale:
            conn.execute(sa.text("SELECT tenant_data.analyze_table(:t)"), {"t": table})
    return stale

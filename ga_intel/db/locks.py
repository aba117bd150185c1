"""Transaction-level advisory locks that serialize the replace of one partition.

A partition (a tenant's day of GA4 tables, or of metrics) is replaced by DELETE then
COPY/INSERT in one transaction. Under READ COMMITTED two such transactions for the same
partition do not see each other's new rows, so both copies survive: a doubled day.
Whoever replaces a partition first takes its lock; the second waits until the first
commits, then deletes what the first wrote. The lock ends with the transaction (commit,
rollback or a dead connection), so it can never be left behind.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.engine import Connection


def partition_lock_key(kind: str, tenant_id: str, day: dt.date | None = None) -> str:
    """The lock's name: what is replaced (`ga4`, `insights`), for whom, and for which day
    (None: the tenant as a whole). PostgreSQL hashes it to the lock's 64-bit key; a
    collision only makes two unrelated partitions wait for each other."""
    return f"ga-intel:{kind}:{tenant_id}:{day.isoformat() if day else '*'}"


def lock_partition(conn: Connection, kind: str, tenant_id: str, day: dt.date | None = None) -> None:
    """Wait for, then hold until this transaction ends, the lock on one partition."""
    conn.execute(
        sa.text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"),
        {"k": partition_lock_key(kind, tenant_id, day)},
    )

"""A tenant's own PostgreSQL (optional in the tenant file)."""

from __future__ import annotations

from ga_intel.connectors import CheckResult
from ga_intel.tenancy.tenant_file import PostgresSettings


def check(settings: PostgresSettings) -> CheckResult:
    import psycopg2

    try:
        conn = psycopg2.connect(
            host=settings.host, port=settings.port, dbname=settings.database, user=settings.username,
            password=settings.password.get_secret_value() if settings.password else None,
            sslmode=settings.sslmode, connect_timeout=10,
        )
    except psycopg2.OperationalError as exc:
        # libpq's message names host and user, never the password.
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return CheckResult("postgres", False, f"cannot connect to {settings.host}:{settings.port}/{settings.database}: {first}")
    try:
        with conn.cursor() as cur:
            cur.execute("SHOW server_version")
            version = cur.fetchone()[0]
    finally:
        conn.close()
    return CheckResult("postgres", True, f"{settings.host}:{settings.port}/{settings.database}: PostgreSQL {version}")

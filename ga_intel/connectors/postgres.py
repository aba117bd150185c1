"""A tenant's own PostgreSQL (optional in the tenant file)."""

from __future__ import annotations

from ga_intel.connectors import CheckResult, targets
from ga_intel.errors import ServiceError
from ga_intel.tenancy.tenant_file import PostgresSettings


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def check(settings: PostgresSettings) -> CheckResult:
    import psycopg2

    where = f"{settings.host}:{settings.port}/{settings.database}"
    try:
        target = targets.check_host("postgres", settings.host, settings.port)
    except ServiceError as exc:
        return CheckResult("postgres", False, str(exc))
    try:
        # hostaddr: libpq connects to the checked address and uses host only for TLS and messages.
        conn = psycopg2.connect(
            host=settings.host,
            hostaddr=target.address,
            port=settings.port,
            dbname=settings.database,
            user=settings.username,
            password=settings.password.get_secret_value() if settings.password else None,
            sslmode=settings.sslmode,
            connect_timeout=10,
        )
    except psycopg2.Error as exc:
        # libpq's message names host and user, never the password.
        return CheckResult(
            "postgres", False, f"postgres: cannot connect to {where} as {settings.username}: {_first_line(exc)}"
        )
    try:
        with conn.cursor() as cur:
            cur.execute("select version()")
            version = cur.fetchone()[0]
    except psycopg2.Error as exc:
        return CheckResult(
            "postgres", False, f"postgres: connected to {where}, but select version() failed: {_first_line(exc)}"
        )
    finally:
        conn.close()
    # "PostgreSQL 16.4 on x86_64-pc-linux-gnu, compiled by ..." - the first two words say enough.
    return CheckResult("postgres", True, f"{where}: {' '.join(version.split()[:2])}")

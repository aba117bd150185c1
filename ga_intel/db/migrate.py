"""Create the databases and apply the Alembic migrations in `migrations/`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import URL

from ga_intel import settings
from ga_intel.errors import GaIntelError

if TYPE_CHECKING:
    from alembic.script import ScriptDirectory

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def ensure_database(url: URL) -> bool:
    """Create `url.database` on its server if missing; returns whether it was created."""
    admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            exists = conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :d"), {"d": url.database}).scalar()
            if exists:
                return False
            conn.execute(sa.text(f'CREATE DATABASE "{url.database}"'))
            return True
    except sa.exc.OperationalError as exc:
        raise GaIntelError(
            f"cannot reach PostgreSQL at {url.host}:{url.port}: {exc.orig}".strip(),
            hint="check GA_INTEL_DATABASE_URL, or unset it to use the embedded server",
        ) from None
    except sa.exc.ProgrammingError as exc:
        raise GaIntelError(
            f"database {url.database!r} does not exist and cannot be created: {exc.orig}".strip(),
            hint="create it yourself, or grant CREATEDB to the user in GA_INTEL_DATABASE_URL",
        ) from None
    finally:
        admin.dispose()


def upgrade(revision: str = "head") -> str:
    """Bring the platform database to `revision`; creates both databases if needed."""
    urls = settings.database_urls()
    ensure_database(urls.platform)
    ensure_database(urls.dagster)
    from ga_intel.db.engine import owner_engine

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with owner_engine().begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
        _set_runtime_password(conn, urls.runtime)
        return conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()


def _set_runtime_password(conn, runtime: URL) -> None:
    """Give the runtime login (migration 0013) the password its URL carries, if any, so
    GA_INTEL_RUNTIME_DATABASE_URL is the one place the operator names it."""
    from ga_intel.db.engine import RUNTIME_ROLE

    if not runtime.password or runtime.username != RUNTIME_ROLE:
        return
    exists = conn.execute(sa.text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": RUNTIME_ROLE}).scalar()
    if exists:
        # A utility statement takes no bind parameters: quote the literal on the server.
        literal = conn.execute(sa.text("SELECT quote_literal(:p)"), {"p": runtime.password}).scalar()
        conn.execute(sa.text(f"ALTER ROLE {RUNTIME_ROLE} PASSWORD {literal}"))


def _script() -> ScriptDirectory:
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(cfg)


def current_revision() -> str | None:
    from ga_intel.db.engine import owner_engine

    with owner_engine().connect() as conn:
        has_table = conn.execute(sa.text("SELECT to_regclass('public.alembic_version') IS NOT NULL")).scalar()
        if not has_table:
            return None
        return conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()


def ensure_current() -> None:
    """Make sure the schema is at head before a command uses it.

    The embedded server is ours, so it is upgraded on the spot. A server named by
    GA_INTEL_DATABASE_URL is the operator's: we say what to run instead of migrating it
    behind their back.
    """
    head = _script().get_current_head()
    urls = settings.database_urls()
    if urls.embedded:
        ensure_database(urls.platform)
    try:
        current = current_revision()
    except sa.exc.OperationalError as exc:
        raise GaIntelError(
            f"cannot reach the platform database {urls.platform.render_as_string(hide_password=True)}: {exc.orig}".strip(),
            hint="check GA_INTEL_DATABASE_URL, or unset it to use the embedded server",
        ) from None
    if current == head:
        return
    if urls.embedded:
        upgrade()
        return
    raise GaIntelError(
        f"the platform database is at schema revision {current or '(none)'}, this ga-intel needs {head}",
        hint="run `ga-intel db upgrade`",
    )

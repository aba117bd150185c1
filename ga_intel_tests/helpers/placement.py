"""Tenant databases in the placement and move tests: fresh names on the second server, and
a database put one migration behind (what a new ga-intel release finds)."""

from __future__ import annotations

import uuid

import sqlalchemy as sa


def fresh_db() -> str:
    """A database name no other test uses on the second server."""
    return f"tenant_{uuid.uuid4().hex[:10]}"


def downgrade_one(loc) -> None:
    """Take the tenant database at `loc` (a placement.Location) one migration back, as its owner."""
    from alembic import command
    from alembic.config import Config

    from ga_intel.db import migrate

    eng = sa.create_engine(loc.owner_url, poolclass=sa.pool.NullPool)
    with eng.begin() as conn:
        cfg = Config()
        cfg.set_main_option("script_location", str(migrate.MIGRATIONS))
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "-1")
    eng.dispose()

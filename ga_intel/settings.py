"""Platform configuration, read from the environment in one place.

`GA_INTEL_DATABASE_URL` selects the platform PostgreSQL. When it is unset, the embedded
server under `$GA_INTEL_HOME/postgres` is used (see `ga_intel.db.embedded`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import URL, make_url

PLATFORM_DB_NAME = "ga_intel"


def home() -> Path:
    """The folder for local state: embedded database, key file, Dagster home, logs."""
    return Path(os.environ.get("GA_INTEL_HOME", ".ga_intel")).resolve()


def sqlalchemy_url(raw: str) -> URL:
    """Pin the psycopg2 driver: SQLAlchemy 2.1 maps plain `postgresql://` to psycopg 3,
    which dagster-postgres cannot use, and one driver keeps one behaviour everywhere."""
    url = make_url(raw)
    if url.get_backend_name() != "postgresql":
        raise ValueError(f"expected a postgresql:// URL, got {url.drivername}://")
    return url.set(drivername="postgresql+psycopg2")


@dataclass(frozen=True)
class DatabaseUrls:
    platform: URL
    dagster: URL
    embedded: bool


def database_urls() -> DatabaseUrls:
    """Platform and Dagster-storage URLs. Dagster's storage is a sibling database on the
    same server unless `GA_INTEL_DAGSTER_DATABASE_URL` says otherwise."""
    raw = os.environ.get("GA_INTEL_DATABASE_URL")
    if raw:
        platform = sqlalchemy_url(raw)
        embedded = False
    else:
        from ga_intel.db import embedded as embedded_pg

        platform = embedded_pg.url(PLATFORM_DB_NAME)
        embedded = True
    dagster_raw = os.environ.get("GA_INTEL_DAGSTER_DATABASE_URL")
    dagster = (
        sqlalchemy_url(dagster_raw)
        if dagster_raw
        else platform.set(database=f"{platform.database}_dagster")
    )
    return DatabaseUrls(platform=platform, dagster=dagster, embedded=embedded)


@dataclass(frozen=True)
class MasterDataLimits:
    """What a tenant's master-data file may cost before it is parsed (docs/MASTER_DATA.md).
    A tenant controls the file; only the operator, through the environment, sets these."""

    max_file_bytes: int
    max_expanded_bytes: int
    max_rows: int


MASTER_DATA_LIMITS = {  # variable -> (default, unit in bytes or 1 for a count)
    "GA_INTEL_MASTER_DATA_MAX_FILE_MB": (100, 1024 * 1024),
    "GA_INTEL_MASTER_DATA_MAX_EXPANDED_MB": (1024, 1024 * 1024),
    "GA_INTEL_MASTER_DATA_MAX_ROWS": (1_000_000, 1),
}


def master_data_limits() -> MasterDataLimits:
    values = []
    for name, (default, unit) in MASTER_DATA_LIMITS.items():
        raw = os.environ.get(name, "").strip()
        try:
            value = int(raw) if raw else default
        except ValueError:
            value = 0
        if value <= 0:
            from ga_intel.errors import GaIntelError

            raise GaIntelError(f"{name}={raw!r} is not a positive whole number",
                               hint=f"set it to a number (default {default:,}) or unset it")
        values.append(value * unit)
    return MasterDataLimits(*values)

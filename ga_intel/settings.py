"""Platform configuration, read from the environment in one place.

`GA_INTEL_DATABASE_URL` selects the platform PostgreSQL, as its owner (migrations). When
it is unset, the embedded server under `$GA_INTEL_HOME/postgres` is used (see
`ga_intel.db.embedded`). Everything else logs in as `GA_INTEL_RUNTIME_DATABASE_URL`'s
user (on the embedded server: `ga_intel_runtime`, no password), which row-level security binds.
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


RUNTIME_DATABASE_URL = "GA_INTEL_RUNTIME_DATABASE_URL"
RUNTIME_USER = "ga_intel_runtime"


@dataclass(frozen=True)
class DatabaseUrls:
    platform: URL  # the owner: migrations only
    dagster: URL
    embedded: bool
    runtime: URL  # the login the dashboard, runs and commands use (issue 15, finding 5)


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
    dagster = sqlalchemy_url(dagster_raw) if dagster_raw else platform.set(database=f"{platform.database}_dagster")
    runtime_raw = os.environ.get(RUNTIME_DATABASE_URL)
    if runtime_raw:
        runtime = sqlalchemy_url(runtime_raw)
    elif embedded:
        # The embedded server trusts loopback logins: `db upgrade` creates this one.
        runtime = platform.set(username=RUNTIME_USER, password=None)
    else:
        # No runtime login named: the owner's URL, which the engine's check then refuses
        # with the fix, rather than a silent run as the owner.
        runtime = platform
    return DatabaseUrls(platform=platform, dagster=dagster, embedded=embedded, runtime=runtime)


OIDC_TRUSTED_DOMAINS = "GA_INTEL_OIDC_TRUSTED_DOMAINS"


def oidc_trusted_domains() -> dict[str, frozenset[str]]:
    """Issuers whose email claims are trusted without `email_verified`, and for which domains.

    `GA_INTEL_OIDC_TRUSTED_DOMAINS` holds whitespace-separated `ISSUER=domain[,domain…]`
    entries, e.g. `https://login.microsoftonline.com/<tenant-id>/v2.0=acme.com,acme.de`:
    the operator vouches that this issuer only issues addresses of those domains to people
    it has checked (an Entra ID tenant that owns the domains, say). Empty: only tokens with
    `email_verified: true` sign in.
    """
    raw = os.environ.get(OIDC_TRUSTED_DOMAINS, "").strip()
    trusted: dict[str, frozenset[str]] = {}
    for entry in raw.split():
        issuer, sep, domains = entry.rpartition("=")
        names = frozenset(d.strip().lower().lstrip("@") for d in domains.split(",") if d.strip())
        if not sep or not issuer or not names:
            raise ValueError(
                f"{OIDC_TRUSTED_DOMAINS}: {entry!r} is not ISSUER=domain[,domain...] "
                "(e.g. https://login.example.com=acme.com,acme.de)"
            )
        trusted[issuer.rstrip("/")] = trusted.get(issuer.rstrip("/"), frozenset()) | names
    return trusted


PLATFORM_OPERATORS = "GA_INTEL_PLATFORM_OPERATORS"


def platform_operators() -> frozenset[str]:
    """Who may create tenants in the dashboard ("New tenant"): comma-separated emails.

    Sign-in still comes first (OIDC, or the dev login on a developer's machine); this
    only says which of the signed-in addresses are the deployment's operators. Empty:
    tenants are created with `ga-intel tenant add` only.
    """
    raw = os.environ.get(PLATFORM_OPERATORS, "")
    emails = frozenset(e.strip().lower() for e in raw.replace(";", ",").split(",") if e.strip())
    bad = sorted(e for e in emails if e.count("@") != 1 or " " in e or e.startswith("@") or e.endswith("@"))
    if bad:
        from ga_intel.errors import GaIntelError

        raise GaIntelError(
            f"{PLATFORM_OPERATORS}: {', '.join(bad)} is not an email address",
            hint="give the operators' sign-in emails separated by commas, e.g. ops@example.com,lead@example.com",
        )
    return emails


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

            raise GaIntelError(
                f"{name}={raw!r} is not a positive whole number",
                hint=f"set it to a number (default {default:,}) or unset it",
            )
        values.append(value * unit)
    return MasterDataLimits(*values)


EXPORT_SENSOR_SHARDS = "GA_INTEL_EXPORT_SENSOR_SHARDS"
# 8 shards keep each tick near 125 tenants at 1,000 (~5 s at the ~40 ms a tenant
# measured against the emulator); a small deployment pays only eight cheap ticks.
DEFAULT_EXPORT_SENSOR_SHARDS = 8
EXPORT_SENSOR_TICK_BUDGET = "GA_INTEL_EXPORT_SENSOR_TICK_BUDGET_S"
# Under the 10 s a tick and far under Dagster's 60 s sensor timeout; a shard
# that uses it up leaves the rest of its tenants to its next tick.
DEFAULT_EXPORT_SENSOR_TICK_BUDGET_S = 8.0


def export_sensor_shards() -> int:
    """How many `ga4_export_sensor_<i>_of_<n>` sensors split the tenants (read when the
    definitions load: the count names the sensors)."""
    raw = os.environ.get(EXPORT_SENSOR_SHARDS, "").strip()
    if not raw:
        return DEFAULT_EXPORT_SENSOR_SHARDS
    if not raw.isdigit() or not 1 <= int(raw) <= 256:
        from ga_intel.errors import GaIntelError

        raise GaIntelError(
            f"{EXPORT_SENSOR_SHARDS}={raw!r} is not a whole number from 1 to 256",
            hint=f"set it to about tenants / 125 (default {DEFAULT_EXPORT_SENSOR_SHARDS}) or unset it",
        )
    return int(raw)


def export_sensor_tick_budget_s() -> float:
    """Seconds an export-sensor shard may spend on tenants in one tick (read every tick)."""
    raw = os.environ.get(EXPORT_SENSOR_TICK_BUDGET, "").strip()
    if not raw:
        return DEFAULT_EXPORT_SENSOR_TICK_BUDGET_S
    try:
        value = float(raw)
    except ValueError:
        value = 0.0
    if not 0 < value <= 50:
        from ga_intel.errors import GaIntelError

        raise GaIntelError(
            f"{EXPORT_SENSOR_TICK_BUDGET}={raw!r} is not a number of seconds above 0 and at most 50",
            hint=f"set it under Dagster's 60 s sensor timeout (default {DEFAULT_EXPORT_SENSOR_TICK_BUDGET_S:g}) or unset it",
        )
    return value

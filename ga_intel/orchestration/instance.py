"""The Dagster instance of this deployment: the one `make dev` runs and the CLI's runs, the
health check and the demo seed share, so a run started anywhere shows in the Dagster UI."""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg

from ga_intel import settings
from ga_intel.errors import GaIntelError

REPO = Path(__file__).resolve().parents[2]


def dagster_home() -> Path:
    """$GA_INTEL_HOME/dagster_home with the repository's dagster.yaml (linked, so edits apply)."""
    home = settings.home() / "dagster_home"
    home.mkdir(parents=True, exist_ok=True)
    link = home / "dagster.yaml"
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(REPO / "dagster.yaml")
    return home


def storage_env() -> dict[str, str]:
    """What a process needs in its environment to open the instance (DAGSTER_HOME, storage URL)."""
    return {
        "DAGSTER_HOME": str(dagster_home()),
        "GA_INTEL_DAGSTER_STORAGE_URL": settings.database_urls().dagster.render_as_string(hide_password=False),
    }


def get(*, prepare: bool = True) -> dg.DagsterInstance:
    """The instance. With DAGSTER_HOME unset, `prepare` sets up ga-intel's own Dagster home;
    without it (a health check, which must not write) a missing home is an error."""
    if "DAGSTER_HOME" not in os.environ:
        if prepare:
            for key, value in storage_env().items():
                os.environ.setdefault(key, value)
        else:
            home = settings.home() / "dagster_home"
            if not (home / "dagster.yaml").exists():
                raise GaIntelError(
                    f"no Dagster instance at {home}", hint="start it once with `make dev`, or set DAGSTER_HOME"
                )
            os.environ["DAGSTER_HOME"] = str(home)
            os.environ.setdefault(
                "GA_INTEL_DAGSTER_STORAGE_URL", settings.database_urls().dagster.render_as_string(hide_password=False)
            )
    return dg.DagsterInstance.get()

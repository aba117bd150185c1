"""Which Dagster executor runs a run's steps.

By default Dagster's own (each step in a process on the run's machine). With
GA_INTEL_EXECUTOR=celery the steps go to Celery workers through dagster-celery, configured
by the YAML file GA_INTEL_CELERY_CONFIG names (deploy/celery/celery.yaml); the workers
start from the same file. Nothing here schedules work itself: Dagster and Celery do.
"""

from __future__ import annotations

import os
from pathlib import Path

from ga_intel.errors import GaIntelError

EXECUTOR_ENV = "GA_INTEL_EXECUTOR"
CELERY_CONFIG_ENV = "GA_INTEL_CELERY_CONFIG"
DEFAULT_CELERY_CONFIG = Path(__file__).resolve().parents[2] / "deploy" / "celery" / "celery.yaml"


def executor():
    """The executor the environment asks for, or None for Dagster's default."""
    kind = os.environ.get(EXECUTOR_ENV, "").strip().lower()
    if kind in ("", "default"):
        return None
    if kind != "celery":
        raise GaIntelError(
            f"{EXECUTOR_ENV}={kind!r} is not an executor ga-intel knows",
            hint=f"unset {EXECUTOR_ENV} (steps run on the run's machine) or set it to celery",
        )
    import yaml
    from dagster_celery import celery_executor

    path = Path(os.environ.get(CELERY_CONFIG_ENV) or DEFAULT_CELERY_CONFIG)
    if not path.is_file():
        raise GaIntelError(
            f"{CELERY_CONFIG_ENV} names {path}, which does not exist",
            hint="point it at the executor YAML the Celery workers start from (deploy/celery/celery.yaml)",
        )
    config = ((yaml.safe_load(path.read_text()) or {}).get("execution") or {}).get("config")
    if not isinstance(config, dict):
        raise GaIntelError(
            f"{path} has no execution.config block",
            hint="the file is run config for the Celery executor (deploy/celery/celery.yaml)",
        )
    return celery_executor.configured(config, name="celery")


def ga4_job():
    """ga4_job as the code location defines it, with the environment's executor; the
    target of `dagster.reconstructable` for runs launched from Python (tests, scripts).
    The executor is read again here: `defs` was built when first imported."""
    from ga_intel.definitions import defs

    job = defs.resolve_job_def("ga4_job")
    chosen = executor()
    return job if chosen is None else job.with_executor_def(chosen)

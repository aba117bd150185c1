"""`ga-intel run`: materialize tenant × day partitions in-process, with progress."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import dagster as dg

from ga_intel.errors import GaIntelError
from ga_intel.orchestration import instance as dagster_instance
from ga_intel.orchestration.partitions import DATE_DIMENSION, TENANT_DIMENSION


def days(start: dt.date, end: dt.date) -> list[dt.date]:
    if end < start:
        raise GaIntelError(f"--to {end} is before --date {start}")
    return [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]


def run_partitions(tenant_id: str, start: dt.date, end: dt.date, instance: dg.DagsterInstance | None = None,
                   echo: Callable[[str], None] = print, as_of: dt.date | None = None) -> int:
    """Materialize every tenant × day asset for each day; returns the number of failed days."""
    return run_days(tenant_id, days(start, end), instance, echo, as_of=as_of)


def run_days(tenant_id: str, todo: list[dt.date], instance: dg.DagsterInstance | None = None,
             echo: Callable[[str], None] = print, skip: Callable[[dt.date], str | None] | None = None,
             stop: Callable[[], bool] | None = None, trigger: str = "cli", as_of: dt.date | None = None) -> int:
    """Materialize the tenant × day assets for each day in `todo`, in order.

    `skip(day)` may return a reason to leave a day alone (e.g. already loaded); `stop()`
    is asked between days, so Ctrl-C never cuts a day's transaction in half. `as_of`: compute
    tasks as if it were that local date (what is stale or expired; default today)."""
    from ga_intel.definitions import defs
    from ga_intel.tenancy import store

    store.get(tenant_id)  # a clear error for an unknown tenant, before any work
    instance = instance or dagster_instance.get()
    if tenant_id not in instance.get_dynamic_partitions(TENANT_DIMENSION):
        instance.add_dynamic_partitions(TENANT_DIMENSION, [tenant_id])
    failed = 0
    for i, day in enumerate(todo, 1):
        if stop and stop():
            echo(f"stopped before {tenant_id} {day}; run again to resume")
            break
        reason = skip(day) if skip else None
        if reason:
            echo(f"[{i}/{len(todo)}] {tenant_id} {day}: {reason}")
            continue
        key = dg.MultiPartitionKey({TENANT_DIMENSION: tenant_id, DATE_DIMENSION: day.isoformat()})
        result = dg.materialize(
            _tenant_day_assets(defs), partition_key=key, instance=instance,
            resources=defs.resources, raise_on_error=False, tags={"ga_intel/trigger": trigger},
            # The full event log goes to the instance (Dagster UI); the terminal gets one line a day.
            run_config={"loggers": {"console": {"config": {"log_level": "ERROR"}}},
                        **({"ops": {"insights_day": {"config": {"as_of": as_of.isoformat()}}}} if as_of else {})},
        )
        checks = [c for c in result.get_asset_check_evaluations() if not c.passed]
        status = "ok" if result.success else "FAILED"
        note = f"; checks failed: {', '.join(c.check_name for c in checks)}" if checks else ""
        if not result.success:
            failed += 1
            errors = failure_messages(result)
            note += f"; {errors[0] if errors else 'see the Dagster run'}"
        echo(f"[{i}/{len(todo)}] {tenant_id} {day}: {status}{note}")
    return failed


def failure_messages(result) -> list[str]:
    """The innermost error message of each failed step (the user-facing one; Dagster
    wraps it in its own "Error occurred while executing op")."""
    messages = []
    for event in result.all_events:
        if not event.is_step_failure:
            continue
        error = event.event_specific_data.error
        while error.cause is not None:
            error = error.cause
        messages.append(error.message.strip())
    return messages


def _tenant_day_assets(defs: dg.Definitions) -> list:
    from ga_intel.orchestration.partitions import tenant_day_partitions

    return [a for a in defs.assets if getattr(a, "partitions_def", None) == tenant_day_partitions]

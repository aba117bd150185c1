"""`ga-intel run`: materialize tenant × day partitions in-process, with progress."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

import dagster as dg

from ga_intel.errors import GaIntelError
from ga_intel.orchestration import instance as dagster_instance
from ga_intel.orchestration.partitions import DATE_DIMENSION, TENANT_DIMENSION


def days(start: dt.date, end: dt.date) -> list[dt.date]:
    """The days from `start` to `end`, checked against the daily partitions (Dagster's own
    error for a missing one names a partition key, not the fix)."""
    from ga_intel.orchestration.partitions import PARTITION_START, START_ENV, daily_partitions

    if end < start:
        raise GaIntelError(f"--to {end} is before --date {start}")
    first = dt.date.fromisoformat(daily_partitions.get_first_partition_key())
    if start < first:
        raise GaIntelError(
            f"--date {start} is before {START_ENV} ({PARTITION_START}), the first day ga-intel has partitions for",
            hint=f"set {START_ENV}={start} in the environment of every ga-intel process (this command, the "
            f"Dagster webserver and daemon; restart them), e.g. `{START_ENV}={start} ga-intel run ...`",
        )
    last = dt.date.fromisoformat(daily_partitions.get_last_partition_key())
    if end > last:
        raise GaIntelError(
            f"{'--to' if end != start else '--date'} {end} is after today ({last}, UTC): there is no data for it yet"
        )
    return [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]


def run_partitions(
    tenant_id: str,
    start: dt.date,
    end: dt.date,
    instance: dg.DagsterInstance | None = None,
    echo: Callable[[str], None] = print,
    as_of: dt.date | None = None,
) -> int:
    """Materialize every tenant × day asset for each day; returns the number of failed days."""
    return run_days(tenant_id, days(start, end), instance, echo, as_of=as_of)


def run_days(
    tenant_id: str,
    todo: list[dt.date],
    instance: dg.DagsterInstance | None = None,
    echo: Callable[[str], None] = print,
    skip: Callable[[dt.date], str | None] | None = None,
    stop: Callable[[], bool] | None = None,
    trigger: str = "cli",
    as_of: dt.date | None = None,
) -> int:
    """Materialize the tenant × day assets for each day in `todo`, in order.

    `skip(day)` may return a reason to leave a day alone (e.g. already loaded); `stop()`
    is asked between days, so Ctrl-C never cuts a day's transaction in half. `as_of`: compute
    tasks as if it were that local date (what is stale or expired; default today)."""
    from ga_intel.definitions import defs
    from ga_intel.tenancy import store

    store.get(tenant_id)  # a clear error for an unknown tenant, before any work
    instance = _tenant_instance(tenant_id, instance)
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
            _tenant_day_assets(defs),
            partition_key=key,
            instance=instance,
            resources=defs.resources,
            raise_on_error=False,
            tags={"ga_intel/trigger": trigger},
            # The full event log goes to the instance (Dagster UI); the terminal gets one line a day.
            run_config={
                "loggers": {"console": {"config": {"log_level": "ERROR"}}},
                **({"ops": {"insights_day": {"config": {"as_of": as_of.isoformat()}}}} if as_of else {}),
            },
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


# What `masterdata load` reports, per asset of the master-data multi-asset.
MASTER_DATA_LABELS = (("users", "customers"), ("locations", "branches"), ("sales_reps", "reps"))


class _Echo(logging.Handler):
    def __init__(self, echo: Callable[[str], None]):
        super().__init__(logging.INFO)
        self.echo = echo

    def emit(self, record: logging.LogRecord) -> None:
        self.echo(f"  {record.getMessage()}")


def load_master_data(
    tenant_id: str,
    instance: dg.DagsterInstance | None = None,
    echo: Callable[[str], None] = print,
    force: bool = False,
    trigger: str = "cli",
) -> bool:
    """Materialize the tenant's master-data asset in-process (what the hourly schedule
    runs), echoing its progress and then what changed; returns whether it succeeded."""
    from ga_intel.masterdata.assets import PROGRESS_LOG, master_data
    from ga_intel.orchestration.resources import build_resources
    from ga_intel.tenancy import store

    store.get(tenant_id)
    instance = _tenant_instance(tenant_id, instance)
    echo(f"{tenant_id}: loading master data{' (forced)' if force else ''} ...")
    handler = _Echo(echo)
    PROGRESS_LOG.addHandler(handler)
    try:
        result = dg.materialize(
            [master_data],
            instance=instance,
            resources=build_resources(),
            partition_key=tenant_id,
            raise_on_error=False,
            tags={"ga_intel/trigger": trigger},
            run_config={
                "loggers": {"console": {"config": {"log_level": "ERROR"}}},
                **({"ops": {"master_data": {"config": {"force": True}}}} if force else {}),
            },
        )
    finally:
        PROGRESS_LOG.removeHandler(handler)
    if not result.success:
        errors = failure_messages(result)
        echo(f"{tenant_id}: master data FAILED: {errors[0] if errors else 'see the Dagster run'}")
        echo("  the previous master data stays in place")
        return False
    meta = {m.asset_key.to_user_string(): m.metadata for m in result.asset_materializations_for_node("master_data")}
    if "unchanged" in meta.get("users", {}):
        echo(
            f"{tenant_id}: master-data files and column mapping unchanged since the last load; nothing to do "
            "(--force reloads)"
        )
    else:
        echo(f"{tenant_id}: master data loaded")
        for key, label in MASTER_DATA_LABELS:
            m = {k: v.value for k, v in meta[key].items()}
            echo(
                f"  {label:<10} {m['added']:,} added, {m['updated']:,} updated, {m['removed']:,} removed "
                f"({m['rows']:,} now)"
            )
    for check in result.get_asset_check_evaluations():
        if not check.passed:
            examples = check.metadata["examples"].value.splitlines()
            echo(
                f"  warning: {check.metadata['customers_without_rep'].value:,} customer(s) have no sales rep, "
                f"e.g. {examples[0]}; `ga-intel reps set` adds one"
            )
    return True


def ensure_master_data(
    tenant_id: str, instance: dg.DagsterInstance | None = None, echo: Callable[[str], None] = print
) -> None:
    """Before `ga-intel run`: load the master data when it was never loaded or its files
    (size, modification time) or column mapping changed since the last load, and say so.
    Tasks need customers; without this a first run would find none."""
    from ga_intel.errors import ServiceError
    from ga_intel.masterdata.load import stale_reason
    from ga_intel.orchestration.resources import build_resources
    from ga_intel.tenancy import store

    config = store.get(tenant_id)
    try:
        reason = stale_reason(lambda: build_resources()["master_data"].session(tenant_id), config)
    except ServiceError as exc:
        echo(f"{tenant_id}: cannot check the master-data files ({exc.message}); using the master data in place")
        return
    if reason:
        echo(f"{tenant_id}: {reason}; loading it first")
        load_master_data(tenant_id, instance, echo)


def _tenant_instance(tenant_id: str, instance: dg.DagsterInstance | None) -> dg.DagsterInstance:
    instance = instance or dagster_instance.get()
    if tenant_id not in instance.get_dynamic_partitions(TENANT_DIMENSION):
        instance.add_dynamic_partitions(TENANT_DIMENSION, [tenant_id])
    return instance


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

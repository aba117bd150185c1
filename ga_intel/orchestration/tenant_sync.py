"""Keeps the dynamic `tenant` partitions equal to the tenants in the control plane."""

from __future__ import annotations

import dagster as dg

from ga_intel.orchestration.partitions import TENANT_DIMENSION, tenant_partitions


def plan(stored: list[str], known: list[str]) -> tuple[list[str], list[str]]:
    """(to add, to delete) so that the partitions equal the stored tenants."""
    return sorted(set(stored) - set(known)), sorted(set(known) - set(stored))


@dg.sensor(
    name="tenant_sync_sensor",
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Adds a tenant partition for each new tenant and deletes removed ones.",
)
def tenant_sync_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult | dg.SkipReason:
    from ga_intel.tenancy import store

    stored = store.tenant_ids()
    known = context.instance.get_dynamic_partitions(TENANT_DIMENSION)
    to_add, to_delete = plan(stored, known)
    if not to_add and not to_delete:
        return dg.SkipReason(f"{len(stored)} tenant(s), partitions in sync")
    requests = []
    if to_add:
        requests.append(tenant_partitions.build_add_request(to_add))
    if to_delete:
        requests.append(tenant_partitions.build_delete_request(to_delete))
    context.log.info(f"tenant partitions: adding {to_add or 'none'}, deleting {to_delete or 'none'}")
    return dg.SensorResult(dynamic_partitions_requests=requests)

"""The Dagster code location: `workspace.yaml` and `dagster dev -m` load `defs` from here.

Each part of the pipeline contributes its own Definitions; this module only merges them.
"""

from __future__ import annotations

import dagster as dg

from ga_intel.email.definitions import defs as email_defs
from ga_intel.ga4.definitions import defs as ga4_defs
from ga_intel.masterdata.definitions import defs as master_data_defs
from ga_intel.orchestration.alerts import tenant_failure_alerts
from ga_intel.orchestration.executors import executor
from ga_intel.orchestration.resources import build_resources
from ga_intel.orchestration.tenant_sync import tenant_sync_sensor

defs = dg.Definitions.merge(
    # Steps run in Dagster's default executor, or on Celery workers (GA_INTEL_EXECUTOR=celery).
    dg.Definitions(
        sensors=[tenant_sync_sensor, tenant_failure_alerts], resources=build_resources(), executor=executor()
    ),
    ga4_defs,
    master_data_defs,
    email_defs,
)

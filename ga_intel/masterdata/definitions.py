"""Master data's part of the code location."""

import datetime as dt

import dagster as dg

from ga_intel.masterdata.assets import master_data

master_data_job = dg.define_asset_job("master_data_job", selection=dg.AssetSelection.groups("master_data"))


@dg.schedule(
    job=master_data_job,
    cron_schedule="5 * * * *",
    name="master_data_hourly",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Tenants drop new files at any time; an unchanged file (same checksum) is a no-op.",
)
def master_data_hourly(context: dg.ScheduleEvaluationContext):
    from ga_intel.tenancy import store

    hour = (context.scheduled_execution_time or dt.datetime.now(dt.UTC)).strftime("%Y-%m-%dT%H")
    known = set(context.instance.get_dynamic_partitions("tenant"))
    return [dg.RunRequest(run_key=f"master-data:{t}:{hour}", partition_key=t) for t in store.tenant_ids() if t in known]


defs = dg.Definitions(assets=[master_data], jobs=[master_data_job], schedules=[master_data_hourly])

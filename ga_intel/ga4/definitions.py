"""GA4 ingestion's part of the code location."""

import dagster as dg

from ga_intel import settings
from ga_intel.ga4.assets import ga4_day
from ga_intel.ga4.automation import export_sensors, ga4_daily_refresh, ga4_job
from ga_intel.insights.assets import insights_day

# Metrics and tasks run in the same job, right after the day's GA4 tables. The export
# sensor runs as GA_INTEL_EXPORT_SENSOR_SHARDS shards over the tenants.
defs = dg.Definitions(
    assets=[ga4_day, insights_day],
    jobs=[ga4_job],
    schedules=[ga4_daily_refresh],
    sensors=export_sensors(settings.export_sensor_shards()),
)

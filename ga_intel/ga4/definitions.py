"""GA4 ingestion's part of the code location."""

import dagster as dg

from ga_intel.ga4.assets import ga4_day
from ga_intel.ga4.automation import ga4_daily_refresh, ga4_export_sensor, ga4_job
from ga_intel.insights.assets import insights_day

# Metrics and tasks run in the same job, right after the day's GA4 tables.
defs = dg.Definitions(
    assets=[ga4_day, insights_day], jobs=[ga4_job], schedules=[ga4_daily_refresh], sensors=[ga4_export_sensor]
)

"""Email reports' part of the code location."""

import dagster as dg

from ga_intel.email.assets import email_reports
from ga_intel.email.automation import email_daily_schedule, email_job, email_ready_sensor

defs = dg.Definitions(
    assets=[email_reports], jobs=[email_job], schedules=[email_daily_schedule], sensors=[email_ready_sensor]
)

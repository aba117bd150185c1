"""Every tenant's data is partitioned tenant × day.

The tenant dimension is dynamic: `tenant_sync_sensor` keeps it equal to the tenants in the
control plane. The day dimension is the tenant's GA4 `event_date`, a calendar day in the
tenant's own timezone, so the daily partitions themselves carry no timezone.
"""

from __future__ import annotations

import os

import dagster as dg

TENANT_DIMENSION = "tenant"
DATE_DIMENSION = "date"
# The first day any tenant can backfill; GA4 BigQuery export started in 2019 but a
# calendar of several years of empty partitions only slows the UI. Overridable.
DEFAULT_START_DATE = "2024-01-01"
START_ENV = "GA_INTEL_PARTITION_START"
PARTITION_START = os.environ.get(START_ENV, DEFAULT_START_DATE)

tenant_partitions = dg.DynamicPartitionsDefinition(name=TENANT_DIMENSION)
# end_offset=1: today is a partition too, for tenants that load GA4's intraday table as a
# provisional stand-in (ga4.load_intraday). Nothing else requests today.
daily_partitions = dg.DailyPartitionsDefinition(start_date=PARTITION_START, end_offset=1)
tenant_day_partitions = dg.MultiPartitionsDefinition(
    {TENANT_DIMENSION: tenant_partitions, DATE_DIMENSION: daily_partitions}
)

# Dagster tags every run of a multi-partitioned asset with one tag per dimension;
# dagster.yaml limits concurrent runs per unique value of this tag (per tenant).
TENANT_RUN_TAG = f"dagster/partition/{TENANT_DIMENSION}"


def tenant_and_date(context: dg.AssetExecutionContext) -> tuple[str, str]:
    key = context.partition_key
    assert isinstance(key, dg.MultiPartitionKey), "tenant × day assets need a multi-partition key"
    return key.keys_by_dimension[TENANT_DIMENSION], key.keys_by_dimension[DATE_DIMENSION]

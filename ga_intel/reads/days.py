"""Which days of GA4 export are loaded (the Data page, API `/v1/data-availability`)."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from ga_intel import reads

NOT_LOADED = "not loaded"  # a day without a data_availability row was never loaded
COLUMNS = (
    "status",
    "source_table",
    "bq_modified_at",
    "bq_row_count",
    "rows_written",
    "run_id",
    "message",
    "updated_at",
)


def availability(tenant_id: str, start: dt.date, end: dt.date, fetch: reads.Fetch = reads.fetch) -> pd.DataFrame:
    """One row per day of [start, end]: its load status (sql/data_availability.sql), or
    `not loaded`."""
    loaded = fetch(tenant_id, "data_availability", start=start, end=end)
    days = pd.DataFrame({"event_date": [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]})
    if not loaded.empty:
        days = days.merge(loaded, on="event_date", how="left")
    else:
        for column in COLUMNS:
            days[column] = None
    days["status"] = days["status"].fillna(NOT_LOADED)
    return days

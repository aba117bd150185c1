"""Run the GA4 queries in BigQuery and stream their results back as Arrow batches.

All the heavy work (unnesting, sessionizing, de-duplicating) happens in BigQuery; only
the rows of the product's tables come back, page by page, so memory stays flat as a day
grows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from ga_intel.tenancy.tenant_file import BigQuerySettings, Ga4Settings

SQL_DIR = Path(__file__).parent / "sql"
# The output tables, in load order; each has sql/<name>.sql.
TABLES = ("sessions", "purchases", "purchase_items", "cart_adds", "searches", "item_views", "page_views")


@cache
def _sql(name: str) -> str:
    return (SQL_DIR / f"{name}.sql").read_text()


def query_text(table: str, settings: BigQuerySettings) -> str:
    dataset = f"{settings.project_id}.{settings.dataset_id}"
    events = _strip_comments(_sql("_events"))
    return _sql(table).format(events=events.format(dataset=dataset))


def _strip_comments(sql: str) -> str:
    return "\n".join(line for line in sql.splitlines() if not line.lstrip().startswith("--"))


def table_suffix(day: dt.date, intraday: bool = False) -> str:
    """What `events_*`'s _TABLE_SUFFIX is for the day's table: the suffix match is exact, so
    a daily query never reads `events_intraday_*`, and an intraday one never a daily table."""
    return ("intraday_" if intraday else "") + day.strftime("%Y%m%d")


def query_parameters(day: dt.date, ga4: Ga4Settings, intraday: bool = False) -> list:
    from google.cloud import bigquery

    p = bigquery.ScalarQueryParameter
    return [
        p("day", "STRING", table_suffix(day, intraday)),
        p("customer_key", "STRING", ga4.customer_key),
        p("customer_key_is_user_id", "BOOL", ga4.customer_key == "user_id"),
        p("fallback_to_user_id", "BOOL", ga4.customer_key_fallback == "user_id"),
        p("company_key", "STRING", ga4.company_key),
        p("branch_key", "STRING", ga4.branch_key),
        p("no_results_event", "STRING", ga4.no_results_event),
        p("no_results_param", "STRING", ga4.no_results_param),
    ]


@dataclass
class TableStream:
    """One output table's rows for a day: Arrow record batches, read lazily."""

    table: str
    rows_expected: int
    batches: Iterator


def stream(client, table: str, day: dt.date, settings: BigQuerySettings, ga4: Ga4Settings,
           page_size: int = 50_000, intraday: bool = False) -> TableStream:
    from google.cloud import bigquery

    job = client.query(query_text(table, settings),
                       job_config=bigquery.QueryJobConfig(query_parameters=query_parameters(day, ga4, intraday)))
    rows = job.result(page_size=page_size)
    # The storage read API is not emulated, and REST paging is enough at GA4's 1M/day cap.
    return TableStream(table, rows.total_rows or 0, rows.to_arrow_iterable(bqstorage_client=None))

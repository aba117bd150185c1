"""Run the GA4 queries in BigQuery and stream their results back as Arrow batches.

All the heavy work (de-duplicating, unnesting, sessionizing) happens in BigQuery; only
the rows of the product's tables come back, batch by batch, so memory stays flat as a day
grows. Against Google's endpoint the results come through the BigQuery Storage Read API
(Arrow record batches, the result's streams read in parallel); an endpoint that does not
serve it (an emulator) is paged over REST. `read_path` makes that choice.

The queries are Jinja templates (ga_intel/db/sqlfiles.py) rendered for the columns the
export table actually has: GA4 added `is_active_user`, `collected_traffic_source` and
`session_traffic_source_last_click` over the years, and older tables lack them.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

from ga_intel.db import sqlfiles
from ga_intel.errors import GaIntelError
from ga_intel.tenancy.tenant_file import BigQuerySettings, Ga4Settings

log = logging.getLogger(__name__)

# The output tables, in load order; each has sql/<name>.sql.
TABLES = (
    "sessions",
    "unsessioned_events",
    "purchases",
    "purchase_items",
    "refunds",
    "cart_adds",
    "searches",
    "item_views",
    "page_views",
)
# One row of what the queries dropped or cleaned (sql/day_quality.sql): checks, not a table.
QUALITY = "day_quality"

# Columns (and nested fields) the queries read; a table without one of them is not a GA4
# export table, or one too old to read.
REQUIRED = {
    "event_date": None,
    "event_timestamp": None,
    "event_name": None,
    "event_params": None,
    "event_bundle_sequence_id": None,
    "event_value_in_usd": None,
    "user_id": None,
    "user_pseudo_id": None,
    "user_properties": None,
    "device": {"category"},
    "geo": {"country"},
    "stream_id": None,
    "ecommerce": {
        "transaction_id",
        "purchase_revenue",
        "purchase_revenue_in_usd",
        "refund_value",
        "refund_value_in_usd",
        "total_item_quantity",
    },
    "items": {
        "item_id",
        "item_name",
        "item_brand",
        "item_category",
        "price",
        "price_in_usd",
        "quantity",
        "item_revenue",
        "item_revenue_in_usd",
    },
}
# Optional columns -> the render option that says the table has them.
OPTIONAL = {
    "is_active_user": "has_is_active_user",
    "session_traffic_source_last_click": "has_last_click",
    "collected_traffic_source": "has_collected_source",
}


def export_features(schema, table_name: str = "the export table") -> dict[str, bool]:
    """Render options for an export table's schema (a list of SchemaField); a clear error
    naming every missing column when the table cannot be read."""
    fields = {f.name: f for f in schema}
    missing = []
    for column, nested in REQUIRED.items():
        if column not in fields:
            missing.append(column)
            continue
        have = {f.name for f in fields[column].fields or ()}
        missing += [f"{column}.{n}" for n in sorted(nested or ()) if n not in have]
    if missing:
        raise GaIntelError(
            f"{table_name} lacks the GA4 export column(s) {', '.join(missing)}; nothing was loaded for this day",
            hint="point bigquery.dataset_id at the GA4 export dataset (analytics_<property id>); "
            "a table made by hand must have the export's schema (ga_intel/ga4/schema/events_schema.json)",
        )
    return {option: column in fields for column, option in OPTIONAL.items()}


def query_text(table: str, settings: BigQuerySettings, features: dict[str, bool] | None = None) -> str:
    options = {option: False for option in OPTIONAL.values()} | (features or {})
    return sqlfiles.render(
        f"ga_intel/ga4/sql/{table}.sql", dataset=f"{settings.project_id}.{settings.dataset_id}", **options
    )


def table_suffix(day: dt.date, intraday: bool = False) -> str:
    """What `events_*`'s _TABLE_SUFFIX is for the day's table: the suffix match is exact, so
    a daily query never reads `events_intraday_*`, and an intraday one never a daily table."""
    return ("intraday_" if intraday else "") + day.strftime("%Y%m%d")


def day_start_seconds(day: dt.date, timezone: str) -> int:
    """Unix seconds of the property's local midnight starting `day` (GA4's event_date is local)."""
    return int(dt.datetime.combine(day, dt.time(0), ZoneInfo(timezone)).timestamp())


def query_parameters(day: dt.date, ga4: Ga4Settings, timezone: str, intraday: bool = False) -> list:
    from google.cloud import bigquery

    p = bigquery.ScalarQueryParameter
    return [
        p("day", "STRING", table_suffix(day, intraday)),
        p("day_start_seconds", "INT64", day_start_seconds(day, timezone)),
        p("customer_key", "STRING", ga4.customer_key),
        p("customer_key_is_user_id", "BOOL", ga4.customer_key == "user_id"),
        p("fallback_to_user_id", "BOOL", ga4.customer_key_fallback == "user_id"),
        p("company_key", "STRING", ga4.company_key),
        p("branch_key", "STRING", ga4.branch_key),
        p("no_results_event", "STRING", ga4.no_results_event),
        p("no_results_param", "STRING", ga4.no_results_param),
    ]


@dataclass
class ReadPath:
    """How a day's query results come back: `api` is "storage" (the BigQuery Storage Read
    API) or "rest" (tabledata pages of JSON); `reason` says why, for the run's metadata.
    Shared by the day's streams, so a refused read session sends the rest to REST too."""

    api: str
    reason: str
    storage_client: object | None = None

    def fall_back(self, reason: str) -> None:
        log.warning("BigQuery Storage Read API not used, paging over REST instead: %s", reason)
        self.api, self.reason, self.storage_client = "rest", reason, None


GOOGLE_HOST_SUFFIX = ".googleapis.com"


def read_path(settings: BigQuerySettings, storage_client=None) -> ReadPath:
    """Storage Read API for Google's endpoint; REST for any other endpoint (an emulator:
    `bigquery.api_endpoint` or BIGQUERY_EMULATOR_HOST), or with a warning when
    google-cloud-bigquery-storage cannot be imported. `storage_client` builds the client
    (default: connectors.bigquery.storage_client)."""
    from urllib.parse import urlsplit as split

    endpoint = settings.api_endpoint or os.environ.get("BIGQUERY_EMULATOR_HOST")
    if endpoint:
        host = split(endpoint if "//" in endpoint else f"//{endpoint}").hostname or endpoint
        if not host.endswith(GOOGLE_HOST_SUFFIX):
            return ReadPath("rest", f"endpoint {host} is not Google's: the Storage Read API is not served there")
    if storage_client is None:
        from ga_intel.connectors.bigquery import storage_client
    try:
        client = storage_client(settings)
    except ImportError as exc:
        path = ReadPath("storage", "")
        path.fall_back(
            f"google-cloud-bigquery-storage cannot be imported ({exc}); install it with "
            "`uv add google-cloud-bigquery-storage`"
        )
        return path
    return ReadPath("storage", "Google's endpoint: Arrow record batches, streams read in parallel", client)


@dataclass
class TableStream:
    """One output table's rows for a day: Arrow record batches, read lazily."""

    table: str
    rows_expected: int
    batches: Iterator


def stream(
    client,
    table: str,
    day: dt.date,
    settings: BigQuerySettings,
    ga4: Ga4Settings,
    timezone: str,
    features: dict[str, bool] | None = None,
    page_size: int = 50_000,
    intraday: bool = False,
    path: ReadPath | None = None,
) -> TableStream:
    from google.cloud import bigquery

    job = client.query(
        query_text(table, settings, features),
        job_config=bigquery.QueryJobConfig(query_parameters=query_parameters(day, ga4, timezone, intraday)),
    )
    path = path or ReadPath("rest", "no read path given")
    # For the Storage API ask for no first page: a page of JSON rows in the response
    # would make the library page the rest over REST too when it holds a third of them.
    rows = job.result(page_size=None if path.api == "storage" else page_size)
    batches = arrow_batches(rows, path, again=lambda: job.result(page_size=page_size))
    return TableStream(table, rows.total_rows or 0, transformed(table, batches, ga4))


def arrow_batches(rows, path: ReadPath, again) -> Iterator:
    """A query result's Arrow record batches over `path`; on a permission error creating the
    read session (the service account lacks bigquery.readsessions.create) the path falls
    back to REST, with a warning, for this result and the ones after it. `again()` gives a
    fresh iterator of the same result (the library's iterator cannot be restarted)."""
    if path.api == "storage":
        from google.api_core import exceptions as gexc

        batches = rows.to_arrow_iterable(bqstorage_client=path.storage_client)
        try:
            first = next(batches, None)  # CreateReadSession happens here
        except (gexc.PermissionDenied, gexc.Forbidden) as exc:
            path.fall_back(
                f"permission denied on CreateReadSession ({getattr(exc, 'message', exc)}); grant the "
                "service account BigQuery Read Session User (roles/bigquery.readSessionUser)"
            )
            rows = again()
        else:
            if first is not None:
                yield first
            yield from batches
            return
    yield from rows.to_arrow_iterable(bqstorage_client=None)


def transformed(table: str, batches: Iterator, ga4: Ga4Settings) -> Iterator:
    """A table's batches as they come from BigQuery, with what Python finishes (_TRANSFORMS)."""
    return _TRANSFORMS.get(table, _same)(batches, ga4)


def _same(batches, ga4):
    return batches


def _url_search_terms(batches, ga4: Ga4Settings):
    """A search without a search_term parameter takes its term from the page URL's query
    parameter (`ga4.search_query_param`), decoded here: BigQuery has no URL decoding. The
    query's helper column `page_location` is dropped on the way."""
    import pyarrow as pa

    for batch in batches:
        i_url = batch.schema.get_field_index("page_location")
        urls = batch.column(i_url).to_pylist()
        batch = batch.remove_column(i_url)
        if not any(urls):
            yield batch
            continue
        i_term, i_source = batch.schema.get_field_index("search_term"), batch.schema.get_field_index("term_source")
        terms, sources = batch.column(i_term).to_pylist(), batch.column(i_source).to_pylist()
        for n, url in enumerate(urls):
            if url and terms[n] is None:
                found = parse_qs(urlsplit(url).query).get(ga4.search_query_param)
                if found and found[0].strip():
                    terms[n], sources[n] = found[0], "url"
        batch = batch.set_column(i_term, batch.schema.field(i_term), pa.array(terms, pa.string()))
        yield batch.set_column(i_source, batch.schema.field(i_source), pa.array(sources, pa.string()))


_TRANSFORMS = {"searches": _url_search_terms}


def quality(
    client,
    day: dt.date,
    settings: BigQuerySettings,
    ga4: Ga4Settings,
    timezone: str,
    features: dict[str, bool] | None = None,
    intraday: bool = False,
) -> dict[str, int]:
    """The day's one row of sql/day_quality.sql: exported events, duplicates dropped, bad values nulled."""
    from google.cloud import bigquery

    job = client.query(
        query_text(QUALITY, settings, features),
        job_config=bigquery.QueryJobConfig(query_parameters=query_parameters(day, ga4, timezone, intraday)),
    )
    rows = list(job.result())
    return {k: int(v or 0) for k, v in rows[0].items()} if rows else {}

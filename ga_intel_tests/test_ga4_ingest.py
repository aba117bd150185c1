"""GA4 ingestion end to end: NDJSON -> BigQuery emulator (real google-cloud-bigquery
client) -> the queries -> PostgreSQL, through `dagster.materialize` of the real asset.

Expected figures are computed independently from the NDJSON files in Python."""

from __future__ import annotations

import collections
import datetime as dt
import json
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa

from ga_intel.connectors import bigquery as bq_connector
from ga_intel.db import tenant_scope
from ga_intel.demo import generator
from ga_intel.ga4 import load
from ga_intel.ga4.assets import ga4_day
from ga_intel.orchestration.partitions import TENANT_DIMENSION
from ga_intel.orchestration.resources import build_resources
from ga_intel.orchestration.run import failure_messages
from ga_intel.tenancy import store, tenant_file
from ga_intel_tests.conftest import tenant_data

SAMPLE = Path(__file__).resolve().parents[2] / "shared" / "ga4-sample"
# Sample days holding carts and searches (checked below), plus one ordinary day.
SAMPLE_DAYS = ["20201101", "20201203", "20201217", "20201222", "20201223"]
SYNTH_DAYS = [dt.date(2024, 3, 4), dt.date(2024, 3, 5)]
PROJECT = "test-project"


def rows_of(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def param(row: dict, key: str):
    for p in row.get("event_params") or []:
        if p["key"] == key:
            v = p["value"]
            return v.get("string_value") or v.get("int_value")
    return None


@pytest.fixture(scope="module")
def ga4_data(bigquery_emulator, tmp_path_factory):
    """Two datasets in the emulator: sample days and synthetic days."""
    settings = tenant_file.BigQuerySettings(
        project_id=PROJECT, dataset_id="sample", api_endpoint=bigquery_emulator.endpoint
    )
    client = bq_connector.client(settings)
    client.create_dataset(f"{PROJECT}.sample", exists_ok=True)
    for day in SAMPLE_DAYS:
        load.load_day(client, f"{PROJECT}.sample", day, SAMPLE / f"events_{day}.ndjson")
    synth = tmp_path_factory.mktemp("synth")
    generator.write_days(synth, SYNTH_DAYS[0], len(SYNTH_DAYS), events_per_day=1200, progress=None)
    load.load_folder(client, f"{PROJECT}.synth", synth, progress=lambda m: None)
    # A day that exported zero events.
    client.create_table(
        __import__("google.cloud.bigquery", fromlist=["Table"]).Table(
            f"{PROJECT}.synth.events_20240306", schema=load.export_schema()
        ),
        exists_ok=True,
    )
    return {"endpoint": bigquery_emulator.endpoint, "synth_dir": synth, "client": client}


@pytest.fixture
def instance():
    with dg.instance_for_test() as inst:
        yield inst


def add_tenant(ga4_data, tenant_id: str, dataset: str, **ga4) -> None:
    data = tenant_data(
        tenant_id, bigquery={"project_id": PROJECT, "dataset_id": dataset, "api_endpoint": ga4_data["endpoint"]}
    )
    if ga4:
        data["ga4"] = ga4
    store.add(tenant_file.validate(data, "test"))


def materialize(instance, tenant_id: str, day: str):
    if tenant_id not in instance.get_dynamic_partitions(TENANT_DIMENSION):
        instance.add_dynamic_partitions(TENANT_DIMENSION, [tenant_id])
    return dg.materialize(
        [ga4_day],
        instance=instance,
        resources=build_resources(),
        raise_on_error=False,
        partition_key=dg.MultiPartitionKey({"tenant": tenant_id, "date": day}),
    )


def table(tenant_id: str, name: str, day: str | None = None) -> list[dict]:
    where = "WHERE event_date = :d" if day else ""
    with tenant_scope(tenant_id) as conn:
        rows = conn.execute(sa.text(f"SELECT * FROM tenant_data.{name} {where}"), {"d": day}).mappings().all()
    return [dict(r) for r in rows]


def checks(result) -> dict[str, bool]:
    return {c.check_name: c.passed for c in result.get_asset_check_evaluations()}


def test_sample_figures_match_the_files(db, secret_key, ga4_data, instance):
    add_tenant(ga4_data, "sample", "sample")
    totals = collections.Counter()
    for day in SAMPLE_DAYS:
        iso = f"{day[:4]}-{day[4:6]}-{day[6:]}"
        result = materialize(instance, "sample", iso)
        assert result.success, result
        assert all(checks(result).values()), checks(result)
        events = rows_of(SAMPLE / f"events_{day}.ndjson")
        names = collections.Counter(e["event_name"] for e in events)
        sessions = table("sample", "sessions", iso)
        # Every event is counted in exactly one session; sessions are (pseudo id, ga_session_id).
        assert sum(s["event_count"] for s in sessions) == len(events)
        assert len(sessions) == len({(e["user_pseudo_id"], param(e, "ga_session_id")) for e in events})
        assert sum(s["page_views"] for s in sessions) == names["page_view"]
        carts = table("sample", "cart_adds", iso)
        assert len(carts) == sum(max(1, len(e["items"])) for e in events if e["event_name"] == "add_to_cart")
        searches = table("sample", "searches", iso)
        assert len(searches) == names["view_search_results"] + names["search"]
        assert {s["search_term"] for s in searches} <= {"<obfuscated>", None}
        # No user_id and no webuserid in Google's sample: nothing is attributable to a customer.
        assert not table("sample", "page_views", iso) and not table("sample", "item_views", iso)
        totals.update(carts=len(carts), searches=len(searches))
        [availability] = table("sample", "data_availability", iso)
        assert availability["status"] == "complete" and availability["bq_row_count"] == len(events)
    assert totals["carts"] > 0 and totals["searches"] > 0  # the chosen days do exercise both


def test_synthetic_days_purchases_identity_and_search_outcomes(db, secret_key, ga4_data, instance):
    add_tenant(ga4_data, "synth", "synth")
    day = SYNTH_DAYS[0]
    result = materialize(instance, "synth", day.isoformat())
    assert result.success and all(checks(result).values()), checks(result)
    availability = next(
        m for m in result.get_asset_materialization_events() if m.asset_key == dg.AssetKey("data_availability")
    ).materialization.metadata
    assert availability["read_api"].value == "rest"  # the emulator does not serve the Storage Read API
    assert "is not Google's" in availability["read_api_reason"].value
    events = rows_of(ga4_data["synth_dir"] / f"events_{day:%Y%m%d}.ndjson")
    purchases_raw = [e for e in events if e["event_name"] == "purchase"]
    real_ids = {
        e["ecommerce"]["transaction_id"]
        for e in purchases_raw
        if e["ecommerce"]["transaction_id"] not in (None, "(not set)")
    }
    unkeyed = [e for e in purchases_raw if e["ecommerce"]["transaction_id"] in (None, "(not set)")]
    purchases = table("synth", "purchases", day.isoformat())
    assert len(purchases) == len(real_ids) + len(unkeyed)
    assert {p["transaction_id"] for p in purchases if p["id_status"] == "ok"} == real_ids
    assert len(purchases_raw) > len(purchases)  # the generator duplicated some; they collapsed
    assert sum(p["duplicate_events"] for p in purchases if p["id_status"] == "ok") == len(
        [e for e in purchases_raw if e["ecommerce"]["transaction_id"] in real_ids]
    )
    # Identity: webuserid / webcustomerid / default_branch_id user properties.
    by_txn = {e["ecommerce"]["transaction_id"]: e for e in purchases_raw}
    for p in purchases:
        if p["id_status"] == "ok" and by_txn[p["transaction_id"]]["user_id"]:
            props = {u["key"]: u["value"]["string_value"] for u in by_txn[p["transaction_id"]]["user_properties"]}
            assert (p["customer_id"], p["company_id"], p["branch_id"]) == (
                props["webuserid"],
                props["webcustomerid"],
                props["default_branch_id"],
            )
    items = table("synth", "purchase_items", day.isoformat())
    first_events = {}
    for e in purchases_raw:
        first_events.setdefault(e["ecommerce"]["transaction_id"] or f"null-{e['event_timestamp']}", e)
    expected_items = sum(
        len(e["items"]) for e in first_events.values() if e["ecommerce"]["transaction_id"] in real_ids
    ) + sum(len(e["items"]) for e in unkeyed)
    assert len(items) == expected_items
    # Searches: the configured no-result event is flagged; outcomes follow the session.
    searches = table("synth", "searches", day.isoformat())
    assert sum(s["no_results"] for s in searches) == sum(e["event_name"] == "no_search_results" for e in events)
    # then_purchase: the same session purchased after the search (never for a cookieless search).
    bought = {
        (e["user_pseudo_id"], param(e, "ga_session_id")): int(e["event_timestamp"])
        for e in sorted(events, key=lambda e: int(e["event_timestamp"]))
        if e["event_name"] == "purchase"
    }
    for s in searches:
        last_buy = bought.get((s["user_pseudo_id"], str(s["ga_session_id"])))
        assert s["then_purchase"] == (
            s["user_pseudo_id"] is not None and last_buy is not None and last_buy > s["event_timestamp"]
        )
    assert any(s["then_purchase"] for s in searches)
    assert any(s["then_add_to_cart"] for s in searches) and any(not s["then_view_item"] for s in searches)
    # Logged-in page views only; every one carries the resolved customer.
    page_views = table("synth", "page_views", day.isoformat())
    assert page_views and all(p["customer_id"] for p in page_views)
    assert len(page_views) == sum(e["event_name"] == "page_view" and bool(e["user_properties"]) for e in events)
    # Consent-denied hits are kept, but they are not sessions: counted as unsessioned events.
    sessions = table("synth", "sessions", day.isoformat())
    unsessioned = table("synth", "unsessioned_events", day.isoformat())
    cookieless = [e for e in events if e["user_pseudo_id"] is None]
    assert cookieless and all(s["user_pseudo_id"] is not None for s in sessions)
    assert sum(u["events"] for u in unsessioned if u["reason"] == "no_pseudo_id") == len(cookieless)
    assert sum(s["event_count"] for s in sessions) + sum(u["events"] for u in unsessioned) == len(events)


def test_customer_key_is_a_tenant_setting(db, secret_key, ga4_data, instance):
    # A property that does not exist falls back to GA4's own user_id.
    add_tenant(
        ga4_data,
        "fallback",
        "synth",
        customer_key="no_such_property",
        customer_key_fallback="user_id",
        company_key="no_such_company",
    )
    day = SYNTH_DAYS[0].isoformat()
    assert materialize(instance, "fallback", day).success
    sessions = table("fallback", "sessions", day)
    known = [s for s in sessions if s["customer_id"]]
    assert known and all(s["company_id"] is None for s in sessions)
    assert all(s["user_pseudo_id"].endswith("." + s["customer_id"]) for s in known)  # the generator's device ids


def test_rerun_gives_identical_tables(db, secret_key, ga4_data, instance):
    add_tenant(ga4_data, "rerun", "synth")
    day = SYNTH_DAYS[1].isoformat()
    names = ["sessions", "purchases", "purchase_items", "cart_adds", "searches", "item_views", "page_views"]

    def snapshot():
        return {n: sorted(json.dumps(r, default=str, sort_keys=True) for r in table("rerun", n, day)) for n in names}

    assert materialize(instance, "rerun", day).success
    first = snapshot()
    assert materialize(instance, "rerun", day).success
    assert snapshot() == first
    assert all(first[n] for n in ("sessions", "purchases", "cart_adds", "searches"))


def test_zero_event_day_is_complete_and_empty(db, secret_key, ga4_data, instance):
    add_tenant(ga4_data, "zero", "synth")
    result = materialize(instance, "zero", "2024-03-06")
    assert result.success and all(checks(result).values())
    assert table("zero", "sessions") == []
    [availability] = table("zero", "data_availability")
    assert availability["status"] == "complete" and availability["bq_row_count"] == 0


def test_missing_daily_table_fails_its_check_and_keeps_data(db, secret_key, ga4_data, instance):
    add_tenant(ga4_data, "gap", "synth")
    result = materialize(instance, "gap", "2024-03-01")
    assert result.success  # the run reports; the check carries the alert
    assert checks(result)["daily_table_present"] is False
    [availability] = table("gap", "data_availability")
    assert availability["status"] == "missing" and "events_20240301 does not exist" in availability["message"]


def test_wrong_dataset_fails_clearly(db, secret_key, ga4_data, instance):
    add_tenant(ga4_data, "wrongds", "no_such_dataset")
    result = materialize(instance, "wrongds", SYNTH_DAYS[0].isoformat())
    assert not result.success
    errors = failure_messages(result)
    assert any("dataset test-project.no_such_dataset not found" in m for m in errors), errors
    [availability] = table("wrongds", "data_availability")
    assert availability["status"] == "failed"


def test_unreachable_endpoint_fails_clearly(db, secret_key, instance, monkeypatch):
    monkeypatch.setattr("ga_intel.ga4.ingest.BQ_TIMEOUT_SECONDS", 3)
    data = tenant_data(
        "deadbq", bigquery={"project_id": PROJECT, "dataset_id": "x", "api_endpoint": "http://127.0.0.1:9"}
    )
    store.add(tenant_file.validate(data, "test"))
    result = materialize(instance, "deadbq", SYNTH_DAYS[0].isoformat())
    assert not result.success
    errors = failure_messages(result)
    assert any("cannot reach http://127.0.0.1:9" in m for m in errors), errors


def test_ndjson_without_null_fields_loads_the_same(ga4_data, tmp_path):
    """Real exports either write `null` or leave the field out; both must load."""

    def strip(node):
        if isinstance(node, dict):
            return {k: strip(v) for k, v in node.items() if v is not None}
        if isinstance(node, list):
            return [strip(v) for v in node]
        return node

    day = SAMPLE_DAYS[1]
    path = tmp_path / f"events_{day}.ndjson"
    path.write_text("".join(json.dumps(strip(r)) + "\n" for r in rows_of(SAMPLE / f"events_{day}.ndjson")))
    client = ga4_data["client"]
    client.create_dataset(f"{PROJECT}.stripped", exists_ok=True)
    assert load.load_day(client, f"{PROJECT}.stripped", day, path) == len(rows_of(path))
    query = f"SELECT count(*) AS n, countif(event_name = 'add_to_cart') AS carts FROM `{PROJECT}.stripped.events_{day}`"
    n, carts = list(client.query(query).result())[0]
    original = rows_of(SAMPLE / f"events_{day}.ndjson")
    assert (n, carts) == (len(original), sum(e["event_name"] == "add_to_cart" for e in original))


def test_a_file_that_is_not_ga4_is_refused(ga4_data, tmp_path):
    from ga_intel.errors import GaIntelError

    path = tmp_path / "events_20240101.ndjson"
    path.write_text('{"event_timestamp": "not-a-number"}\n')
    with pytest.raises(GaIntelError, match="BigQuery rejected events_20240101"):
        load.load_day(ga4_data["client"], f"{PROJECT}.synth", "20240101", path)


def loaded_events(tenant: str) -> int:
    """Every exported event lands once: in a session, or counted as unsessioned (cookieless pings)."""
    return sum(s["event_count"] for s in table(tenant, "sessions")) + sum(
        u["events"] for u in table(tenant, "unsessioned_events")
    )


def test_intraday_table_is_a_provisional_stand_in_until_the_daily_lands(db, secret_key, ga4_data, instance, tmp_path):
    from ga_intel.ga4.ingest import local_today

    day = local_today("America/Chicago") - dt.timedelta(days=1)
    ymd = f"{day:%Y%m%d}"
    client = ga4_data["client"]
    client.create_dataset(f"{PROJECT}.intraday", exists_ok=True)
    [path] = generator.write_days(tmp_path, day, 1, events_per_day=300, progress=None)
    load.load_day(client, f"{PROJECT}.intraday", f"intraday_{ymd}", path)

    add_tenant(ga4_data, "nointra", "intraday")
    assert checks(materialize(instance, "nointra", day.isoformat()))["daily_table_present"] is False
    assert table("nointra", "sessions") == []  # opted out: the intraday table is never read

    add_tenant(ga4_data, "intra", "intraday", load_intraday=True)
    result = materialize(instance, "intra", day.isoformat())
    assert result.success and checks(result)["daily_table_present"], checks(result)
    [availability] = table("intra", "data_availability")
    assert (availability["status"], availability["source_table"]) == ("provisional", f"events_intraday_{ymd}")
    assert "provisional" in availability["message"]
    exported = len(path.read_text().splitlines())
    assert loaded_events("intra") == exported

    # The daily table lands (here with one event less): it replaces the stand-in, never adds to it.
    events = path.read_text().splitlines()
    daily = tmp_path / "daily.ndjson"
    daily.write_text("\n".join(events[:-1]) + "\n")
    load.load_day(client, f"{PROJECT}.intraday", ymd, daily)
    assert materialize(instance, "intra", day.isoformat()).success
    [availability] = table("intra", "data_availability")
    assert (availability["status"], availability["source_table"]) == ("provisional", f"events_{ymd}")
    assert availability["message"] is None
    assert loaded_events("intra") == exported - 1

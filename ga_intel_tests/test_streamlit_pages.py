"""The dashboard's data pages (Overview, Search, Data) with AppTest, against the real
platform database: GA4 rows for two tenants inserted under row-level security, KPIs checked
against figures computed by hand, and tenant B's data never shown to a user of tenant A."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from streamlit.testing.v1 import AppTest

from ga_intel.db import tenant_scope
from ga_intel.tenancy import store, tenant_file
from ga_intel_tests.conftest import tenant_data
from ga_intel_tests.test_streamlit_settings import rendered, texts
from streamlit_app.lib.context import default_dates

APP = str(Path(__file__).resolve().parents[1] / "streamlit_app" / "app.py")
START, END = default_dates()
D1, D2 = END, END - dt.timedelta(days=1)  # in the selected range
PREV = START - dt.timedelta(days=1)  # in the previous period of equal length
BETA_TERM = "beta-secret-term"
BETA_REVENUE = "9,876.54"
EMPTY = "No GA4 data loaded for these dates yet"


@pytest.fixture(autouse=True)
def fresh_cache():
    """Cached query results outlive an AppTest; every test starts from the database."""
    from streamlit_app.lib import data

    data.clear_cache()
    yield
    data.clear_cache()


@pytest.fixture
def tenants(db, secret_key, tmp_path, monkeypatch):
    acme = tenant_data("acme", folder=str(tmp_path), members=[
        {"email": "admin@acme.example", "role": "admin"},
        {"email": "manager@acme.example", "role": "manager", "branch": "CHI"},
        {"email": "rep@acme.example", "role": "rep", "branch": "CHI"},
        {"email": "multi@both.example", "role": "rep"},
    ])
    beta = tenant_data("beta", folder=str(tmp_path), members=[{"email": "admin@beta.example", "role": "admin"},
                                                              {"email": "multi@both.example", "role": "manager"}])
    for data in (acme, beta):
        store.add(tenant_file.validate(data, "test"))
    monkeypatch.setenv("GA_INTEL_DEV_LOGIN", "1")
    monkeypatch.setenv("GA_INTEL_DAGSTER_URL", "http://dagster.test:3000/")


def _ts(day: dt.date, hour: int = 12) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, tzinfo=dt.timezone.utc)


def insert(tenant_id: str, table: str, rows: list[dict]) -> None:
    """Rows into tenant_data.<table> through the tenant's RLS scope (as the pipeline writes them)."""
    with tenant_scope(tenant_id) as conn:
        for row in rows:
            row = {"tenant_id": tenant_id, **row}
            cols = ", ".join(row)
            conn.execute(sa.text(f"INSERT INTO tenant_data.{table} ({cols}) VALUES ({', '.join(':' + c for c in row)})"),
                         row)


def session(day, user, sid, purchase=False) -> dict:
    return dict(event_date=day, user_pseudo_id=user, ga_session_id=sid, session_start=_ts(day), session_end=_ts(day, 13),
                page_views=3, engaged=True, had_add_to_cart=purchase, had_purchase=purchase, event_count=10)


def purchase(day, txn, revenue, status="ok") -> dict:
    return dict(event_date=day, user_pseudo_id="u1", ga_session_id=1, transaction_id=txn, id_status=status,
                event_time=_ts(day), event_timestamp=1, revenue=revenue, currency="USD", item_count=1,
                duplicate_events=1)


def search(day, term, user="u1", sid=1, no_results=False, view=False, cart=False, bought=False) -> dict:
    return dict(event_date=day, user_pseudo_id=user, ga_session_id=sid, event_time=_ts(day), event_timestamp=1,
                event_name="view_search_results", search_term=term, no_results=no_results, then_view_item=view,
                then_add_to_cart=cart, then_purchase=bought)


@pytest.fixture
def ga4(tenants):
    """Known GA4 figures.

    acme, current period: sessions 4 (u1 ×2, u2, u3), 2 with a purchase → conversion 50.0%;
    active users 3; purchases 100.00 + 50.50 + 49.50 (`(not set)` id) = 200.00 over 3
    transactions → AOV 66.67. Previous period: 2 sessions (1 converting, 50.0%), 1 user,
    1 purchase of 100.00 → revenue +100.0%, transactions +200.0%, AOV −33.3%, sessions +100.0%,
    users +200.0%, conversion +0.0 pp.
    acme searches: "drill" ×3 (one → cart + purchase, one → view, one no-click),
    "hammer" ×2 no results, "Saw " ×1 no-click (normalised to "saw").
    beta: distinct, large figures and a term that must never reach acme's users.
    """
    insert("acme", "sessions", [session(D1, "u1", 1, True), session(D1, "u1", 2), session(D2, "u2", 3, True),
                                session(D2, "u3", 4), session(PREV, "u1", 5, True), session(PREV, "u1", 6)])
    insert("acme", "purchases", [purchase(D1, "T1", 100), purchase(D2, "T2", 50.5),
                                 purchase(D2, None, 49.5, "not_set"), purchase(PREV, "T0", 100)])
    insert("acme", "searches", [
        search(D1, "drill", cart=True, bought=True, view=True), search(D1, "drill", user="u2", sid=3, view=True),
        search(D2, "Drill "), search(D2, "hammer", no_results=True), search(D2, "hammer", user="u3", sid=4, no_results=True),
        search(D2, "Saw "),
    ])
    insert("acme", "data_availability", [
        dict(event_date=D1, source_table=f"events_{D1:%Y%m%d}", status="complete", bq_row_count=5000,
             rows_written=json.dumps({"sessions": 2, "purchases": 1}), run_id="run-acme-1", message=None),
        dict(event_date=D2, source_table=f"events_{D2:%Y%m%d}", status="failed", bq_row_count=None,
             rows_written="{}", run_id="run-acme-2", message="BigQuery said no"),
    ])
    insert("beta", "sessions", [session(D1, "b1", 1, True)])
    insert("beta", "purchases", [purchase(D1, "B1", 9876.54)])
    insert("beta", "searches", [search(D1, BETA_TERM, cart=True)])
    insert("beta", "data_availability", [
        dict(event_date=D1, source_table="events_x", status="complete", rows_written="{}", run_id="run-beta-1"),
    ])


def open_page(monkeypatch, email: str, page: str | None = None) -> AppTest:
    monkeypatch.setenv("GA_INTEL_DEV_USER", email)
    at = AppTest.from_file(APP, default_timeout=30)
    at.run()
    assert not at.exception, at.exception
    if page:
        at.switch_page(f"views/{page}.py").run()
        assert not at.exception, at.exception
    return at


def downloads(at: AppTest) -> list:
    return at.get("download_button")


@pytest.mark.parametrize("email", ["admin@acme.example", "rep@acme.example"])
def test_overview_kpis_by_hand(ga4, monkeypatch, email):
    at = open_page(monkeypatch, email)  # the default page
    assert at.title[0].value == "Overview"
    shown = {m.label: (m.value, m.delta) for m in at.metric}
    assert shown == {
        "Revenue": ("200.00", "+100.0% vs previous"),
        "Transactions": ("3", "+200.0% vs previous"),
        "AOV": ("66.67", "-33.3% vs previous"),
        "Sessions": ("4", "+100.0% vs previous"),
        "Active users": ("3", "+200.0% vs previous"),
        "Conversion rate": ("50.0%", "+0.0 pp vs previous"),
    }
    assert len(at.get("plotly_chart")) == 3
    assert len(downloads(at)) == 4  # KPIs + one per chart
    everything = rendered(at)
    assert BETA_REVENUE not in everything and "9876.54" not in everything


def test_overview_for_the_other_tenant_shows_only_its_data(ga4, monkeypatch):
    at = open_page(monkeypatch, "admin@beta.example")
    assert {m.label: m.value for m in at.metric}["Revenue"] == BETA_REVENUE
    assert {m.label: m.delta for m in at.metric}["Revenue"] in (None, "")  # nothing in beta's previous period


def test_cached_results_are_per_tenant(ga4, monkeypatch):
    """Same page, same dates, same SQL: switching tenant must not serve the other's cached rows."""
    at = open_page(monkeypatch, "multi@both.example")
    assert {m.label: m.value for m in at.metric}["Revenue"] == "200.00"
    at.sidebar.selectbox(key="tenant").set_value("beta").run()
    assert {m.label: m.value for m in at.metric}["Revenue"] == BETA_REVENUE
    at.sidebar.selectbox(key="tenant").set_value("acme").run()
    assert {m.label: m.value for m in at.metric}["Revenue"] == "200.00"
    at.switch_page("views/search.py").run()
    assert BETA_TERM not in rendered(at)
    at.sidebar.selectbox(key="tenant").set_value("beta").run()
    assert list(at.dataframe[0].value["term"]) == [BETA_TERM]


def test_overview_empty_state(tenants, monkeypatch):
    at = open_page(monkeypatch, "admin@acme.example")
    assert at.title[0].value == "Overview"
    assert any(EMPTY in i.value and "Data" in i.value for i in at.info)
    assert not at.metric and not at.get("plotly_chart")


@pytest.mark.parametrize("email", ["admin@acme.example", "rep@acme.example"])
def test_search_tables(ga4, monkeypatch, email):
    at = open_page(monkeypatch, email, "search")
    assert at.title[0].value == "Search"
    top, no_result, no_click, converting = (df.value for df in at.dataframe)
    assert list(top["term"]) == ["drill", "hammer", "saw"]
    drill = top.set_index("term").loc["drill"]
    assert (drill["searches"], drill["searching_users"], drill["sessions"]) == (3, 2, 2)
    assert list(no_result["term"]) == ["hammer"] and list(no_result["no_result_searches"]) == [2]
    assert sorted(no_click["term"]) == ["drill", "saw"]
    assert dict(zip(no_click["term"], no_click["no_click_share"])) == {"drill": pytest.approx(1 / 3), "saw": 1.0}
    assert list(converting["term"]) == ["drill"]
    assert converting.iloc[0]["purchase_share"] == pytest.approx(1 / 3)
    assert {m.label: m.value for m in at.metric} == {
        "Searches": "6", "Distinct terms": "3", "No-result searches": "2", "No-click searches": "2"}
    page_text = texts(at)
    assert "**No-result**" in page_text and "**No-click**" in page_text
    assert len(downloads(at)) == 5 and len(at.get("plotly_chart")) == 1
    assert BETA_TERM not in rendered(at)


def test_search_empty_state(tenants, monkeypatch):
    at = open_page(monkeypatch, "rep@acme.example", "search")
    assert any("No searches for these dates yet" in i.value and "Data" in i.value for i in at.info)
    assert not at.dataframe


@pytest.mark.parametrize("email", ["admin@acme.example", "manager@acme.example"])
def test_data_page_calendar_and_run_links(ga4, monkeypatch, email):
    at = open_page(monkeypatch, email, "data")
    assert at.title[0].value == "Data"
    days = at.dataframe[0].value.set_index("event_date")
    assert len(days) == 30
    assert days.loc[D1, "status"] == "complete" and days.loc[D1, "run"] == "http://dagster.test:3000/runs/run-acme-1"
    assert days.loc[D1, "bq_row_count"] == 5000 and days.loc[D1, "rows_written"] == "purchases: 1, sessions: 2"
    assert days.loc[D2, "status"] == "failed" and days.loc[D2, "message"] == "BigQuery said no"
    assert (days.drop([D1, D2])["status"] == "not loaded").all()
    shown = {m.label: m.value for m in at.metric}
    assert (shown["Complete"], shown["Failed"], shown["Not loaded"]) == ("1", "1", "28")
    assert len(downloads(at)) == 2
    assert "run-beta-1" not in rendered(at)


def test_data_page_empty_state(tenants, monkeypatch):
    at = open_page(monkeypatch, "rep@acme.example", "data")
    assert any("No day of these dates has been loaded yet" in i.value for i in at.info)
    assert (at.dataframe[0].value["status"] == "not loaded").all()
    assert "http://dagster.test:3000" in texts(at)


def test_session_state_cannot_switch_a_page_to_another_tenant(ga4, monkeypatch):
    at = open_page(monkeypatch, "rep@acme.example", "search")
    at.session_state["tenant"] = "beta"
    at.run()
    assert not at.exception, at.exception
    assert at.session_state["tenant"] == "acme"
    assert BETA_TERM not in rendered(at)


def test_pages_by_role(tenants, monkeypatch):
    at = open_page(monkeypatch, "rep@acme.example")
    # The rep's navigation has the three data pages and no Settings.
    with pytest.raises(ValueError, match="Known pages") as refused:
        at.switch_page("views/settings.py")
    assert all(f"views/{p}.py" in str(refused.value) for p in ("overview", "search", "data"))
    admin = open_page(monkeypatch, "admin@acme.example", "settings")
    assert admin.title[0].value == "Settings"

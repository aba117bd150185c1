"""The dashboard's data pages (Overview, Cart abandonment, Search, Locations, Data) with
AppTest, against the real platform database: stored daily figures for two tenants inserted
under row-level security (as the pipeline writes them), every figure checked against what
the rows say by hand, the branch filter honoured, and tenant B's data never shown to a user
of tenant A. The Tasks page has its own file (test_streamlit_tasks.py)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from ga_intel.insights import users
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
OLD = START - dt.timedelta(days=5)  # in the previous period, never in the selected range
BETA_TERM = "beta-secret-term"
BETA_REVENUE = "9,876.54"
BETA_TASK = "BETA-SECRET-TASK"
BETA_BRANCH = "BETA-HQ"
EMPTY = "No GA4 data loaded for these dates yet"
PAGES = ("overview", "carts", "search", "locations", "tasks", "data")

ACME_MEMBERS = [
    {"email": "admin@acme.example", "role": "admin"},
    {"email": "manager@acme.example", "role": "manager", "branch": "CHI"},
    {"email": "rep@acme.example", "role": "rep", "branch": "CHI"},
    {"email": "rep2@acme.example", "role": "rep", "branch": "MKE"},
    {"email": "multi@both.example", "role": "rep"},
]


@pytest.fixture(autouse=True)
def fresh_cache():
    """Cached query results outlive an AppTest; every test starts from the database."""
    from streamlit_app.lib import data, pagedata

    data.clear_cache()
    pagedata.tenant_rules.clear()
    yield
    data.clear_cache()
    pagedata.tenant_rules.clear()


@pytest.fixture
def tenants(db, secret_key, tmp_path, monkeypatch):
    acme = tenant_data("acme", folder=str(tmp_path), members=ACME_MEMBERS)
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


FIGURES = ("revenue", "transactions", "purchasers", "sessions", "active_users", "converting_sessions",
           "carts_created", "carts_abandoned", "recovered_revenue", "searches", "no_click_searches",
           "no_result_searches", "repeat_visitors", "bounced_sessions")


def figures(day: dt.date, branch: str | None = None, **counts) -> dict:
    """A daily_metrics (or, with `branch`, location_daily_metrics) row: zeros but `counts`."""
    row = {"event_date": day, **{f: 0 for f in FIGURES}, **counts}
    return row | ({"branch_code": branch} if branch else {})


def term(day, branch, text, searches=0, no_result=0, users=1, sessions=1, no_click=0, cart=0, bought=0) -> dict:
    return dict(event_date=day, branch_code=branch, search_term=text, searches=searches, searching_users=users,
                sessions=sessions, no_click_sessions=no_click, no_result_searches=no_result, cart_sessions=cart,
                purchase_sessions=bought)


def task(key, task_type, branch, rep, *, status="open", value=None, day=D1, customer=None, company=None,
         priority=2, context=None, recovered=None, title=None) -> dict:
    return dict(task_key=key, task_type=task_type, account_key=f"user:{customer}" if customer else f"company:{company}",
                customer_id=customer, company_id=company, branch_code=branch, assigned_rep_email=rep,
                assigned_rep_name=rep.split("@")[0].title() if rep else None, source_date=day, created_date=day,
                due_date=day + dt.timedelta(days=1), horizon_date=day + dt.timedelta(days=7), priority=priority,
                status=status, title=title or f"Task {key}",
                value=value, context=json.dumps(context or {}), recovered_revenue=recovered,
                recovered_on=day if recovered is not None else None)


def session(day, user, sid, purchase=False, customer=None, company=None) -> dict:
    return dict(event_date=day, user_pseudo_id=user, ga_session_id=sid, session_start=_ts(day), session_end=_ts(day, 13),
                page_views=3, engaged=True, had_add_to_cart=purchase, had_purchase=purchase, event_count=10,
                customer_id=customer, company_id=company, landing_page=f"https://shop.example/{user}/{sid}")


def purchase(day, txn, revenue, status="ok", customer=None) -> dict:
    return dict(event_date=day, user_pseudo_id="u1", ga_session_id=1, transaction_id=txn, id_status=status,
                event_time=_ts(day), event_timestamp=1, revenue=revenue, currency="USD", item_count=1,
                duplicate_events=1, customer_id=customer)


def search(day, text, user="u1", sid=1, no_results=False, view=False, cart=False, bought=False, customer=None) -> dict:
    return dict(event_date=day, user_pseudo_id=user, ga_session_id=sid, event_time=_ts(day), event_timestamp=1,
                event_name="view_search_results", search_term=text, no_results=no_results, then_view_item=view,
                then_add_to_cart=cart, then_purchase=bought, customer_id=customer)


CART_U1 = {"items": [{"item_id": "SKU-1", "item_name": "Ball Valve", "quantity": 2, "price": 100},
                     {"item_id": "SKU-2", "item_name": "Copper Pipe", "quantity": 1, "price": 50}], "value": 250}
CART_U2 = {"items": [{"item_id": "SKU-1", "item_name": "Ball Valve", "quantity": 1, "price": 80}], "value": 80}


@pytest.fixture
def ga4(tenants):
    """Known stored figures.

    acme, tenant rows. Current period (D2, D1): sessions 2 + 2, converting 1 + 1 → 50.0%;
    active users 1 (D1) and 2 (D2) → 1.5 a day; revenue 100.00 + 100.00 = 200.00 over 3
    transactions → AOV 66.67. Carts created 2 + 1, abandoned 1 + 1 → 66.7%; recovered
    revenue 30.00 (D2). Previous period (PREV): 2 sessions (1 converting, 50.0%), 1 active
    user, 1 purchase of 100.00 → revenue +100.0%, transactions +200.0%, AOV −33.3%,
    sessions +100.0%, users/day +50.0%, conversion +0.0 pp.
    Branches: CHI has D1 (revenue 100, 1 txn, 2 sessions) and D2 (1 session); MKE has D2
    (revenue 100, 2 txn, 1 session, the recovered 30.00); unattributed only PREV.
    Search terms: "drill" 3 searches (D1 CHI 2 with a cart and a purchase, D2 CHI 1
    no-click), "hammer" 2 no-result (D2 MKE), "saw" 1 no-click (D2 CHI).
    Tasks (cart-recovery): u1's cart on D1 (CHI, open, 250.00: 2 × SKU-1 at 100, SKU-2 at
    50) and u2's on D2 (MKE, recovered, 80.00: SKU-1, recovered by a 30.00 order).
    beta: distinct, large figures, a branch, a term and a task that must never reach acme's users.
    """
    insert("acme", "locations", [dict(warehouse_code="CHI", warehouse_id="1", warehouse_name="Chicago", city="Chicago",
                                      state="IL", source_row=2),
                                 dict(warehouse_code="MKE", warehouse_id="2", warehouse_name="Milwaukee",
                                      city="Milwaukee", state="WI", source_row=3),
                                 dict(warehouse_code="IND", warehouse_id="3", warehouse_name="Indianapolis",
                                      source_row=4)])
    # Users: one active on D1, the same one and another on D2 (two in the period), a third
    # in the previous period; sketches with one register per user (insights/users.py).
    insert("acme", "daily_metrics", [
        figures(D1, revenue=100, transactions=1, purchasers=1, sessions=2, active_users=1, converting_sessions=1,
                carts_created=2, carts_abandoned=1, searches=2, users_sketch=users.sketch([(1, 1)])),
        figures(D2, revenue=100, transactions=2, purchasers=1, sessions=2, active_users=2, converting_sessions=1,
                carts_created=1, carts_abandoned=1, recovered_revenue=30, searches=2, no_click_searches=2,
                no_result_searches=2, users_sketch=users.sketch([(1, 1), (2, 3)])),
        figures(PREV, revenue=100, transactions=1, purchasers=1, sessions=2, active_users=1, converting_sessions=1,
                users_sketch=users.sketch([(3, 1)])),
    ])
    insert("acme", "location_daily_metrics", [
        figures(D1, "CHI", revenue=100, transactions=1, purchasers=1, sessions=2, active_users=1, converting_sessions=1,
                carts_created=2, carts_abandoned=1, searches=2),
        figures(D2, "CHI", sessions=1, active_users=1, searches=2, no_click_searches=2),
        figures(D2, "MKE", revenue=100, transactions=2, purchasers=1, sessions=1, active_users=1, converting_sessions=1,
                carts_created=1, carts_abandoned=1, recovered_revenue=30, no_result_searches=2),
        figures(PREV, "CHI", revenue=100, transactions=1, purchasers=1, sessions=1, active_users=1,
                converting_sessions=1),
        figures(PREV, "unattributed", sessions=1, active_users=1),
    ])
    insert("acme", "search_terms_daily", [
        term(D1, "CHI", "drill", searches=2, users=2, sessions=2, cart=1, bought=1),
        term(D2, "CHI", "drill", searches=1, no_click=1),
        term(D2, "MKE", "hammer", no_result=2, users=2, sessions=2),
        term(D2, "CHI", "saw", searches=1, no_click=1),
    ])
    insert("acme", "tasks", [
        task("cart:user:u1:D1", "cart_recovery", "CHI", "rep@acme.example", value=250, customer="u1", context=CART_U1),
        task("cart:user:u2:D2", "cart_recovery", "MKE", "rep2@acme.example", value=80, day=D2, customer="u2",
             context=CART_U2, status="recovered", recovered=30),
    ])
    insert("acme", "data_availability", [
        dict(event_date=D1, source_table=f"events_{D1:%Y%m%d}", status="complete", bq_row_count=5000,
             rows_written=json.dumps({"sessions": 2, "purchases": 1}), run_id="run-acme-1", message=None),
        dict(event_date=D2, source_table=f"events_{D2:%Y%m%d}", status="failed", bq_row_count=None,
             rows_written="{}", run_id="run-acme-2", message="BigQuery said no"),
    ])
    insert("beta", "locations", [dict(warehouse_code=BETA_BRANCH, warehouse_name="Beta HQ", source_row=2)])
    insert("beta", "daily_metrics", [figures(D1, revenue=9876.54, transactions=1, sessions=1, active_users=1,
                                             converting_sessions=1, carts_created=5, carts_abandoned=4)])
    insert("beta", "location_daily_metrics", [figures(D1, BETA_BRANCH, revenue=9876.54, transactions=1, sessions=1,
                                                      active_users=1, converting_sessions=1)])
    insert("beta", "search_terms_daily", [term(D1, BETA_BRANCH, BETA_TERM, searches=1, cart=1)])
    insert("beta", "tasks", [task("cart:user:b1:D1", "cart_recovery", BETA_BRANCH, "rep@acme.example", value=9876.54,
                                  customer="b1", title=BETA_TASK, context={"items": [{"item_id": "BETA-SKU"}]})])
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


def kpis(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def assert_no_beta(at: AppTest) -> None:
    everything = rendered(at)
    for secret in (BETA_REVENUE, "9876.54", BETA_TERM, BETA_TASK, BETA_BRANCH, "BETA-SKU", "run-beta-1"):
        assert secret not in everything, secret


def filter_to(at: AppTest, tenant: str, branch: str) -> AppTest:
    """The branch filter as the Locations page sets it (session state), then a rerun."""
    at.session_state["branch_filter"] = {"tenant": tenant, "branch": branch}
    at.run()
    assert not at.exception, at.exception
    return at


# ------------------------------------------------------------------ Overview
@pytest.mark.parametrize("email", ["admin@acme.example", "rep@acme.example"])
def test_overview_kpis_by_hand(ga4, monkeypatch, email):
    at = open_page(monkeypatch, email)  # the default page
    assert at.title[0].value == "Overview"
    shown = {m.label: (m.value, m.delta) for m in at.metric}
    assert shown == {
        "Revenue": ("200.00", "+100% vs previous"),
        "Net revenue": ("200.00", "+100% vs previous"),
        "Transactions": ("3", "+200% vs previous"),
        "AOV": ("66.67", "−33% vs previous"),
        "Sessions": ("4", "+100% vs previous"),
        "Engagement rate": ("0.0%", "+0.0 pp vs previous"),
        "Users": ("2", "+100% vs previous"),  # distinct over the period, not 1 + 2
        "New users": ("0", ""),
        "Conversion rate": ("50.0%", "+0.0 pp vs previous"),
        "Cookieless events": ("0", ""),
    }
    assert len(at.get("plotly_chart")) == 3
    assert len(downloads(at)) == 4  # KPIs + one per chart (no landing pages in these figures)
    assert any("No landing pages in these dates" in i.value for i in at.info)
    assert_no_beta(at)


def test_overview_with_a_branch_filter_reads_the_branch_rows(ga4, monkeypatch):
    at = filter_to(open_page(monkeypatch, "manager@acme.example"), "acme", "MKE")
    assert kpis(at)["Revenue"] == "100.00" and kpis(at)["Transactions"] == "2" and kpis(at)["Sessions"] == "1"
    assert any("Branch filter: **Milwaukee (MKE)**" in i.value for i in at.sidebar.info)
    assert "branch **MKE**" in texts(at)
    at.sidebar.button(key="clear-branch-filter").click().run()
    assert kpis(at)["Revenue"] == "200.00"
    assert "branch_filter" not in at.session_state and not at.sidebar.info
    # A branch with no figures in the dates says so, and how to get out of it.
    at = filter_to(at, "acme", "IND")
    assert any("No figures for branch **IND**" in i.value and "Clear the branch filter" in i.value for i in at.info)


def test_overview_for_the_other_tenant_shows_only_its_data(ga4, monkeypatch):
    at = open_page(monkeypatch, "admin@beta.example")
    assert kpis(at)["Revenue"] == BETA_REVENUE
    assert {m.label: m.delta for m in at.metric}["Revenue"] in (None, "")  # nothing in beta's previous period


def test_cached_results_are_per_tenant(ga4, monkeypatch):
    """Same page, same dates, same SQL: switching tenant must not serve the other's cached rows."""
    at = open_page(monkeypatch, "multi@both.example")
    assert kpis(at)["Revenue"] == "200.00"
    at.sidebar.selectbox(key="tenant").set_value("beta").run()
    assert kpis(at)["Revenue"] == BETA_REVENUE
    at.sidebar.selectbox(key="tenant").set_value("acme").run()
    assert kpis(at)["Revenue"] == "200.00"
    at.switch_page("views/search.py").run()
    assert BETA_TERM not in rendered(at)
    at.sidebar.selectbox(key="tenant").set_value("beta").run()
    assert list(at.dataframe[0].value["term"]) == [BETA_TERM]


def test_overview_empty_state(tenants, monkeypatch):
    at = open_page(monkeypatch, "admin@acme.example")
    assert at.title[0].value == "Overview"
    assert any(EMPTY in i.value and "Data" in i.value for i in at.info)
    assert not at.metric and not at.get("plotly_chart")


# ------------------------------------------------------------------ Search
@pytest.mark.parametrize("email", ["admin@acme.example", "rep@acme.example"])
def test_search_tables(ga4, monkeypatch, email):
    at = open_page(monkeypatch, email, "search")
    assert at.title[0].value == "Search"
    top, no_result, no_click, converting = (df.value for df in at.dataframe)
    assert list(top["term"]) == ["drill", "hammer", "saw"]
    drill = top.set_index("term").loc["drill"]
    assert (drill["searches"], drill["searching_users"], drill["sessions"]) == (3, 3, 3)
    assert list(no_result["term"]) == ["hammer"] and list(no_result["no_result_searches"]) == [2]
    assert list(no_click["term"]) == ["drill", "saw"]
    assert dict(zip(no_click["term"], no_click["no_click_share"])) == {"drill": pytest.approx(1 / 3), "saw": 1.0}
    assert list(converting["term"]) == ["drill"]
    assert converting.iloc[0]["purchase_share"] == pytest.approx(1 / 3)
    assert kpis(at) == {"Searches": "6", "Distinct terms": "3", "No-result searches": "2", "No-click searches": "2"}
    page_text = texts(at)
    assert "**No-result**" in page_text and "**No-click**" in page_text
    assert len(downloads(at)) == 5 and len(at.get("plotly_chart")) == 1
    assert_no_beta(at)


def test_search_honours_the_branch_filter(ga4, monkeypatch):
    at = filter_to(open_page(monkeypatch, "admin@acme.example", "search"), "acme", "CHI")
    top = at.dataframe[0].value
    assert list(top["term"]) == ["drill", "saw"] and list(top["searches"]) == [3, 1]
    assert kpis(at)["Searches"] == "4" and kpis(at)["No-result searches"] == "0"


def test_search_empty_state(tenants, monkeypatch):
    at = open_page(monkeypatch, "rep@acme.example", "search")
    assert any("No searches for these dates yet" in i.value and "Data" in i.value for i in at.info)
    assert not at.dataframe


# ------------------------------------------------------------------ Cart abandonment
@pytest.mark.parametrize("email, open_cart_tasks", [
    ("admin@acme.example", ["cart:user:u1:D1"]),
    ("manager@acme.example", ["cart:user:u1:D1"]),
    ("rep@acme.example", ["cart:user:u1:D1"]),
    ("rep2@acme.example", []),  # the MKE cart is recovered, not open
])
def test_cart_page(ga4, monkeypatch, email, open_cart_tasks):
    at = open_page(monkeypatch, email, "carts")
    assert at.title[0].value == "Cart abandonment"
    assert kpis(at) == {"Carts created": "3", "Carts abandoned": "2", "Abandonment rate": "66.7%",
                        "Abandoned value": "330.00", "Recovered after contact": "0.00",
                        "Recovered on its own": "30.00"}
    products = at.dataframe[0].value
    assert list(products["item_id"]) == ["SKU-1", "SKU-2"]
    sku1 = products.iloc[0]
    assert (sku1["carts"], sku1["quantity"], sku1["value"], sku1["recovered_carts"]) == (2, 3, 280, 1)
    if open_cart_tasks:
        assert list(at.dataframe[1].value["task_key"]) == open_cart_tasks
    else:
        assert any("No open cart-recovery task in your work list" in i.value for i in at.info)
    assert len(at.get("plotly_chart")) == 4
    assert len(downloads(at)) == 4 + 1 + (1 if open_cart_tasks else 0)  # charts, products, open tasks
    assert_no_beta(at)


def test_cart_page_honours_the_branch_filter(ga4, monkeypatch):
    at = filter_to(open_page(monkeypatch, "admin@acme.example", "carts"), "acme", "MKE")
    assert kpis(at) == {"Carts created": "1", "Carts abandoned": "1", "Abandonment rate": "100.0%",
                        "Abandoned value": "80.00", "Recovered after contact": "0.00", "Recovered on its own": "30.00"}
    assert list(at.dataframe[0].value["item_id"]) == ["SKU-1"]
    assert any("No open cart-recovery task" in i.value for i in at.info)


def test_cart_page_empty_state(tenants, monkeypatch):
    at = open_page(monkeypatch, "admin@acme.example", "carts")
    assert any(EMPTY in i.value for i in at.info)
    assert not at.metric


# ------------------------------------------------------------------ Locations
@pytest.mark.parametrize("email", ["admin@acme.example", "manager@acme.example", "rep@acme.example"])
def test_locations_compare_branches(ga4, monkeypatch, email):
    at = open_page(monkeypatch, email, "locations")
    assert at.title[0].value == "Locations"
    table = at.dataframe[0].value.set_index("branch_code")
    assert list(table.index) == ["CHI", "MKE", "IND"]  # by revenue; IND listed with zeros, PREV-only rows out
    assert table.loc["CHI", "branch_name"] == "Chicago" and table.loc["CHI", "city"] == "Chicago"
    assert (table.loc["CHI", "revenue"], table.loc["CHI", "sessions"], table.loc["CHI", "conversion_rate"]) == \
        (100.0, 3, pytest.approx(1 / 3))
    assert (table.loc["MKE", "transactions"], table.loc["MKE", "aov"], table.loc["MKE", "abandonment_rate"]) == \
        (2, 50.0, 1.0)
    assert table.loc["IND", "sessions"] == 0
    assert len(at.get("plotly_chart")) == 4 and len(downloads(at)) == 5
    assert_no_beta(at)


def test_picking_a_branch_filters_every_page(ga4, monkeypatch):
    at = open_page(monkeypatch, "admin@acme.example", "locations")
    at.selectbox(key="locations-pick").set_value("MKE").run()
    assert at.session_state["branch_filter"] == {"tenant": "acme", "branch": "MKE"}
    assert any("Milwaukee (MKE)" in i.value for i in at.sidebar.info)
    at.switch_page("views/overview.py").run()
    assert kpis(at)["Revenue"] == "100.00"
    at.switch_page("views/carts.py").run()
    assert kpis(at)["Abandoned value"] == "80.00"
    at.switch_page("views/search.py").run()
    assert list(at.dataframe[0].value["term"]) == ["hammer"]
    at.switch_page("views/locations.py").run()
    assert at.selectbox(key="locations-pick").value == "MKE"
    at.selectbox(key="locations-pick").set_value("").run()  # "All branches (no filter)"
    assert "branch_filter" not in at.session_state
    at.switch_page("views/overview.py").run()
    assert kpis(at)["Revenue"] == "200.00"


def test_a_branch_filter_of_another_tenant_or_branch_is_dropped(ga4, monkeypatch):
    at = open_page(monkeypatch, "multi@both.example")
    at = filter_to(at, "beta", BETA_BRANCH)  # beta's branch, while looking at acme
    assert "branch_filter" not in at.session_state and kpis(at)["Revenue"] == "200.00"
    at = filter_to(at, "acme", BETA_BRANCH)  # claimed to be acme's: not one of its branches
    assert "branch_filter" not in at.session_state and kpis(at)["Revenue"] == "200.00"
    at = filter_to(at, "acme", "MKE")
    assert kpis(at)["Revenue"] == "100.00"
    at.sidebar.selectbox(key="tenant").set_value("beta").run()  # the filter is acme's: not applied to beta
    assert kpis(at)["Revenue"] == BETA_REVENUE and "branch_filter" not in at.session_state


def test_locations_empty_state(tenants, monkeypatch):
    at = open_page(monkeypatch, "admin@acme.example", "locations")
    assert any("No branches yet" in i.value for i in at.info)


# ------------------------------------------------------------------ Data
@pytest.mark.parametrize("email", ["admin@acme.example", "manager@acme.example"])
def test_data_page_calendar_and_run_links(ga4, monkeypatch, email):
    at = open_page(monkeypatch, email, "data")
    assert at.title[0].value == "Data"
    days = at.dataframe[0].value.set_index("event_date")
    assert len(days) == 30
    assert days.loc[D1, "status"] == "complete"
    if email.startswith("admin"):
        assert days.loc[D1, "run"] == "http://dagster.test:3000/runs/run-acme-1"
    else:  # the Dagster UI has no sign-in and shows every tenant's runs: no links for non-admins
        assert "run" not in days.columns and "dagster.test" not in rendered(at)
    assert days.loc[D1, "bq_row_count"] == 5000 and days.loc[D1, "rows_written"] == "purchases: 1, sessions: 2"
    assert days.loc[D2, "status"] == "failed" and days.loc[D2, "message"] == "BigQuery said no"
    assert (days.drop([D1, D2])["status"] == "not loaded").all()
    shown = kpis(at)
    assert (shown["Complete"], shown["Failed"], shown["Not loaded"]) == ("1", "1", "28")
    # Calendar, days, and the last run per asset (the failures and master-data tables are empty here).
    assert {d.key for d in downloads(at)} == {"download-data_calendar", "download-data_availability",
                                              "download-data_last_runs"}
    last_runs = next(df.value for df in at.dataframe if "asset" in df.value.columns)
    assert list(last_runs["run_id"]) == ["run-acme-1"]
    assert "run-beta-1" not in rendered(at)


def test_data_page_empty_state(tenants, monkeypatch):
    at = open_page(monkeypatch, "rep@acme.example", "data")
    assert any("No day of these dates has been loaded yet" in i.value for i in at.info)
    assert (at.dataframe[0].value["status"] == "not loaded").all()
    assert "http://dagster.test:3000" not in rendered(at)  # a rep gets no link to the Dagster UI
    at = open_page(monkeypatch, "admin@acme.example", "data")
    assert "http://dagster.test:3000" in texts(at)


# ------------------------------------------------------------------ isolation and roles
def test_session_state_cannot_switch_a_page_to_another_tenant(ga4, monkeypatch):
    at = open_page(monkeypatch, "rep@acme.example", "search")
    at.session_state["tenant"] = "beta"
    at.run()
    assert not at.exception, at.exception
    assert at.session_state["tenant"] == "acme"
    assert BETA_TERM not in rendered(at)


@pytest.mark.parametrize("email", ["admin@acme.example", "manager@acme.example", "rep@acme.example"])
def test_every_page_for_each_role_with_edited_session_state(ga4, monkeypatch, email):
    """Each page renders for each role, and none shows beta's rows, even with the tenant,
    the branch filter and the picked task in session state pointing at beta's."""
    at = open_page(monkeypatch, email)
    # Tasks last: AppTest itself cannot send a picked task that is not among the widget's options.
    for page in sorted(PAGES, key=lambda p: p == "tasks"):
        at.session_state["tenant"] = "beta"
        at.session_state["branch_filter"] = {"tenant": "beta", "branch": BETA_BRANCH}
        at.session_state["task-pick"] = "cart:user:b1:D1"
        at.switch_page(f"views/{page}.py").run()
        assert not at.exception, (page, at.exception)
        assert at.title[0].value != "No access", page
        assert at.session_state["tenant"] == "acme"
        assert_no_beta(at)


def test_pages_by_role(tenants, monkeypatch):
    at = open_page(monkeypatch, "rep@acme.example")
    # The rep's navigation has the data pages and the work list, and no Settings.
    with pytest.raises(ValueError, match="Known pages") as refused:
        at.switch_page("views/settings.py")
    assert all(f"views/{p}.py" in str(refused.value) for p in PAGES)
    admin = open_page(monkeypatch, "admin@acme.example", "settings")
    assert admin.title[0].value == "Settings"


def test_no_membership_sees_no_access_on_every_page(ga4, monkeypatch):
    at = open_page(monkeypatch, "nobody@elsewhere.example")
    assert at.title[0].value == "No access"
    for page in (*PAGES, "settings"):
        at.switch_page(f"views/{page}.py").run()
        assert not at.exception, (page, at.exception)
        assert [t.value for t in at.title] == ["No access"], page
        assert not at.metric and not at.dataframe and not at.get("plotly_chart")
        assert "nobody@elsewhere.example" in texts(at)

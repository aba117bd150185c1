"""The dashboard's data pages (Overview, Cart abandonment, Search, Locations, Data) with
AppTest, against the real platform database: stored daily figures for two tenants inserted
under row-level security (as the pipeline writes them), every figure checked against what
the rows say by hand, the branch filter honoured, and tenant B's data never shown to a user
of tenant A. The Tasks page has its own file (test_streamlit_tasks.py)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from streamlit.testing.v1 import AppTest

from ga_intel_tests.helpers.pages import (
    APP,
    BETA_BRANCH,
    BETA_KPI,
    BETA_TERM,
    D1,
    D2,
    EMPTY,
    END,
    PAGES,
    START,
    assert_no_beta,
    downloads,
    figures,
    filter_to,
    insert,
    kpis,
    open_page,
    rendered,
    texts,
)

pytestmark = pytest.mark.usefixtures("fresh_cache")


# ------------------------------------------------------------------ Overview
@pytest.mark.parametrize("email", ["admin@acme.example", "rep@acme.example"])
def test_overview_kpis_by_hand(ga4, monkeypatch, email):
    at = open_page(monkeypatch, email)  # the default page
    assert at.title[0].value == "Overview"
    shown = {m.label: (m.value, m.delta) for m in at.metric}
    assert shown == {
        "Revenue": ("$200.00", "+100% vs previous"),
        "Net revenue": ("$200.00", "+100% vs previous"),
        "Transactions": ("3", "+200% vs previous"),
        "AOV": ("$66.67", "−33% vs previous"),
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
    assert kpis(at)["Revenue"] == "$100.00" and kpis(at)["Transactions"] == "2" and kpis(at)["Sessions"] == "1"
    assert any("Branch filter: **Milwaukee (MKE)**" in i.value for i in at.sidebar.info)
    assert "branch **MKE**" in texts(at)
    at.sidebar.button(key="clear-branch-filter").click().run()
    assert kpis(at)["Revenue"] == "$200.00"
    assert "branch_filter" not in at.session_state and not at.sidebar.info
    # A branch with no figures in the dates says so, and how to get out of it.
    at = filter_to(at, "acme", "IND")
    assert any("No figures for branch **IND**" in i.value and "Clear the branch filter" in i.value for i in at.info)


def test_overview_for_the_other_tenant_shows_only_its_data(ga4, monkeypatch):
    at = open_page(monkeypatch, "admin@beta.example")
    assert kpis(at)["Revenue"] == BETA_KPI
    assert {m.label: m.delta for m in at.metric}["Revenue"] in (None, "")  # nothing in beta's previous period


def test_cached_results_are_per_tenant(ga4, monkeypatch):
    """Same page, same dates, same SQL: switching tenant must not serve the other's cached rows."""
    at = open_page(monkeypatch, "multi@both.example")
    assert kpis(at)["Revenue"] == "$200.00"
    at.sidebar.selectbox(key="tenant").set_value("beta").run()
    assert kpis(at)["Revenue"] == BETA_KPI
    at.sidebar.selectbox(key="tenant").set_value("acme").run()
    assert kpis(at)["Revenue"] == "$200.00"
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
@pytest.mark.parametrize(
    "email, open_cart_tasks",
    [
        ("admin@acme.example", ["cart:user:u1:D1"]),
        ("manager@acme.example", ["cart:user:u1:D1"]),
        ("rep@acme.example", ["cart:user:u1:D1"]),
        ("rep2@acme.example", []),  # the MKE cart is recovered, not open
    ],
)
def test_cart_page(ga4, monkeypatch, email, open_cart_tasks):
    at = open_page(monkeypatch, email, "carts")
    assert at.title[0].value == "Cart abandonment"
    assert kpis(at) == {
        "Carts created": "3",
        "Carts abandoned": "2",
        "Abandonment rate": "66.7%",
        "Abandoned value": "$330.00",
        "Recovered after contact": "$0.00",
        "Recovered on its own": "$30.00",
    }
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
    assert kpis(at) == {
        "Carts created": "1",
        "Carts abandoned": "1",
        "Abandonment rate": "100.0%",
        "Abandoned value": "$80.00",
        "Recovered after contact": "$0.00",
        "Recovered on its own": "$30.00",
    }
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
    assert (table.loc["CHI", "revenue"], table.loc["CHI", "sessions"], table.loc["CHI", "conversion_rate"]) == (
        100.0,
        3,
        pytest.approx(1 / 3),
    )
    assert (table.loc["MKE", "transactions"], table.loc["MKE", "aov"], table.loc["MKE", "abandonment_rate"]) == (
        2,
        50.0,
        1.0,
    )
    assert table.loc["IND", "sessions"] == 0
    assert len(at.get("plotly_chart")) == 4 and len(downloads(at)) == 5
    assert_no_beta(at)


def test_picking_a_branch_filters_every_page(ga4, monkeypatch):
    at = open_page(monkeypatch, "admin@acme.example", "locations")
    at.selectbox(key="locations-pick").set_value("MKE").run()
    assert at.session_state["branch_filter"] == {"tenant": "acme", "branch": "MKE"}
    assert any("Milwaukee (MKE)" in i.value for i in at.sidebar.info)
    at.switch_page("views/overview.py").run()
    assert kpis(at)["Revenue"] == "$100.00"
    at.switch_page("views/carts.py").run()
    assert kpis(at)["Abandoned value"] == "$80.00"
    at.switch_page("views/search.py").run()
    assert list(at.dataframe[0].value["term"]) == ["hammer"]
    at.switch_page("views/locations.py").run()
    assert at.selectbox(key="locations-pick").value == "MKE"
    at.selectbox(key="locations-pick").set_value("").run()  # "All branches (no filter)"
    assert "branch_filter" not in at.session_state
    at.switch_page("views/overview.py").run()
    assert kpis(at)["Revenue"] == "$200.00"


def test_a_branch_filter_of_another_tenant_or_branch_is_dropped(ga4, monkeypatch):
    at = open_page(monkeypatch, "multi@both.example")
    at = filter_to(at, "beta", BETA_BRANCH)  # beta's branch, while looking at acme
    assert "branch_filter" not in at.session_state and kpis(at)["Revenue"] == "$200.00"
    at = filter_to(at, "acme", BETA_BRANCH)  # claimed to be acme's: not one of its branches
    assert "branch_filter" not in at.session_state and kpis(at)["Revenue"] == "$200.00"
    at = filter_to(at, "acme", "MKE")
    assert kpis(at)["Revenue"] == "$100.00"
    at.sidebar.selectbox(key="tenant").set_value("beta").run()  # the filter is acme's: not applied to beta
    assert kpis(at)["Revenue"] == BETA_KPI and "branch_filter" not in at.session_state


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
    assert {d.key for d in downloads(at)} == {
        "download-data_calendar",
        "download-data_availability",
        "download-data_last_runs",
    }
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


# ------------------------------------------------------------------ deep links
def test_an_email_link_opens_the_page_for_its_tenant_and_branch(ga4, monkeypatch):
    """`/overview?tenant=acme&branch=MKE` (what the email reports link to): the tenant
    and branch come from the query string, and the widgets win after that."""
    monkeypatch.setenv("GA_INTEL_DEV_USER", "multi@both.example")
    at = AppTest.from_file(APP, default_timeout=30)
    at.query_params["tenant"] = "acme"
    at.query_params["branch"] = "MKE"
    at.run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Overview"
    assert at.session_state["tenant"] == "acme" and kpis(at)["Revenue"] == "$100.00"  # MKE's
    assert any("Milwaukee (MKE)" in i.value for i in at.sidebar.info)
    # Cleared by the user: the link does not put it back, and the query string follows.
    at.sidebar.button(key="clear-branch-filter").click().run()
    assert kpis(at)["Revenue"] == "$200.00" and "branch" not in at.query_params
    at.sidebar.selectbox(key="tenant").set_value("beta").run()
    assert kpis(at)["Revenue"] == BETA_KPI and at.query_params["tenant"] == "beta"


def test_a_link_to_another_tenant_or_branch_is_ignored(ga4, monkeypatch):
    monkeypatch.setenv("GA_INTEL_DEV_USER", "admin@acme.example")
    at = AppTest.from_file(APP, default_timeout=30)
    at.query_params["tenant"] = "beta"
    at.query_params["branch"] = BETA_BRANCH
    at.run()
    assert not at.exception, at.exception
    assert at.session_state["tenant"] == "acme" and "branch_filter" not in at.session_state
    assert kpis(at)["Revenue"] == "$200.00" and at.query_params["tenant"] == "acme"
    assert_no_beta(at)


def test_a_branch_picked_on_a_page_goes_into_the_query_string(ga4, monkeypatch):
    at = filter_to(open_page(monkeypatch, "admin@acme.example", "carts"), "acme", "CHI")
    assert at.query_params["branch"] == "CHI"


# ------------------------------------------------------------------ numbers that fit
def test_kpis_are_compact_with_the_exact_value_in_the_tooltip_and_charts_show_gaps(tenants, monkeypatch):
    """Millions fit their tile ($2.90M, the exact value in the help); a day not loaded is a
    gap in the line, a provisional day is shaded; axes and headers are words."""
    gap = END - dt.timedelta(days=1)
    insert(
        "acme",
        "daily_metrics",
        [
            figures(END, revenue=2_898_765.43, transactions=12_345, sessions=2_193_760, converting_sessions=10),
            figures(END - dt.timedelta(days=2), revenue=1000, transactions=1, sessions=10, converting_sessions=1),
        ],
    )
    insert(
        "acme",
        "data_availability",
        [
            dict(
                event_date=END,
                source_table=f"events_{END:%Y%m%d}",
                status="provisional",
                rows_written="{}",
                run_id="r1",
            ),
            dict(
                event_date=END - dt.timedelta(days=2),
                source_table="events_x",
                status="complete",
                rows_written="{}",
                run_id="r2",
            ),
        ],
    )
    at = open_page(monkeypatch, "admin@acme.example")
    tiles = {m.label: m for m in at.metric}
    assert tiles["Revenue"].value == "$2.90M" and "Exact: $2,899,765.43" in tiles["Revenue"].help
    assert tiles["Transactions"].value == "12.3k" and "Exact: 12,346" in tiles["Transactions"].help
    assert tiles["Sessions"].value == "2.19M"
    assert all("…" not in m.value and len(m.value) <= 8 for m in at.metric)
    revenue = json.loads(at.get("plotly_chart")[0].proto.spec)
    [line] = revenue["data"]
    days = [d[:10] for d in line["x"]]
    assert days[0] == START.isoformat() and days[-1] == END.isoformat()  # the whole range
    assert line["y"][days.index(gap.isoformat())] is None and line["connectgaps"] is False
    assert revenue["layout"]["xaxis"]["title"]["text"] == "Day"
    assert revenue["layout"]["yaxis"]["title"]["text"] == "Revenue"
    [shade] = revenue["layout"]["shapes"]  # END is provisional
    assert shade["x0"][:10] == (END - dt.timedelta(days=1)).isoformat()
    assert any(a.get("text") == "provisional" for a in revenue["layout"]["annotations"])
    assert "event_date" not in json.dumps(revenue["data"][0].get("hovertemplate", ""))


def test_table_headers_are_words(ga4, monkeypatch):
    at = open_page(monkeypatch, "admin@acme.example", "search")
    config = at.dataframe[0].proto.columns  # column_config, as Streamlit sends it
    labels = [c.get("label") for name, c in json.loads(config).items() if name != "_index"]  # hide_index
    assert labels and [x for x in labels if not x or "_" in x] == [], json.loads(config)

"""GA4 parity (issue 13): each quirk of real exports, written as export-shaped rows, loaded
into the BigQuery emulator and run through the real pipeline with `ga-intel run`, with the
exact figures GA4's definitions give (docs/METRICS.md, "Reconciliation with GA4").

One export holds every scenario; each scenario's customers belong to a branch of their
own, so its figures are that branch's row of location_daily_metrics. Anonymous and
cookieless traffic lands in the 'unattributed' branch.
"""

from __future__ import annotations

import datetime as dt

import pytest

from ga_intel.insights import users
from ga_intel_tests.helpers.export import Export
from ga_intel_tests.helpers.scenario import ScenarioTenant, customer

D1, D2, D3 = dt.date(2024, 5, 6), dt.date(2024, 5, 7), dt.date(2024, 5, 8)


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute))


AVA = customer("1001", "RF", first="Ava")  # re-fired purchase; cart bought at once
BEN = customer("1002", "MN", first="Ben")  # a session across midnight
CY = customer("1003", "EN", first="Cy")  # engaged, new user
DEE = customer("1004", "EN", first="Dee")  # not engaged
EVE = customer("1005", "UP", first="Eve")  # items without a price
FINN = customer("1006", "DU", first="Finn")  # exact duplicate hits
GUS = customer("1007", "RE", first="Gus")  # refund, another currency
HAL = customer("1008", "SM", first="Hal")  # source / medium
IVY = customer("1009", "SE", first="Ivy")  # search term from the URL
CUSTOMERS = [AVA, BEN, CY, DEE, EVE, FINN, GUS, HAL, IVY]
BRANCHES = ["RF", "MN", "EN", "UP", "DU", "RE", "SM", "SE"]


def build_export() -> Export:
    export = Export()
    # RF: a cart bought four minutes after the add, in the same session; the confirmation
    # page re-fires T1 two days later; a genuinely new order T2 that day.
    v = export.visit(at(D1, 10), customer=AVA)
    v.page("/p/sku-1")
    v.add_to_cart([("SKU-1", 2, 150.0)])
    v.purchase("T1", [("SKU-1", 2, 150.0)], minutes=4)
    v = export.visit(at(D3, 10), customer=AVA)
    v.page("/checkout/complete")
    v.purchase("T1", [("SKU-1", 2, 150.0)])  # re-fire: never revenue again
    v.purchase("T2", [("SKU-9", 1, 120.0)], minutes=60)  # a new order
    # Cookieless pings (consent mode) with a purchase, and an event without a ga_session_id.
    c = export.cookieless(at(D1, 12))
    c.page("/")
    c.page("/p/sku-3")
    c.purchase("T5", [("SKU-3", 1, 50.0)])
    export.visit(at(D1, 12, 30), device="no-session-device", session_id=None).page("/")
    # MN: Ben's visit starts at 23:50, is engaged only after midnight; his second real
    # visit is the next morning. Two visits, three session rows in two daily tables.
    v = export.visit(at(D1, 23, 50), customer=BEN, engaged=False)
    v.page("/landing")
    v.page("/p/sku-4", minutes=5)
    v.engaged = True
    v.page("/p/sku-5", minutes=10)  # 00:05 on D2
    export.visit(at(D2, 10), customer=BEN).page("/")
    # EN: one engaged session with a single page (a new user), one not engaged with two.
    v = export.visit(at(D1, 9), customer=CY, session_number=1)
    v.first_visit()
    v.page("/")
    v = export.visit(at(D1, 9, 30), customer=DEE, engaged=False)
    v.page("/")
    v.page("/about")
    # UP: items without a price share the event's value; priced items take price × quantity.
    v = export.visit(at(D1, 15), customer=EVE)
    v.page("/")
    v.add_to_cart([("SKU-A", None, None), ("SKU-B", None, None), ("SKU-C", None, None)], value=300.0)
    v.add_to_cart([("SKU-D", 2, 50.0), ("SKU-E", None, None)], value=150.0, minutes=5)
    # DU: a page view and a purchase, each exported twice.
    v = export.visit(at(D1, 16), customer=FINN)
    v.page("/")
    export.duplicate_last(D1)
    v.purchase("T6", [("SKU-6", 1, 80.0)])
    export.duplicate_last(D1)
    # RE: an order in USD, one in EUR (GA4 converted it: 110 USD), and a refund the next day.
    v = export.visit(at(D1, 11), customer=GUS)
    v.purchase("T7", [("SKU-7", 1, 200.0)])
    v.purchase("T8", [("SKU-8", 1, 100.0)], currency="EUR", revenue_in_usd=110.0)
    export.visit(at(D2, 11), customer=GUS).refund("T7", 50.0)
    # SM: Hal first came from a paid click (first-touch traffic_source), today he comes back
    # directly; the next day from the newsletter.
    export.visit(at(D1, 8), customer=HAL, first_touch=("google", "cpc")).page("/")
    export.visit(at(D2, 8), customer=HAL, first_touch=("google", "cpc"), source=("newsletter", "email")).page("/")
    # SE: a search without a search_term parameter, its term only in the page URL.
    v = export.visit(at(D1, 14), customer=IVY)
    v.search(None, url="/search?q=ball+valve%2C+1in")
    v.search("pex crimp")
    # Data past every cart window: the last events of the range.
    export.visit(at(D3, 20), device="late-visitor").page("/")
    return export


@pytest.fixture(scope="module")
def shop(bigquery_emulator, tmp_path_factory, platform_db):
    """Two tenants over the same export: `fwd` runs D1..D3 in order, `rev` runs D3, D1, D2."""
    from ga_intel_tests.conftest import empty_platform

    empty_platform()
    tmp = tmp_path_factory.mktemp("parity")
    mp = pytest.MonkeyPatch()
    mp.setenv("DAGSTER_HOME", str(tmp_path_factory.mktemp("dagster-home")))
    export = build_export()
    fwd = ScenarioTenant(
        "fwd", export, bigquery_emulator, tmp, branches=BRANCHES, customers=CUSTOMERS, dataset="parity"
    )
    fwd.load(export, tmp)
    rev = ScenarioTenant(
        "rev", export, bigquery_emulator, tmp, branches=BRANCHES, customers=CUSTOMERS, dataset="parity"
    )
    fwd.run(D1, D3)
    for day in (D3, D1, D2):
        rev.run(day)
    yield {"fwd": fwd, "rev": rev, "export": export}
    mp.undo()


def test_a_refired_transaction_counts_once_on_its_first_day(shop):
    t = shop["fwd"]
    assert (float(t.metrics(D1, "RF")["revenue"]), t.metrics(D1, "RF")["transactions"]) == (300.0, 1)
    # D3 re-fired T1 and placed T2: only T2 is revenue.
    d3 = t.metrics(D3, "RF")
    assert (float(d3["revenue"]), d3["transactions"], d3["purchasers"]) == (120.0, 1, 1)
    purchases = [k for k, task in t.tasks().items() if task["account_key"] == "user:1001" and k.startswith("purchase:")]
    assert sorted(purchases) == ["purchase:T1", "purchase:T2"]
    assert t.tasks()["purchase:T1"]["created_date"] == D1


def test_a_cart_bought_minutes_after_the_add_is_never_a_task(shop):
    for t in (shop["fwd"], shop["rev"]):
        assert not [k for k in t.tasks() if k.startswith("cart:user:1001")]
        assert t.metrics(D1, "RF")["carts_abandoned"] == 0 and t.metrics(D1, "RF")["carts_created"] == 1


def test_cookieless_events_are_not_sessions_but_their_purchases_count(shop):
    m = shop["fwd"].metrics(D1, "unattributed")
    # 3 cookieless pings and one event without a ga_session_id; no session among them.
    assert m["cookieless_events"] == 4
    assert (float(m["revenue"]), m["transactions"], m["purchasers"]) == (50.0, 1, 1)
    assert m["sessions"] == 0
    tenant = shop["fwd"].metrics(D1)
    assert tenant["cookieless_events"] == 4


def test_a_session_across_midnight_is_one_session_on_its_start_day(shop):
    t = shop["fwd"]
    d1, d2 = t.metrics(D1, "MN"), t.metrics(D2, "MN")
    # Engaged only after midnight: still one engaged session, on D1, with its three pages.
    assert (d1["sessions"], d1["engaged_sessions"], d1["single_page_sessions"]) == (1, 1, 0)
    assert d2["sessions"] == 1  # the next morning's visit; the part after midnight is not a session
    assert (d1["active_users"], d2["active_users"]) == (1, 1)
    # Two real visits in the window: not a repeat visitor (threshold 3), no task.
    assert d2["repeat_visitors"] == 0
    assert not [k for k in t.tasks() if k.startswith("repeat:user:1002")]
    [page] = t.rows(
        "SELECT * FROM tenant_data.bounced_pages_daily WHERE event_date = :d AND landing_page LIKE '%/landing'", d=D1
    )
    assert (page["sessions"], page["single_page_sessions"]) == (1, 0)


def test_a_range_counts_each_user_once(shop):
    t = shop["fwd"]
    sketches = [
        r["users_sketch"]
        for r in t.rows(
            "SELECT users_sketch FROM tenant_data.location_daily_metrics WHERE branch_code = 'MN' "
            "AND event_date BETWEEN :a AND :b",
            a=D1,
            b=D2,
        )
    ]
    assert len(sketches) == 2 and users.distinct_users(sketches) == 1  # Ben, active on both days
    tenant = [
        r["users_sketch"]
        for r in t.rows(
            "SELECT users_sketch FROM tenant_data.daily_metrics WHERE event_date BETWEEN :a AND :b", a=D1, b=D3
        )
    ]
    daily = [
        r["active_users"]
        for r in t.rows(
            "SELECT active_users FROM tenant_data.daily_metrics WHERE event_date BETWEEN :a AND :b", a=D1, b=D3
        )
    ]
    distinct_devices = t.rows("SELECT count(DISTINCT user_pseudo_id) AS n FROM tenant_data.sessions")[0]["n"]
    assert users.distinct_users(tenant) == distinct_devices < sum(daily)


def test_engaged_and_not_engaged_sessions(shop):
    m = shop["fwd"].metrics(D1, "EN")
    assert (m["sessions"], m["engaged_sessions"], m["bounced_sessions"], m["single_page_sessions"]) == (2, 1, 1, 1)
    assert (m["engagement_rate"], m["bounce_rate"]) == (0.5, 0.5)
    assert (m["active_users"], m["new_users"]) == (2, 1)  # Cy's first visit


def test_items_without_a_price_share_the_event_value(shop):
    t = shop["fwd"]
    items = {
        r["item_id"]: float(r["value"])
        for r in t.rows("SELECT item_id, value FROM tenant_data.cart_adds WHERE customer_id = '1005'")
    }
    assert items == {"SKU-A": 100.0, "SKU-B": 100.0, "SKU-C": 100.0, "SKU-D": 100.0, "SKU-E": 50.0}
    task = t.tasks()[f"cart:user:1005:{D1}"]
    assert (float(task["value"]), task["priority"]) == (450.0, 2)


def test_exact_duplicate_hits_are_dropped(shop):
    t = shop["fwd"]
    m = t.metrics(D1, "DU")
    assert (m["sessions"], m["single_page_sessions"], float(m["revenue"]), m["transactions"]) == (1, 1, 80.0, 1)
    [day] = t.rows("SELECT quality FROM tenant_data.data_availability WHERE event_date = :d", d=D1)
    assert day["quality"]["duplicate_events"] == 2


def test_refunds_and_currencies(shop):
    t = shop["fwd"]
    d1, d2 = t.metrics(D1, "RE"), t.metrics(D2, "RE")
    # USD reporting: the EUR order counts at GA4's USD conversion, never as 100 "dollars".
    assert (float(d1["revenue"]), float(d1["refunds"]), float(d1["net_revenue"])) == (310.0, 0.0, 310.0)
    assert (float(d2["revenue"]), float(d2["refunds"]), float(d2["net_revenue"])) == (0.0, 50.0, -50.0)


def test_session_source_is_never_the_first_touch(shop):
    t = shop["fwd"]
    rows = {
        r["event_date"]: (r["source"], r["medium"])
        for r in t.rows("SELECT event_date, source, medium FROM tenant_data.sessions WHERE customer_id = '1008'")
    }
    assert rows == {D1: (None, None), D2: ("newsletter", "email")}  # None reads as (direct) / (none)


def test_search_terms_from_the_page_url(shop):
    t = shop["fwd"]
    rows = {
        r["search_term"]: r["term_source"]
        for r in t.rows("SELECT search_term, term_source FROM tenant_data.searches WHERE customer_id = '1009'")
    }
    assert rows == {"ball valve, 1in": "url", "pex crimp": "param"}


def test_every_figure_reconciles_and_checks_pass(shop):
    for t in (shop["fwd"], shop["rev"]):
        for day in (D1, D2, D3):
            tenant = t.metrics(day)
            branches = t.rows("SELECT * FROM tenant_data.location_daily_metrics WHERE event_date = :d", d=day)
            for column in ("revenue", "refunds", "sessions", "engaged_sessions", "cookieless_events", "transactions"):
                assert sum(float(b[column]) for b in branches) == pytest.approx(float(tenant[column])), column


def test_days_run_in_any_order_give_the_same_figures_and_tasks(shop):
    fwd, rev = shop["fwd"].snapshot(), shop["rev"].snapshot()
    for table in fwd:
        only_fwd = sorted(set(fwd[table]) - set(rev[table]))
        only_rev = sorted(set(rev[table]) - set(fwd[table]))
        assert not only_fwd and not only_rev, f"{table}:\n in order: {only_fwd}\n out of order: {only_rev}"


# ------------------------------------------------------------------ the real GA4 sample
SAMPLE = __import__("pathlib").Path(__file__).resolve().parents[2] / "shared" / "ga4-sample"
SAMPLE_WEEK = [dt.date(2020, 12, 17) + dt.timedelta(days=n) for n in range(7)]

# GA4's definitions, written straight against the export tables in the emulator: a session
# is (user_pseudo_id, stream_id, ga_session_id), counted once over the range; engaged when
# any of its events has session_engaged = '1'; users are distinct pseudo ids.
EXPORT_SQL = """
WITH e AS (
  SELECT user_pseudo_id, stream_id,
         (SELECT p.value.int_value FROM UNNEST(event_params) AS p WHERE p.key = 'ga_session_id') AS sid,
         (SELECT COALESCE(p.value.string_value, CAST(p.value.int_value AS STRING))
          FROM UNNEST(event_params) AS p WHERE p.key = 'session_engaged') AS engaged
  FROM `{dataset}.events_*` WHERE _TABLE_SUFFIX BETWEEN @first AND @last
),
s AS (
  SELECT user_pseudo_id,
         MAX(IF(engaged = '1', 1, 0)) OVER (PARTITION BY user_pseudo_id, stream_id, sid) AS engaged,
         ROW_NUMBER() OVER (PARTITION BY user_pseudo_id, stream_id, sid) AS nth_in_session,
         ROW_NUMBER() OVER (PARTITION BY user_pseudo_id) AS nth_of_user
  FROM e WHERE user_pseudo_id IS NOT NULL AND sid IS NOT NULL
),
-- window sums picked off one row: the emulator cannot aggregate scalar-subquery columns
totals AS (
  SELECT SUM(IF(nth_in_session = 1, 1, 0)) OVER () AS sessions,
         SUM(IF(nth_in_session = 1 AND engaged = 1, 1, 0)) OVER () AS engaged_sessions,
         SUM(IF(nth_of_user = 1, 1, 0)) OVER () AS users,
         ROW_NUMBER() OVER () AS n
  FROM s
)
SELECT sessions, engaged_sessions, users FROM totals WHERE n = 1
"""


def test_the_real_sample_reconciles_with_sql_over_the_export(
    bigquery_emulator, tmp_path_factory, platform_db, monkeypatch
):
    """A week of Google's real export sample through `ga-intel run`, against the same
    figures computed by SQL straight from the export (docs/METRICS.md, "The real sample")."""
    from google.cloud import bigquery

    from ga_intel.ga4 import load
    from ga_intel_tests.conftest import empty_platform

    empty_platform()
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path_factory.mktemp("dagster-home")))
    tenant = ScenarioTenant(
        "sample",
        Export(),
        bigquery_emulator,
        tmp_path_factory.mktemp("sample"),
        branches=["B1"],
        customers=[customer("1", "B1")],
        dataset="sample_week",
    )
    tenant.client.create_dataset(f"test-project.{tenant.dataset}", exists_ok=True)
    for day in SAMPLE_WEEK:
        load.load_day(
            tenant.client, f"test-project.{tenant.dataset}", f"{day:%Y%m%d}", SAMPLE / f"events_{day:%Y%m%d}.ndjson"
        )
    tenant.run(SAMPLE_WEEK[0], SAMPLE_WEEK[-1])

    job = tenant.client.query(
        EXPORT_SQL.format(dataset=f"test-project.{tenant.dataset}"),
        job_config=bigquery.QueryJobConfig(
            query_parameters=[
                bigquery.ScalarQueryParameter("first", "STRING", f"{SAMPLE_WEEK[0]:%Y%m%d}"),
                bigquery.ScalarQueryParameter("last", "STRING", f"{SAMPLE_WEEK[-1]:%Y%m%d}"),
            ]
        ),
    )
    export = dict(next(iter(job.result())))
    days = tenant.rows("SELECT * FROM tenant_data.daily_metrics ORDER BY event_date")
    ours = {
        "sessions": sum(d["sessions"] for d in days),
        "engaged_sessions": sum(d["engaged_sessions"] for d in days),
        "users": users.distinct_users(d["users_sketch"] for d in days),
    }
    print(f"\nreal sample {SAMPLE_WEEK[0]}..{SAMPLE_WEEK[-1]}: pipeline {ours}, SQL over the export {export}")
    assert len(days) == 7 and export["sessions"] > 0
    assert ours == export

"""Metrics and tasks: planted scenarios, exact tasks and figures, through `materialize`
of the real asset against PostgreSQL.

GA4 rows are planted straight into the ingested tables (the ingestion itself is tested in
test_ga4_ingest.py against the BigQuery emulator), so each case states exactly what
happened and when."""

from __future__ import annotations

import datetime as dt

import dagster as dg
import pytest

from ga_intel.db import tenant_scope
from ga_intel.insights import tasks as task_rules
from ga_intel.insights.assets import insights_day
from ga_intel.orchestration.resources import build_resources
from ga_intel.tenancy import store, tenant_file
from ga_intel_tests.conftest import drop_folder, tenant_data
from ga_intel_tests.helpers.shop import D1, Shop


@pytest.fixture
def shop(db, secret_key):
    return Shop("shop")


def test_purchase_followup_for_known_customers_and_companies_only(shop):
    shop.purchase(D1, 9, 120.0, "T1", customer="u1", duplicate_events=2)
    shop.purchase(D1, 10, 80.0, "T2", company="C2")  # a known company without a known user
    shop.purchase(D1, 11, 50.0, "T3")  # anonymous: no task
    shop.run(D1)
    tasks = shop.tasks()
    assert set(tasks) == {"purchase:T1", "purchase:T2"}
    assert tasks["purchase:T1"]["account_key"] == "user:u1" and tasks["purchase:T1"]["branch_code"] == "CHI"
    assert tasks["purchase:T1"]["assigned_rep_email"] == "kara@shop.example"
    assert tasks["purchase:T2"]["account_key"] == "company:C2" and tasks["purchase:T2"]["assigned_rep_email"] is None
    assert "Ava Chen" in tasks["purchase:T1"]["title"] and float(tasks["purchase:T1"]["value"]) == 120.0


def test_two_orders_without_an_id_at_the_same_moment_make_one_follow_up(shop):
    """Id-less purchases are keyed by account and timestamp: two of them by one account in
    the same microsecond (two buyers of a company, a replayed export) share that key, and
    the day's tasks must still be written (one follow-up), not fail the upsert."""
    shop.purchase(D1, 9, 120.0, None, company="C2", id_status="null")
    shop.purchase(D1, 9, 80.0, None, company="C2", id_status="null")
    assert shop.run(D1).success
    [task] = [t for t in shop.tasks().values() if t["task_type"] == "purchase_followup"]
    assert task["account_key"] == "company:C2" and float(task["value"]) == 120.0


def test_metrics_tenant_and_branches_reconcile(shop):
    shop.purchase(D1, 9, 120.0, "T1", customer="u1")
    shop.purchase(D1, 10, 80.0, "T2", customer="u2")
    shop.purchase(D1, 11, 50.0, "T3")  # anonymous -> 'unattributed'
    shop.session(D1, 12, device="anon-bounce", pages=1)
    shop.search(D1, 13, "ball valve", customer="u1", clicked=True)
    shop.search(D1, 14, "taco 007e", customer="u3")  # no click
    result = shop.run(D1)
    m = shop.metrics(D1)
    assert (float(m["revenue"]), m["transactions"], m["purchasers"]) == (250.0, 3, 3)
    assert float(m["aov"]) == pytest.approx(83.33)
    assert m["sessions"] == 6 and m["converting_sessions"] == 3
    assert m["session_conversion_rate"] == pytest.approx(0.5)
    assert (m["searches"], m["no_click_searches"], m["no_click_rate"]) == (2, 1, 0.5)
    # Planted sessions are all engaged: GA4's bounce (not engaged) is 0; one has a single page.
    assert (m["single_page_sessions"], m["bounced_sessions"], m["bounce_rate"]) == (1, 0, 0.0)
    assert (m["engaged_sessions"], m["engagement_rate"]) == (6, 1.0)
    assert float(shop.metrics(D1, "CHI")["revenue"]) == 120.0
    assert float(shop.metrics(D1, "MKE")["revenue"]) == 80.0
    assert float(shop.metrics(D1, "unattributed")["revenue"]) == 50.0
    assert all(c.passed for c in result.get_asset_check_evaluations())


def test_cart_abandoned_past_the_window_becomes_a_task(shop):
    shop.cart(D1, 9, 300.0, customer="u1")
    shop.session(D1 + dt.timedelta(days=1), 10, device="later")  # data runs past the 24 h window
    shop.run(D1)
    [task] = [t for t in shop.tasks().values() if t["task_type"] == "cart_recovery"]
    assert task["task_key"] == "cart:user:u1:2024-03-04" and float(task["value"]) == 300.0
    assert task["context"]["items"][0]["item_name"] == "Ball Valve"
    m = shop.metrics(D1)
    assert (m["carts_created"], m["carts_abandoned"], m["abandonment_rate"]) == (1, 1, 1.0)


def test_cart_window_not_over_yet_waits(shop):
    shop.cart(D1, 20, 300.0, customer="u1")  # the newest data is this very session
    shop.run(D1)
    assert not shop.tasks()


@pytest.mark.parametrize("order", [("d1", "d2"), ("d2", "d1")])
def test_cart_bought_within_the_window_never_becomes_a_task(shop, order):
    d2 = D1 + dt.timedelta(days=1)
    shop.cart(D1, 20, 300.0, customer="u1")
    shop.purchase(d2, 10, 300.0, "T9", customer="u1")  # 14 h later: inside 24 h
    shop.session(d2 + dt.timedelta(days=1), 9, device="later")
    for which in order:
        shop.run(D1 if which == "d1" else d2)
    assert [k for k in shop.tasks() if k.startswith("cart:")] == []
    assert shop.metrics(D1)["carts_abandoned"] == 0


@pytest.mark.parametrize("order", [("d1", "d3"), ("d3", "d1")])
def test_cart_recovered_the_next_day_whatever_runs_last(shop, order):
    d3 = D1 + dt.timedelta(days=1)  # the next day
    shop.cart(D1, 9, 300.0, customer="u1")
    shop.purchase(d3, 10, 280.0, "T9", customer="u1")  # 25 h later: just after the 24 h window
    for which in order:
        shop.run(D1 if which == "d1" else d3)
    shop.session(d3 + dt.timedelta(days=1), 9, device="later")  # data past the window
    shop.run(D1)
    task = shop.tasks()["cart:user:u1:2024-03-04"]
    assert task["status"] == "recovered" and float(task["recovered_revenue"]) == 280.0
    assert task["recovered_on"] == d3
    shop.run(d3)  # recovered revenue is credited on the day of the recovering purchase
    assert float(shop.metrics(d3)["recovered_revenue"]) == 280.0


def test_cart_cooldown_and_changed_thresholds(db, secret_key):
    strict = Shop("strict", cart_abandonment_hours=2, cart_cooldown_days=3)
    for offset in (0, 1, 4):
        day = D1 + dt.timedelta(days=offset)
        strict.cart(day, 9, 100.0, customer="u2")
    strict.session(D1 + dt.timedelta(days=5), 9, device="later")
    for offset in (0, 1, 4):
        strict.run(D1 + dt.timedelta(days=offset))
    keys = sorted(k for k in strict.tasks() if k.startswith("cart:"))
    # Day 1 is inside the 3-day cooldown of day 0; day 4 is not.
    assert keys == ["cart:user:u2:2024-03-04", "cart:user:u2:2024-03-08"]


def test_search_followup_lists_unhelpful_terms(shop):
    shop.search(D1, 9, "taco 007e", customer="u1", no_results=True)
    shop.search(D1, 10, "press fitting", customer="u1")  # no cart, no purchase
    shop.search(D1, 11, "ball valve", customer="u1", clicked=True)  # led to a cart: not listed
    shop.search(D1, 12, "anon term")  # anonymous: nothing
    shop.run(D1)
    [task] = [t for t in shop.tasks().values() if t["task_type"] == "search_followup"]
    assert sorted(task["context"]["terms"]) == ["press fitting", "taco 007e"]
    assert task["context"]["no_result_terms"] == ["taco 007e"]


def test_repeat_visitor_threshold_and_one_open_task(shop):
    for i in range(3):
        shop.session(D1 + dt.timedelta(days=i), 9, customer="u3")  # 3 sessions in 3 days
    for i in range(2):
        shop.session(D1 + dt.timedelta(days=i), 9, customer="u2")  # 2: below the threshold
    d3 = D1 + dt.timedelta(days=2)
    shop.run(d3)
    assert [k for k in shop.tasks() if k.startswith("repeat:")] == ["repeat:user:u3:2024-03-06"]
    shop.session(d3 + dt.timedelta(days=1), 9, customer="u3")
    shop.run(d3 + dt.timedelta(days=1))  # still open: no second task
    assert [k for k in shop.tasks() if k.startswith("repeat:")] == ["repeat:user:u3:2024-03-06"]


def test_rerun_keeps_statuses_people_set(shop):
    shop.purchase(D1, 9, 120.0, "T1", customer="u1")
    shop.search(D1, 9, "taco", customer="u2", no_results=True)
    shop.run(D1)
    with tenant_scope("shop") as c:
        task_rules.set_status(c, "shop", "purchase:T1", "done", by="kara@shop.example", note="called")
        task_rules.set_status(c, "shop", "search:user:u2:2024-03-04", "in_progress", by="kara@shop.example")
    before = shop.tasks()
    shop.run(D1)
    shop.run(D1)
    after = shop.tasks()
    assert set(after) == set(before)
    assert after["purchase:T1"]["status"] == "done" and after["purchase:T1"]["note"] == "called"
    assert after["search:user:u2:2024-03-04"]["status"] == "in_progress"


def test_open_tasks_expire_at_their_horizon(db, secret_key):
    quick = Shop("quick", purchase_followup_horizon_days=2)
    quick.purchase(D1, 9, 10.0, "T1", customer="u1")
    quick.run(D1)  # the next morning: open
    assert quick.tasks()["purchase:T1"]["status"] == "open"
    quick.run(D1, as_of=D1 + dt.timedelta(days=2))  # the horizon's last day: still open
    assert quick.tasks()["purchase:T1"]["status"] == "open"
    later = D1 + dt.timedelta(days=3)
    quick.session(later, 9, device="x")
    quick.run(later)  # any later run expires it
    assert quick.tasks()["purchase:T1"]["status"] == "expired"


def test_two_tenants_with_the_same_user_ids_do_not_mix(db, secret_key):
    a, b = Shop("tenant-a"), Shop("tenant-b")
    a.purchase(D1, 9, 100.0, "T1", customer="u1")
    b.purchase(D1, 9, 999.0, "T1", customer="u1")
    a.run(D1)
    b.run(D1)
    assert float(a.tasks()["purchase:T1"]["value"]) == 100.0
    assert float(b.tasks()["purchase:T1"]["value"]) == 999.0
    assert float(a.metrics(D1)["revenue"]) == 100.0


def test_customer_without_a_branch_lands_in_unattributed(shop):
    shop.purchase(D1, 9, 70.0, "T5", customer="stranger")  # not in master data
    shop.run(D1)
    assert "purchase:T5" not in shop.tasks()
    assert float(shop.metrics(D1, "unattributed")["revenue"]) == 70.0


def test_synthetic_day_end_to_end_through_ingestion(db, secret_key, bigquery_emulator, tmp_path):
    """The generator's day (with duplicated purchases) through the emulator, GA4 ingestion,
    demo master data and insights: one task per known de-duplicated purchase, none for
    anonymous ones, figures that reconcile."""
    import json

    from ga_intel.connectors.bigquery import client as bq_client
    from ga_intel.demo import generator
    from ga_intel.demo.master_data import write_files
    from ga_intel.ga4 import load
    from ga_intel.ga4.assets import ga4_day
    from ga_intel.masterdata.assets import master_data

    day = dt.date(2024, 3, 4)
    write_files(drop_folder("e2e"))
    data = tenant_data(
        "e2e", bigquery={"project_id": "test-project", "dataset_id": "e2e", "api_endpoint": bigquery_emulator.endpoint}
    )
    config = tenant_file.validate(data, "test")
    store.add(config)
    ga4_dir = tmp_path / "ga4"
    generator.write_days(ga4_dir, day, 1, 1500, progress=None)
    load.load_folder(bq_client(config.bigquery), "test-project.e2e", ga4_dir, progress=lambda m: None)
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("tenant", ["e2e"])
        resources = build_resources()
        assert dg.materialize([master_data], instance=instance, resources=resources, partition_key="e2e").success
        key = dg.MultiPartitionKey({"tenant": "e2e", "date": day.isoformat()})
        result = dg.materialize([ga4_day, insights_day], instance=instance, resources=resources, partition_key=key)
        assert result.success and all(
            c.passed for c in result.get_asset_check_evaluations() if c.check_name != "customers_have_a_rep"
        )
    raw = [json.loads(line) for line in (ga4_dir / "events_20240304.ndjson").read_text().splitlines()]
    known_txns = {
        e["ecommerce"]["transaction_id"]
        for e in raw
        if e["event_name"] == "purchase"
        and e["user_id"]
        and e["ecommerce"]["transaction_id"] not in (None, "(not set)")
    }
    raw_known_purchases = [e for e in raw if e["event_name"] == "purchase" and e["user_id"]]
    assert len(raw_known_purchases) > len(known_txns)  # the generator duplicated some
    tasks = Shop.tasks(type("S", (), {"t": "e2e"})())
    purchase_keys = {k for k in tasks if k.startswith("purchase:") and ":user:" not in k}
    assert purchase_keys == {f"purchase:{t}" for t in known_txns}
    assert all(t["account_key"].startswith(("user:", "company:")) for t in tasks.values())


def test_rollups_follow_a_rerun_of_the_day(shop):
    """Migration 0008's roll-ups (search terms per week / month / quarter, cart items and
    task groups) equal their recomputation from the daily rows after each run of the
    asset, including a re-run with a changed day (a search and a cart added)."""
    import pandas as pd
    import sqlalchemy as sa

    from ga_intel_tests.helpers.rollups import FROM_SCRATCH, SEARCH_COUNTS, same_frames

    counts = SEARCH_COUNTS
    periods = {
        "w": "event_date - (extract(isodow FROM event_date)::int - 1)",
        "m": "date_trunc('month', event_date::timestamp)::date",
        "q": "date_trunc('quarter', event_date::timestamp)::date",
    }
    search_from_daily = " UNION ALL ".join(
        f"SELECT '{grain}' AS grain, {period} AS period, search_term, "
        + ", ".join(f"sum({c})::int AS {c}" for c in counts)
        + ", count(*)::int AS days FROM tenant_data.search_terms_daily GROUP BY 2, 3"
        for grain, period in periods.items()
    )

    def frame(sql: str) -> pd.DataFrame:
        with tenant_scope("shop") as conn:
            result = conn.execute(sa.text(sql))
            return pd.DataFrame(result.fetchall(), columns=list(result.keys()))

    def check() -> None:
        want = frame(search_from_daily)
        same_frames(
            frame(f"SELECT {', '.join(want.columns)} FROM tenant_data.search_terms_rollup"),
            want,
            ["grain", "period", "search_term"],
        )
        for table, sql in FROM_SCRATCH.items():
            want = frame(sql)
            keys = [
                c
                for c in want.columns
                if c not in {"tasks", "carts", "quantity", "value", "recovered_revenue", "recovered_carts"}
            ]
            same_frames(frame(f"SELECT {', '.join(want.columns)} FROM tenant_data.{table}"), want, keys)

    shop.search(D1, 9, "ball valve", customer="u1", clicked=True)
    shop.search(D1, 10, "taco", customer="u2", no_results=True)
    shop.cart(D1, 9, 300.0, customer="u1")
    shop.session(D1 + dt.timedelta(days=2), 9, device="later")
    shop.run(D1)
    assert len(frame("SELECT * FROM tenant_data.search_terms_rollup")) == 6  # 2 terms x 3 grains
    check()
    shop.search(D1, 11, "ball valve", customer="u3")
    shop.cart(D1, 11, 40.0, customer="u2")
    shop.run(D1)
    shop.run(D1)
    check()
    [searches] = frame(
        "SELECT searches FROM tenant_data.search_terms_rollup WHERE grain = 'q' AND search_term = 'ball valve'"
    )["searches"]
    assert searches == 2


def _horizon_scenario(shop: Shop, task_type: str) -> str:
    """Plant what makes one task of `task_type` on D1; returns its key."""
    d2 = D1 + dt.timedelta(days=1)
    if task_type == "purchase_followup":
        shop.purchase(D1, 9, 120.0, "T1", customer="u1")
        return "purchase:T1"
    if task_type == "cart_recovery":
        shop.cart(D1, 9, 300.0, customer="u1")
        shop.session(d2, 12, device="later")  # the window (until D2 09:06) is covered
        return "cart:user:u1:2024-03-04"
    if task_type == "search_followup":
        shop.search(D1, 9, "pvc elbow", customer="u3", no_results=True)
        return "search:user:u3:2024-03-04"
    for hour in (9, 12, 15):
        shop.session(D1, hour, customer="u2")
    return "repeat:user:u2:2024-03-04"


@pytest.mark.parametrize(
    "task_type, horizon",
    [
        ("purchase_followup", D1 + dt.timedelta(days=7)),
        ("cart_recovery", D1 + dt.timedelta(days=1 + 3)),  # 3 days after the window's end (D2)
        ("search_followup", D1 + dt.timedelta(days=7)),
        ("repeat_visitor", D1 + dt.timedelta(days=7)),
    ],
)
def test_a_task_computed_on_its_horizon_is_open_and_one_day_later_stale(db, secret_key, task_type, horizon):
    on_time, late = Shop("on-time"), Shop("late")
    key = _horizon_scenario(on_time, task_type)
    assert _horizon_scenario(late, task_type) == key
    on_time.run(D1, as_of=horizon)
    late.run(D1, as_of=horizon + dt.timedelta(days=1))
    assert on_time.tasks()[key]["horizon_date"] == horizon
    assert on_time.tasks()[key]["status"] == "open"
    assert late.tasks()[key]["status"] == "stale"
    # the same task otherwise: stale is about when it was computed, not what it says
    same = ("title", "value", "priority", "due_date", "horizon_date", "assigned_rep_email", "context")
    assert {f: on_time.tasks()[key][f] for f in same} == {f: late.tasks()[key][f] for f in same}

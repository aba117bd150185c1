"""Review of issues 13 and 14: inputs that broke the figures or the tasks, through
`ga-intel run` over export-shaped rows in the BigQuery emulator.

- A receipt page reopened days later re-fires `purchase`. While the order's own day is
  not loaded yet, that copy counts, and it recovers a cart. Once the late day comes in,
  the copy stops counting: the recovery it made must go too, and the day that showed it
  must be recomputed. Two tenants read the same export; `late` loads the order's day
  last, `inorder` loads the days in order; every figure and task must agree.
- A visitor's price and quantity can each be in range while their product overflows the
  item value column: the day must still load.
- The export columns GA4 added since 2023 (is_active_user, session_traffic_source_last_click)
  had no scenario through the emulator.
"""

from __future__ import annotations

import datetime as dt

import pytest

from ga_intel_tests.helpers.export import Export
from ga_intel_tests.helpers.scenario import ScenarioTenant, customer

D0, D1, D2, D3 = (dt.date(2024, 7, 1) + dt.timedelta(days=n) for n in range(4))
AS_OF = D3 + dt.timedelta(days=1)
ANA = customer("4001", "RX", first="Ana")


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute))


def build_export() -> Export:
    export = Export()
    export.visit(at(D0, 10), customer=ANA).purchase("T-A", [("SKU-A", 1, 100.0)])  # the order
    export.visit(at(D1, 10), customer=ANA).add_to_cart([("SKU-A", 1, 100.0)])  # a cart, never bought
    export.visit(at(D2, 20), device="d2-visitor").page("/")  # D2 covers the window
    v = export.visit(at(D3, 10), customer=ANA)
    v.page("/checkout/complete")
    v.purchase("T-A", [("SKU-A", 1, 100.0)])  # the receipt reopened
    return export


@pytest.fixture(scope="module")
def refire(bigquery_emulator, tmp_path_factory, platform_db):
    from ga_intel_tests.conftest import empty_platform

    empty_platform()
    tmp = tmp_path_factory.mktemp("refire")
    mp = pytest.MonkeyPatch()
    mp.setenv("DAGSTER_HOME", str(tmp_path_factory.mktemp("dagster-home")))
    export = build_export()
    late = ScenarioTenant("late", export, bigquery_emulator, tmp, branches=["RX"], customers=[ANA], dataset="refire")
    late.load(export, tmp)
    inorder = ScenarioTenant(
        "inorder", export, bigquery_emulator, tmp, branches=["RX"], customers=[ANA], dataset="refire"
    )
    late.run(D1, D3, as_of=AS_OF)
    before = late.tasks()[f"cart:user:4001:{D1}"]
    late.run(D0, as_of=AS_OF)  # the order's own day comes in last
    inorder.run(D0, D3, as_of=AS_OF)
    yield {"late": late, "inorder": inorder, "before": before}
    mp.undo()


def test_a_refire_that_stops_counting_takes_its_cart_recovery_with_it(refire):
    # While D0 was missing, the re-fire on D3 was the order's first copy and recovered the cart.
    assert (refire["before"]["status"], refire["before"]["recovered_on"]) == ("recovered", D3)
    for tenant in (refire["late"], refire["inorder"]):
        task = tenant.tasks()[f"cart:user:4001:{D1}"]
        assert (task["status"], task["recovered_on"], task["recovered_revenue"]) == ("open", None, None), tenant.id
        assert float(tenant.metrics(D3)["recovered_revenue"]) == 0.0, tenant.id
        assert float(tenant.metrics(D0)["revenue"]) == 100.0 and float(tenant.metrics(D3)["revenue"]) == 0.0


def test_the_order_of_loading_does_not_change_figures_or_tasks(refire):
    late, inorder = refire["late"].snapshot(), refire["inorder"].snapshot()
    for table in late:
        only_late = sorted(set(late[table]) - set(inorder[table]))
        only_inorder = sorted(set(inorder[table]) - set(late[table]))
        assert not only_late and not only_inorder, f"{table}:\n late: {only_late}\n in order: {only_inorder}"


def test_an_item_value_that_overflows_is_nulled_and_the_day_loads(bigquery_emulator, tmp_path, db, monkeypatch):
    """Price 5e9 and quantity 1e6 are each kept (below 1e10 and 1e7), but their product,
    5e15, does not fit numeric(14,2): COPY failed the tenant's whole day."""
    (tmp_path / "dagster-home").mkdir()
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster-home"))
    export = Export()
    hostile = export.visit(at(D1, 10), device="hostile-visitor")
    hostile.add_to_cart([("SKU-H", 1_000_000, 5e9)])
    good = export.visit(at(D1, 11), customer=ANA)
    good.add_to_cart([("SKU-G", 2, 25.0)])
    tenant = ScenarioTenant("overflow", export, bigquery_emulator, tmp_path, branches=["RX"], customers=[ANA])
    tenant.load(export, tmp_path)

    assert "ok" in tenant.run(D1)
    carts = {r["item_id"]: r for r in tenant.rows("SELECT * FROM tenant_data.cart_adds")}
    assert carts["SKU-H"]["value"] is None and float(carts["SKU-G"]["value"]) == 50.0
    [day] = tenant.rows("SELECT quality FROM tenant_data.data_availability")
    assert day["quality"]["bad_item_value"] == 1


def test_a_modern_export_takes_is_active_user_and_the_session_last_click(bigquery_emulator, tmp_path, db, monkeypatch):
    """Exports since 2023 carry is_active_user, collected_traffic_source and
    session_traffic_source_last_click: GA4's own active flag and session source win."""
    (tmp_path / "dagster-home").mkdir()
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster-home"))
    export = Export(modern=True)
    v = export.visit(
        at(D1, 10),
        customer=ANA,
        engaged=False,
        active=False,
        source=("google", "organic"),
        last_click=("newsletter", "email"),
    )
    v.page("/")
    v = export.visit(at(D1, 12), device="anon-modern", engaged=True, source=("bing", "cpc"))
    v.page("/")
    v.page("/about")
    tenant = ScenarioTenant("modern", export, bigquery_emulator, tmp_path, branches=["RX"], customers=[ANA])
    tenant.load(export, tmp_path)

    tenant.run(D1)
    sources = {
        r["user_pseudo_id"]: (r["source"], r["medium"])
        for r in tenant.rows("SELECT user_pseudo_id, source, medium FROM tenant_data.sessions")
    }
    assert sources == {"dev-4001": ("newsletter", "email"), "anon-modern": ("bing", "cpc")}
    m = tenant.metrics(D1)
    assert (m["sessions"], m["engaged_sessions"], m["active_users"]) == (2, 1, 1)


def test_a_new_users_first_session_across_midnight_is_new_once(bigquery_emulator, tmp_path, db, monkeypatch):
    """Both parts of a first session carry ga_session_number = 1: the user is new on the
    start day only, so a range's new users (a sum of days) counts them once."""
    (tmp_path / "dagster-home").mkdir()
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster-home"))
    export = Export()
    v = export.visit(at(D1, 23, 50), device="newcomer", session_number=1)
    v.first_visit()
    v.page("/")
    v.page("/p/sku-1", minutes=15)  # 00:05 on D2
    export.visit(at(D2, 20), device="d2-visitor").page("/")
    tenant = ScenarioTenant("newcomer", export, bigquery_emulator, tmp_path, branches=["RX"], customers=[ANA])
    tenant.load(export, tmp_path)

    tenant.run(D1, D2)
    d1, d2 = tenant.metrics(D1), tenant.metrics(D2)
    assert (d1["new_users"], d2["new_users"]) == (1, 0)
    assert (d1["active_users"], d2["active_users"]) == (1, 2)  # active on both days, as GA4 counts

"""Finding 7: one bad hit from a site visitor must not fail a tenant's day.

A visitor's browser can send any number: a price of 1e13 or a quantity of 3e9 overflows
numeric(14,2) or integer, and COPY used to fail the tenant's whole day on every retry.
The BigQuery SQL now loads such values as NULL and counts them; the day loads, every
good row with it, and the `bad_values_nulled` check reports what was dropped."""

from __future__ import annotations

import datetime as dt

import dagster as dg

from ga_intel.ga4.assets import ga4_day
from ga_intel.orchestration.resources import build_resources
from ga_intel_tests.helpers.export import Export
from ga_intel_tests.helpers.scenario import ScenarioTenant, customer

DAY = dt.date(2024, 6, 3)
AVA = customer("3001", "B1", first="Ava")


def test_a_hostile_visitors_amounts_are_nulled_counted_and_the_day_loads(
    bigquery_emulator, tmp_path, db, secret_key, monkeypatch
):
    (tmp_path / "dagster-home").mkdir()
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster-home"))  # `ga-intel run`'s instance
    export = Export()
    hostile = export.visit(dt.datetime.combine(DAY, dt.time(10)), device="hostile-visitor")
    hostile.add_to_cart([("SKU-H", 3_000_000_000, 1e13)], value=1e13)  # both overflow
    hostile.purchase("T-HOSTILE", [("SKU-H", 1, 5.0)], revenue=-50.0)  # a negative order
    good = export.visit(dt.datetime.combine(DAY, dt.time(11)), customer=AVA)
    good.add_to_cart([("SKU-G", 2, 25.0)])
    good.purchase("T-GOOD", [("SKU-G", 2, 25.0)], minutes=30)
    tenant = ScenarioTenant("victim", export, bigquery_emulator, tmp_path, branches=["B1"], customers=[AVA])
    tenant.load(export, tmp_path)

    output = tenant.run(DAY)  # `ga-intel run`: fails the test on any failed day
    assert "ok" in output

    carts = {r["item_id"]: r for r in tenant.rows("SELECT * FROM tenant_data.cart_adds")}
    assert carts["SKU-H"]["price"] is None and carts["SKU-H"]["value"] is None
    assert carts["SKU-H"]["quantity"] == 1  # an impossible quantity is no quantity: counts as 1
    assert float(carts["SKU-G"]["value"]) == 50.0
    purchases = {r["transaction_id"]: r for r in tenant.rows("SELECT * FROM tenant_data.purchases")}
    assert purchases["T-HOSTILE"]["revenue"] is None and float(purchases["T-GOOD"]["revenue"]) == 50.0
    assert float(tenant.metrics(DAY)["revenue"]) == 50.0

    [day] = tenant.rows("SELECT quality FROM tenant_data.data_availability")
    quality = day["quality"]
    assert quality["bad_item_price"] == 1 and quality["bad_item_quantity"] == 1
    assert quality["bad_value_param"] >= 2 and quality["bad_purchase_revenue"] == 1

    # The asset check says so, as a warning (the day itself is fine).
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("tenant", ["victim"])
        result = dg.materialize(
            [ga4_day],
            instance=instance,
            resources=build_resources(),
            raise_on_error=False,
            partition_key=dg.MultiPartitionKey({"tenant": "victim", "date": DAY.isoformat()}),
        )
    assert result.success
    [check] = [c for c in result.get_asset_check_evaluations() if c.check_name == "bad_values_nulled"]
    assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN
    assert check.metadata["bad_values"].value >= 5

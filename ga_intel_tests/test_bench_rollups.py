"""`ga-intel bench rollups` at a tiny scale: both writes are timed in the three variants
(without the roll-up triggers, migration 0017's functions, the former ones), each
rolled back, and the figures carry their same-run baseline, spread and server."""

from __future__ import annotations

import sys

import sqlalchemy as sa

from ga_intel.db import control, tenant_scope
from ga_intel.devrun import REPO


def test_rollups_bench_small(db, secret_key):
    sys.path.insert(0, str(REPO))
    from bench import rollups

    lines: list[str] = []
    out = {m.name: m for m in rollups.run(lines.append, days=10, events_per_day=20_000, rounds=2)}
    assert sorted(out) == [
        "rollups.cart_tasks_current_s",
        "rollups.cart_tasks_former_s",
        "rollups.search_terms_current_s",
        "rollups.search_terms_former_s",
    ]
    for m in out.values():
        assert m.value > 0 and m.baseline_value > 0 and m.ratio > 0 and m.pairs == 2
        assert m.ratio_min <= m.ratio <= m.ratio_max and m.server.startswith("PostgreSQL")
    assert "80 rows in one INSERT" in out["rollups.cart_tasks_current_s"].note  # 10 days x 8 carts (E = 20k)
    assert sum("without" in line for line in lines) == 4  # 2 writes x 2 rounds
    with tenant_scope(rollups.TENANT) as conn:  # every write was rolled back
        for table in ("search_terms_daily", "search_terms_rollup", "tasks", "cart_items_daily"):
            assert conn.execute(sa.text(f"SELECT count(*) FROM tenant_data.{table}")).scalar() == 0, table
        # and the functions are migration 0017's again
        assert (
            "GROUPING"
            in conn.execute(sa.text("SELECT prosrc FROM pg_proc WHERE proname = 'search_terms_rollup_apply'")).scalar()
        )
    with control() as conn:
        assert (
            conn.execute(
                sa.text("SELECT count(*) FROM control.tenants WHERE tenant_id = :t"), {"t": rollups.TENANT}
            ).scalar()
            == 0
        )

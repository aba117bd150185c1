"""`ga-intel bench dashboard` at a tiny scale: the generated history fits the schema, every
page's loader runs on it, each page gets a p95, and the bench tenant is gone afterwards."""

from __future__ import annotations

import sys

import sqlalchemy as sa

from ga_intel.db import control
from ga_intel.devrun import REPO


def test_dashboard_bench_small(db, secret_key):
    sys.path.insert(0, str(REPO))
    from bench import dashboard

    lines: list[str] = []
    out = {m.name: m for m in dashboard.run(lines.append, days=10, raw_days=2, events_per_day=20_000, repeats=2)}
    pages = (
        "overview",
        "overview_branch",
        "carts_admin",
        "carts_rep",
        "carts_branch",
        "search",
        "search_branch",
        "locations",
        "tasks_admin",
        "tasks_manager",
        "tasks_rep",
        "data",
    )
    for page in pages:
        m = out[f"dashboard.{page}_p95_ms"]
        assert m.value > 0 and m.unit == "ms" and m.baseline.startswith("SELECT 1") and m.ratio > 0
    assert "tasks 370" in out["dashboard.overview_p95_ms"].note  # 10 days x 37 tasks (E = 20k)
    assert any(name.endswith("_indexed_vs_without_0006_p95_ms") for name in out)
    assert any("generated search_terms_daily" in line for line in lines)
    with control() as conn:
        assert (
            conn.execute(
                sa.text("SELECT count(*) FROM control.tenants WHERE tenant_id = :t"), {"t": dashboard.TENANT}
            ).scalar()
            == 0
        )

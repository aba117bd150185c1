"""`ga-intel bench api` at a tiny scale: the task list over real HTTP gets a p95 against the
SELECT 1 floor, and the bench tenant (with its token) is gone afterwards."""

from __future__ import annotations

import sys

import sqlalchemy as sa

from ga_intel.db import control
from ga_intel.devrun import REPO


def test_api_bench_small(db, secret_key):
    sys.path.insert(0, str(REPO))
    from bench import api

    lines: list[str] = []
    out = {m.name: m for m in api.run(lines.append, days=5, raw_days=1, events_per_day=20_000, repeats=3)}
    for name in ("api.tasks_first_page_p95_ms", "api.tasks_second_page_p95_ms", "api.health_p95_ms"):
        m = out[name]
        assert m.value > 0 and m.unit == "ms" and m.baseline.startswith("SELECT 1") and m.ratio > 0
    assert "tasks 185" in out["api.tasks_first_page_p95_ms"].note  # 5 days x 37 tasks (E = 20k)
    with control() as conn:
        assert (
            conn.execute(sa.text("SELECT count(*) FROM control.tenants WHERE tenant_id = 'bench-dashboard'")).scalar()
            == 0
        )
        assert conn.execute(sa.text("SELECT count(*) FROM control.api_tokens")).scalar() == 0

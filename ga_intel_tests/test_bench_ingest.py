"""`ga-intel bench ingest`'s load-stage figures: ours and the ceiling timed in interleaved
pairs, the median of per-pair ratios with its spread, and the PostgreSQL server named.
Structure only: no timed assertion."""

from __future__ import annotations

import json
import sys

import sqlalchemy as sa

from ga_intel.devrun import REPO

sys.path.insert(0, str(REPO))  # bench/ lives beside the package

from bench import common, ingest  # noqa: E402


def test_interleaved_pairs_alternate_and_report_the_median_ratio_with_spread():
    calls = []
    ours_rates = iter([10.0, 30.0, 20.0, 40.0, 50.0])
    base_rates = iter([10.0, 10.0, 10.0, 10.0, 100.0])

    def ours():
        calls.append("ours")
        return next(ours_rates)

    def baseline():
        calls.append("base")
        return next(base_rates)

    m = common.interleaved_ratio("x", ours, baseline, "rows/s", "ceiling", pairs=5)
    assert calls == ["ours", "base", "base", "ours", "ours", "base", "base", "ours", "ours", "base"]
    # Per-pair ratios 1, 3, 2, 4, 0.5: median 2, spread 0.5-4 (not the ratio of medians, 30/10).
    assert (m.ratio, m.ratio_min, m.ratio_max, m.pairs) == (2.0, 0.5, 4.0, 5)
    assert (m.value, m.baseline_value) == (30.0, 10.0)
    line = json.loads(m.line())
    assert {"ratio", "ratio_min", "ratio_max", "pairs"} <= set(line)


def test_load_stage_figures_name_their_server(db):
    from ga_intel.db import control

    with control() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO control.tenants (tenant_id, name, timezone) VALUES (:t, 'Bench', 'UTC') "
                "ON CONFLICT DO NOTHING"
            ),
            {"t": ingest.TENANT},
        )
    out = ingest.load_stage(3000, lambda m: None, pairs=2)
    server = common.postgres_server()
    assert server.startswith("PostgreSQL ") and "embedded" in server
    by_name = {m.name: m for m in out}
    for name in ("ingest.load_stage_rows_per_s", "ingest.replace_day_rows_per_s"):
        m = by_name[name]
        assert m.pairs == 2 and m.ratio_min <= m.ratio <= m.ratio_max
        assert m.baseline == "server-side COPY from a file"
    with control() as conn:
        assert conn.execute(sa.text("SELECT to_regclass('public.bench_copy_ceiling')")).scalar() is None

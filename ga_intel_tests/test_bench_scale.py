"""`ga-intel bench scale --json` at a tiny scale emits the export sensor's shard figures
(each shard's ticks, the longest, deferred tenants) against the 1-tenant run. In a child
process: the bench defines the daily partitions from its own start date."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from ga_intel.devrun import REPO


def test_scale_bench_reports_each_shard(db, secret_key):
    env = {**os.environ, "GA_INTEL_EXPORT_SENSOR_SHARDS": "2"}
    done = subprocess.run(
        [sys.executable, "-m", "ga_intel.cli", "bench", "scale", "--tenants", "3", "--days", "5", "--json"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = {m["name"]: m for m in map(json.loads, done.stdout.splitlines())}  # stdout: JSON only
    assert out["scale.export_sensor_shards"]["value"] == 2
    assert out["scale.export_shard_deferred_tenants"]["value"] == 0
    names = [
        "scale.export_shard_tick_max_s",
        "scale.export_shard_cold_tick_max_s",
        "scale.export_shard_warm_tick_max_s",
    ]
    names += [f"scale.export_shard_{i}_of_2_{kind}_tick_s" for i in (1, 2) for kind in ("cold", "warm")]
    for name in names:
        m = out[name]
        assert m["value"] > 0 and m["unit"] == "s" and m["baseline"].startswith("1 tenant") and m["ratio"] > 0
    shard_ticks = [out[f"scale.export_shard_{i}_of_2_{k}_tick_s"]["value"] for i in (1, 2) for k in ("cold", "warm")]
    assert out["scale.export_shard_tick_max_s"]["value"] == max(shard_ticks)
    assert out["scale.export_sensor_per_tenant_ms"]["value"] > 0
    cursor = out["scale.export_shard_cursor_max_kb"]
    assert cursor["value"] > 0 and cursor["baseline_value"] > 0 and cursor["unit"] == "KB"

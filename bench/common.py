"""Measurement helpers shared by the benchmarks."""

from __future__ import annotations

import json
import resource
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass


@dataclass
class Measurement:
    name: str
    value: float
    unit: str
    baseline: str | None = None
    baseline_value: float | None = None
    ratio: float | None = None
    note: str | None = None
    ratio_min: float | None = None  # spread of per-pair ratios (interleaved_ratio)
    ratio_max: float | None = None
    pairs: int | None = None
    server: str | None = None  # the PostgreSQL the figure was measured on

    def line(self) -> str:
        return json.dumps({k: v for k, v in asdict(self).items() if v is not None})

    def text(self) -> str:
        out = f"{self.name}: {self.value:,.2f} {self.unit}"
        if self.baseline:
            spread = f", {self.ratio_min:.2f}–{self.ratio_max:.2f} over {self.pairs} pairs" if self.pairs else ""
            out += f"  (baseline {self.baseline}: {self.baseline_value:,.2f}; ratio {self.ratio:.2f}{spread})"
        out += f"  [{self.note}]" if self.note else ""
        return out + (f"  on {self.server}" if self.server else "")


def compare(
    name: str,
    value: float,
    unit: str,
    baseline: str,
    baseline_value: float,
    note: str | None = None,
    higher_is_better: bool = True,
) -> Measurement:
    ratio = value / baseline_value if baseline_value else None
    return Measurement(
        name,
        round(value, 3),
        unit,
        baseline,
        round(baseline_value, 3),
        round(ratio, 3) if ratio is not None else None,
        note,
    )


def interleaved_ratio(
    name: str,
    ours: Callable[[], float],
    baseline: Callable[[], float],
    unit: str,
    baseline_name: str,
    pairs: int = 5,
    note: str | None = None,
) -> Measurement:
    """Time `ours` and `baseline` in pairs, alternating which goes first, and report the
    median of the per-pair ratios (ours / baseline, both rates: higher is better) with
    their min and max. A pair shares the machine's mood, so noise that moves both sides
    cancels out; the median drops a pair hit by a neighbour's burst. The figure's value
    and baseline_value are the median rates."""
    import statistics

    ours_rates, base_rates, ratios = [], [], []
    for i in range(pairs):
        if i % 2:
            b, o = baseline(), ours()
        else:
            o, b = ours(), baseline()
        ours_rates.append(o)
        base_rates.append(b)
        ratios.append(o / b)
    m = Measurement(
        name,
        round(statistics.median(ours_rates), 3),
        unit,
        baseline_name,
        round(statistics.median(base_rates), 3),
        round(statistics.median(ratios), 3),
        note,
    )
    m.ratio_min, m.ratio_max, m.pairs = round(min(ratios), 3), round(max(ratios), 3), pairs
    return m


def postgres_server() -> str:
    """The platform PostgreSQL as a figure names it: version, and embedded or host:port."""
    import sqlalchemy as sa

    from ga_intel import settings
    from ga_intel.db import control

    with control() as conn:
        version = conn.execute(sa.text("SHOW server_version")).scalar()
    urls = settings.database_urls()
    where = "embedded" if urls.embedded else "external"
    return f"PostgreSQL {version.split()[0]} ({where}, {urls.platform.host}:{urls.platform.port})"


def timed(fn: Callable, *args, **kwargs) -> tuple[float, object]:
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return time.perf_counter() - start, result


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far. VmHWM where Linux has it: getrusage's
    ru_maxrss survives execve, so a child started from a big parent would report the
    parent's peak."""
    try:
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux

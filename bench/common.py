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

    def line(self) -> str:
        return json.dumps({k: v for k, v in asdict(self).items() if v is not None})

    def text(self) -> str:
        out = f"{self.name}: {self.value:,.2f} {self.unit}"
        if self.baseline:
            out += f"  (baseline {self.baseline}: {self.baseline_value:,.2f}; ratio {self.ratio:.2f})"
        return out + (f"  [{self.note}]" if self.note else "")


def compare(name: str, value: float, unit: str, baseline: str, baseline_value: float, note: str | None = None,
            higher_is_better: bool = True) -> Measurement:
    ratio = value / baseline_value if baseline_value else None
    return Measurement(name, round(value, 3), unit, baseline, round(baseline_value, 3),
                       round(ratio, 3) if ratio is not None else None, note)


def timed(fn: Callable, *args, **kwargs) -> tuple[float, object]:
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return time.perf_counter() - start, result


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

"""Per-credential rate limits: a token bucket in this process.

Each API token (or OIDC subject) has a bucket of `GA_INTEL_API_BURST` requests (default
60), refilled at `GA_INTEL_API_RATE` requests a second (default 10). A request finding it
empty gets 429 with `Retry-After` (whole seconds until one request is back). Buckets live
in the serving process: with several API processes each allows the rate, so divide it
among them (docs/API.md). Refused credentials are limited per client address as well
(`GA_INTEL_API_AUTH_FAILURE_BURST`, default 30, refilled at `GA_INTEL_API_AUTH_FAILURE_RATE`,
default 1 a second), which slows guessing and never a valid credential.
"""

from __future__ import annotations

import math
import os
import threading
import time


class Buckets:
    def __init__(self, rate: float | None = None, burst: float | None = None, clock=time.monotonic):
        self.rate = rate if rate is not None else float(os.environ.get("GA_INTEL_API_RATE", "10"))
        self.burst = burst if burst is not None else float(os.environ.get("GA_INTEL_API_BURST", "60"))
        self._clock = clock
        self._lock = threading.Lock()
        self._state: dict[str, tuple[float, float]] = {}  # key -> (tokens, at)

    def take(self, key: str) -> float:
        """0 when the request may go ahead, else the seconds until it could."""
        with self._lock:
            now = self._clock()
            tokens, at = self._state.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - at) * self.rate)
            if tokens >= 1:
                self._state[key] = (tokens - 1, now)
                return 0.0
            self._state[key] = (tokens, now)
            return (1 - tokens) / self.rate if self.rate > 0 else math.inf


def retry_after(wait: float) -> str:
    return str(max(1, math.ceil(min(wait, 86_400))))

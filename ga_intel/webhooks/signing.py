"""The signature of a webhook delivery.

Headers of every POST:
- `GA-Intel-Event-Id`: the event's id (a UUID), the same on every retry: receivers
  de-duplicate on it;
- `GA-Intel-Event-Type`: task.created | task.status_changed;
- `GA-Intel-Timestamp`: Unix seconds when this attempt was signed;
- `GA-Intel-Signature`: `v1=` + hex HMAC-SHA256, keyed with the endpoint's secret, of
  `<timestamp>.<body>` (the body's exact bytes).

A receiver recomputes it, compares in constant time, and refuses a timestamp older than a
few minutes (a replay).
"""

from __future__ import annotations

import hashlib
import hmac
import time

TOLERANCE_SECONDS = 300


def signature(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "v1=" + mac.hexdigest()


def headers(secret: str, event_id: str, event_type: str, body: bytes, now: float | None = None) -> dict[str, str]:
    timestamp = int(now if now is not None else time.time())
    return {
        "Content-Type": "application/json",
        "User-Agent": "ga-intel-webhooks/1",
        "GA-Intel-Event-Id": event_id,
        "GA-Intel-Event-Type": event_type,
        "GA-Intel-Timestamp": str(timestamp),
        "GA-Intel-Signature": signature(secret, timestamp, body),
    }


def verify(secret: str, timestamp: str, body: bytes, given: str, now: float | None = None) -> bool:
    """What a receiver does (docs/API.md has it in a few lines)."""
    try:
        ts = int(timestamp)
    except ValueError:
        return False
    if abs((now if now is not None else time.time()) - ts) > TOLERANCE_SECONDS:
        return False
    return hmac.compare_digest(signature(secret, ts, body), given)

"""The webhook dispatcher: works `tenant_data.webhook_deliveries`, one row per endpoint ×
event, written by the task triggers (migration 0014).

A due row is claimed by pushing its `next_attempt_at` a lease ahead (`FOR UPDATE SKIP
LOCKED`, so several dispatchers never take the same row), then POSTed, signed
(signing.py). A 2xx answer marks it `delivered`, and a delivered row is never sent again:
a restarted dispatcher sends each event once. Anything else is retried with exponential
backoff (`GA_INTEL_WEBHOOK_RETRY_SECONDS`, default 30 s: 30 s, 1 min, 2 min, … at most an
hour) until `GA_INTEL_WEBHOOK_MAX_ATTEMPTS` (default 8), then `failed`. A dispatcher that
dies mid-attempt leaves the row pending; it is sent again when the lease ends, with the
same event id, which receivers de-duplicate on.

Redirects are not followed, and the target's addresses are checked by
`ga_intel.netguard.check_target` before every attempt.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import urllib.error
import urllib.request
from collections import Counter

import sqlalchemy as sa

from ga_intel.db import tenant_scope

log = logging.getLogger("ga_intel.webhooks")
TIMEOUT_SECONDS = 10
LEASE_SECONDS = 60  # longer than an attempt can take
MAX_BACKOFF_SECONDS = 3600


def max_attempts() -> int:
    return int(os.environ.get("GA_INTEL_WEBHOOK_MAX_ATTEMPTS", "8"))


def backoff(attempts: int) -> float:
    base = float(os.environ.get("GA_INTEL_WEBHOOK_RETRY_SECONDS", "30"))
    return min(base * 2 ** max(attempts - 1, 0), MAX_BACKOFF_SECONDS)


_CLAIM = """
UPDATE tenant_data.webhook_deliveries d
SET attempts = d.attempts + 1, last_attempt_at = now(), next_attempt_at = now() + make_interval(secs => :lease)
FROM tenant_data.webhook_endpoints e
WHERE (d.tenant_id, d.endpoint_id, d.event_id) IN (
        SELECT tenant_id, endpoint_id, event_id FROM tenant_data.webhook_deliveries
        WHERE status = 'pending' AND next_attempt_at <= now()
        ORDER BY created_at, event_id LIMIT :limit FOR UPDATE SKIP LOCKED)
  AND e.tenant_id = d.tenant_id AND e.endpoint_id = d.endpoint_id
RETURNING d.endpoint_id, CAST(d.event_id AS text) AS event_id, d.event_type, d.payload, d.attempts, d.created_at,
          e.url, e.secret, e.disabled_at IS NOT NULL AS disabled
"""


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # a 3xx is an answer like any other non-2xx: retried, never followed


_opener = urllib.request.build_opener(_NoRedirect)


def post(url: str, body: bytes, headers: dict[str, str]) -> int:
    """POST and return the HTTP status; raises OSError (or GaIntelError) when none came."""
    from ga_intel import netguard
    from ga_intel.webhooks.endpoints import target

    netguard.check_target(*target(url))
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with _opener.open(request, timeout=TIMEOUT_SECONDS) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def dispatch_tenant(tenant_id: str, limit: int = 100) -> Counter:
    """One pass over the tenant's due deliveries; counts per outcome."""
    from ga_intel import crypto
    from ga_intel.errors import GaIntelError
    from ga_intel.webhooks import signing

    outcome: Counter = Counter()
    with tenant_scope(tenant_id) as conn:
        due = conn.execute(sa.text(_CLAIM), {"lease": LEASE_SECONDS, "limit": limit}).mappings().all()
    for row in sorted(due, key=lambda r: (r["created_at"], r["event_id"])):
        code, error = None, None
        if row["disabled"]:
            error = "the endpoint was removed"
        else:
            body = json.dumps(row["payload"], sort_keys=True, separators=(",", ":")).encode()
            try:
                secret = crypto.keyring().decrypt(row["secret"], "a webhook secret")["secret"]
                code = post(row["url"], body, signing.headers(secret, row["event_id"], row["event_type"], body))
                if not 200 <= code < 300:
                    error = f"HTTP {code}"
            except GaIntelError as exc:
                error = exc.message
            except OSError as exc:
                error = f"no answer: {type(exc).__name__}: {exc}"[:500]
        if error is None:
            state, sql = "delivered", "status = 'delivered', delivered_at = now()"
        elif row["disabled"] or row["attempts"] >= max_attempts():
            state, sql = "failed", "status = 'failed'"
        else:
            state, sql = "retry", f"next_attempt_at = now() + make_interval(secs => {backoff(row['attempts'])!r})"
        with tenant_scope(tenant_id) as conn:
            conn.execute(
                sa.text(
                    f"UPDATE tenant_data.webhook_deliveries SET {sql}, response_code = :code, "
                    "error = :error WHERE endpoint_id = :e AND event_id = CAST(:ev AS uuid)"
                ),
                {"code": code, "error": error, "e": row["endpoint_id"], "ev": row["event_id"]},
            )
        outcome[state] += 1
        if error:
            log.warning(
                "webhook %s of event %s to endpoint %s: %s (%s)",
                row["event_type"],
                row["event_id"],
                row["endpoint_id"],
                error,
                state,
            )
    return outcome


def dispatch(limit: int = 100) -> Counter:
    """One pass over every tenant."""
    from ga_intel.db.placement import UNAVAILABLE
    from ga_intel.tenancy import store

    total: Counter = Counter()
    for tenant_id in store.tenant_ids():
        try:
            total.update(dispatch_tenant(tenant_id, limit))
        except UNAVAILABLE as exc:  # its own database: the other tenants' events still go out
            log.warning("webhooks: skipped tenant %s: %s", tenant_id, exc.message)
    return total


class Loop:
    """Dispatch every `GA_INTEL_WEBHOOK_POLL_SECONDS` (default 5) in a background thread."""

    def __init__(self, every: float | None = None):
        self.every = every if every is not None else float(os.environ.get("GA_INTEL_WEBHOOK_POLL_SECONDS", "5"))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="webhook-dispatcher", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=TIMEOUT_SECONDS + 5)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                while dispatch() and not self._stop.is_set():
                    pass  # a full pass: more may be due at once
            except Exception:  # noqa: BLE001 - a bad pass is logged; the next one tries again
                log.exception("webhook dispatch failed")
            self._stop.wait(self.every)

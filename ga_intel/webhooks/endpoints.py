"""A tenant's webhook endpoints (tenant_data.webhook_endpoints, under row-level security).

The signing secret (`whsec_...`) is shown once, when the endpoint is added, and stored
encrypted (Fernet, ga_intel/crypto). A URL must be http(s) and its host must pass
`ga_intel.netguard.check_target` now and at every delivery.
"""

from __future__ import annotations

import datetime as dt
import secrets
import urllib.parse
from dataclasses import dataclass

import sqlalchemy as sa

from ga_intel.db import tenant_scope
from ga_intel.errors import GaIntelError

EVENTS = ("task.created", "task.status_changed")


@dataclass(frozen=True)
class Endpoint:
    endpoint_id: str
    url: str
    events: tuple[str, ...]
    created_at: dt.datetime

    def as_dict(self) -> dict:
        return {
            "id": self.endpoint_id,
            "url": self.url,
            "events": list(self.events),
            "created_at": self.created_at.isoformat(),
        }


def target(url: str) -> tuple[str, int]:
    """(host, port) of a webhook URL, or a GaIntelError naming what is wrong."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise GaIntelError(f"url {url!r} is not an http(s) URL", hint="e.g. https://crm.example.com/hooks/ga-intel")
    if parts.username or parts.password:
        raise GaIntelError("url must not carry a user or password", hint="authenticate with the signature instead")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise GaIntelError(f"url {url!r} has an invalid port") from None
    return parts.hostname, port


def add(tenant_id: str, url: str, events: tuple[str, ...]) -> tuple[Endpoint, str]:
    from ga_intel import crypto, netguard

    url = url.strip()
    bad = [e for e in events if e not in EVENTS]
    if bad or not events:
        raise GaIntelError(
            f"events: unknown {', '.join(bad)}" if bad else "events is empty", hint="use " + ", ".join(EVENTS)
        )
    netguard.check_target(*target(url))
    secret = "whsec_" + secrets.token_urlsafe(32)
    endpoint_id = "whk_" + secrets.token_hex(6)
    with tenant_scope(tenant_id) as conn:
        created = conn.execute(
            sa.text(
                "INSERT INTO tenant_data.webhook_endpoints (tenant_id, endpoint_id, url, events, secret) "
                "VALUES (:tenant, :id, :url, :events, :secret) RETURNING created_at"
            ),
            {
                "tenant": tenant_id,
                "id": endpoint_id,
                "url": url,
                "events": list(dict.fromkeys(events)),
                "secret": crypto.keyring().encrypt({"secret": secret}),
            },
        ).scalar_one()
    return Endpoint(endpoint_id, url, tuple(dict.fromkeys(events)), created), secret


def list_endpoints(tenant_id: str) -> list[Endpoint]:
    with tenant_scope(tenant_id) as conn:
        rows = conn.execute(
            sa.text(
                "SELECT endpoint_id, url, events, created_at FROM tenant_data.webhook_endpoints "
                "WHERE disabled_at IS NULL ORDER BY created_at"
            )
        ).all()
    return [Endpoint(r.endpoint_id, r.url, tuple(r.events), r.created_at) for r in rows]


def remove(tenant_id: str, endpoint_id: str) -> bool:
    """Disable the endpoint: no new deliveries, none retried; the ledger keeps its rows."""
    with tenant_scope(tenant_id) as conn:
        return (
            conn.execute(
                sa.text(
                    "UPDATE tenant_data.webhook_endpoints SET disabled_at = now() "
                    "WHERE endpoint_id = :id AND disabled_at IS NULL"
                ),
                {"id": endpoint_id},
            ).rowcount
            > 0
        )

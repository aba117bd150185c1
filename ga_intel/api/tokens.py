"""Tenant API tokens: `gai_<id>_<secret>`, shown once, stored only as a sha256.

The token is 32 random bytes (URL-safe base64) behind a recognisable prefix, so a leaked
one is found by secret scanners and named by its id (`gai_<8 hex>`, also the row's key
and what `ga-intel token list` shows). A plain sha256 suffices for a value this random:
there is nothing to guess. Every request looks the hash up again, so a revoked token fails
on the next request. `last_used_at` is written at most once a minute per token.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from dataclasses import dataclass

import sqlalchemy as sa

from ga_intel.db import control
from ga_intel.errors import GaIntelError

PREFIX = "gai_"
SCOPES = {
    "tasks:read": "list and read tasks",
    "tasks:write": "set a task's status and note",
    "metrics:read": "daily and branch metrics, search terms",
    "data:read": "data availability, email deliveries",
    "runs:write": "request a refresh of a day (a Dagster run)",
    "webhooks:write": "register and remove webhook endpoints",
}
_SHAPE = re.compile(r"^gai_[0-9a-f]{8}_[A-Za-z0-9_-]{43}$")
LAST_USED_EVERY = dt.timedelta(minutes=1)


@dataclass(frozen=True)
class Token:
    token_id: str
    tenant_id: str
    name: str
    scopes: tuple[str, ...]
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None


def digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def parse_scopes(raw: str | list[str] | tuple[str, ...]) -> tuple[str, ...]:
    scopes = [s.strip() for s in (raw.split(",") if isinstance(raw, str) else raw) if s.strip()]
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown or not scopes:
        raise GaIntelError(
            f"--scope: unknown scope(s) {', '.join(unknown)}" if unknown else "--scope is empty",
            hint="use a comma-separated list of: " + ", ".join(SCOPES),
        )
    return tuple(dict.fromkeys(scopes))


def create(tenant_id: str, name: str, scopes: tuple[str, ...]) -> tuple[Token, str]:
    """A new token for `tenant_id`; returns it with the plaintext, which is never stored."""
    if not name.strip():
        raise GaIntelError("--name is empty", hint="name the token after what uses it, e.g. --name crm")
    token_id = PREFIX + secrets.token_hex(4)
    plaintext = f"{token_id}_{secrets.token_urlsafe(32)}"
    with control() as conn:
        if (
            conn.execute(
                sa.text("SELECT 1 FROM control.tenants WHERE tenant_id = :tenant"), {"tenant": tenant_id}
            ).first()
            is None
        ):
            raise GaIntelError(f"--tenant: no tenant {tenant_id!r}", hint="`ga-intel tenant list` shows them")
        row = conn.execute(
            sa.text(
                "INSERT INTO control.api_tokens (token_id, tenant_id, name, scopes, token_sha256) "
                "VALUES (:id, :tenant, :n, :s, :h) RETURNING created_at"
            ),
            {"id": token_id, "tenant": tenant_id, "n": name.strip(), "s": list(scopes), "h": digest(plaintext)},
        ).one()
    return Token(token_id, tenant_id, name.strip(), scopes, row.created_at, None, None), plaintext


def list_tokens(tenant_id: str | None = None) -> list[Token]:
    with control() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT token_id, tenant_id, name, scopes, created_at, last_used_at, revoked_at FROM control.api_tokens "
                "WHERE CAST(:tenant AS text) IS NULL OR tenant_id = :tenant ORDER BY tenant_id, created_at"
            ),
            {"tenant": tenant_id},
        )
        return [
            Token(r.token_id, r.tenant_id, r.name, tuple(r.scopes), r.created_at, r.last_used_at, r.revoked_at)
            for r in rows
        ]


def revoke(token_id: str) -> bool:
    """Revoke by id (`gai_<8 hex>`, or a whole token); False when there was none to revoke."""
    token_id = token_id.strip()
    if _SHAPE.match(token_id):
        token_id = token_id[:12]
    with control() as conn:
        return (
            conn.execute(
                sa.text("UPDATE control.api_tokens SET revoked_at = now() WHERE token_id = :id AND revoked_at IS NULL"),
                {"id": token_id},
            ).rowcount
            > 0
        )


def verify(plaintext: str) -> Token | None:
    """The live token `plaintext` is, or None (unknown, malformed or revoked)."""
    if not _SHAPE.match(plaintext):
        return None
    with control() as conn:
        r = conn.execute(
            sa.text(
                "SELECT token_id, tenant_id, name, scopes, created_at, last_used_at, revoked_at FROM control.api_tokens "
                "WHERE token_sha256 = :h AND revoked_at IS NULL"
            ),
            {"h": digest(plaintext)},
        ).first()
        if r is None:
            return None
        if r.last_used_at is None or r.last_used_at < dt.datetime.now(dt.UTC) - LAST_USED_EVERY:
            conn.execute(
                sa.text("UPDATE control.api_tokens SET last_used_at = now() WHERE token_id = :id"), {"id": r.token_id}
            )
    return Token(r.token_id, r.tenant_id, r.name, tuple(r.scopes), r.created_at, r.last_used_at, r.revoked_at)

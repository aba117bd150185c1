"""Tenants in the control plane: add, read, update, remove, and key rotation.

A tenant's settings are stored one row per section (`bigquery`, `sftp`, `smtp`, ...):
the non-secret fields as JSON, the secret fields (the `SecretStr` ones of the section's
model) as one Fernet token. Plaintext secrets exist only in memory.

Every write first proves that this process holds the database's key (the `key_check`
canary), inside the same transaction, so a wrong `GA_INTEL_SECRET_KEY` changes nothing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken
from pydantic import SecretStr
from sqlalchemy.engine import Connection

from ga_intel import crypto
from ga_intel.db import control, rls
from ga_intel.db.engine import enter_tenant
from ga_intel.errors import GaIntelError, SecretKeyError, TenantFileError
from ga_intel.tenancy.tenant_file import SECTIONS, Member, TenantConfig, secret_fields, validate

MASK = "••••••••"


@dataclass(frozen=True)
class TenantSummary:
    tenant_id: str
    name: str
    timezone: str
    sections: tuple[str, ...]
    members: int
    updated_at: dt.datetime


class TenantNotFound(GaIntelError):
    def __init__(self, tenant_id: str):
        super().__init__(f"no tenant {tenant_id!r}", hint="`ga-intel tenant list` shows the tenants")


# --- the key check -----------------------------------------------------------------

def _verify_key(conn: Connection) -> None:
    """Raise SecretKeyError unless our key decrypts the database's canary; plant one if
    the database has none yet. Locks the row, so a concurrent rotation waits for us."""
    ring = crypto.keyring()
    token = conn.execute(sa.text("SELECT token FROM control.key_check FOR UPDATE")).scalar()
    if token is None:
        conn.execute(sa.text("INSERT INTO control.key_check (token) VALUES (:t)"), {"t": ring.canary()})
    else:
        ring.check_canary(token)


# --- (de)serialising sections ----------------------------------------------------------

def _split(section: str, model) -> tuple[dict, dict]:
    secrets = secret_fields(SECTIONS[section])
    public = model.model_dump(mode="json", exclude=set(secrets))
    hidden = {name: getattr(model, name).get_secret_value() for name in secrets if getattr(model, name) is not None}
    return public, hidden


def _write_sections(conn: Connection, config: TenantConfig) -> None:
    ring = crypto.keyring()
    conn.execute(sa.text("DELETE FROM control.tenant_settings WHERE tenant_id = :t"), {"t": config.id})
    for section in SECTIONS:
        model = getattr(config, section)
        if model is None:
            continue
        public, hidden = _split(section, model)
        conn.execute(
            sa.text(
                "INSERT INTO control.tenant_settings (tenant_id, section, config, secrets) "
                "VALUES (:t, :s, CAST(:c AS jsonb), :x)"
            ),
            {"t": config.id, "s": section, "c": _json(public), "x": ring.encrypt(hidden) if hidden else None},
        )
    conn.execute(sa.text("DELETE FROM control.tenant_members WHERE tenant_id = :t"), {"t": config.id})
    for m in config.members:
        conn.execute(
            sa.text("INSERT INTO control.tenant_members (tenant_id, email, role, branch_scope) VALUES (:t, :e, :r, :b)"),
            {"t": config.id, "e": m.email, "r": m.role, "b": m.branch},
        )


def _json(value: Any) -> str:
    import json

    return json.dumps(value, sort_keys=True)


# --- public API -------------------------------------------------------------------------

def add(config: TenantConfig) -> None:
    """Store a new tenant; a duplicate id is an error and changes nothing."""
    with control() as conn:
        _verify_key(conn)
        inserted = conn.execute(
            sa.text(
                "INSERT INTO control.tenants (tenant_id, name, timezone) VALUES (:t, :n, :z) "
                "ON CONFLICT (tenant_id) DO NOTHING RETURNING tenant_id"
            ),
            {"t": config.id, "n": config.name, "z": config.timezone},
        ).scalar()
        if inserted is None:
            raise TenantFileError(
                f"tenant {config.id!r}",
                [("id", f"a tenant {config.id!r} already exists; use `ga-intel tenant update` to change it")],
            )
        _write_sections(conn, config)


def update(config: TenantConfig) -> None:
    """Replace every setting of an existing tenant (tenant data is untouched)."""
    with control() as conn:
        _verify_key(conn)
        found = conn.execute(
            sa.text("UPDATE control.tenants SET name = :n, timezone = :z, updated_at = now() WHERE tenant_id = :t RETURNING 1"),
            {"t": config.id, "n": config.name, "z": config.timezone},
        ).scalar()
        if not found:
            raise TenantNotFound(config.id)
        _write_sections(conn, config)


def tenant_ids() -> list[str]:
    with control() as conn:
        return list(conn.execute(sa.text("SELECT tenant_id FROM control.tenants ORDER BY tenant_id")).scalars())


def list_tenants() -> list[TenantSummary]:
    """What `tenant list` and the dashboard show: never a secret, not even encrypted."""
    with control() as conn:
        rows = conn.execute(
            sa.text(
                """
                SELECT t.tenant_id, t.name, t.timezone, t.updated_at,
                       coalesce(array_agg(s.section ORDER BY s.section) FILTER (WHERE s.section IS NOT NULL), '{}') AS sections,
                       (SELECT count(*) FROM control.tenant_members m WHERE m.tenant_id = t.tenant_id) AS members
                FROM control.tenants t LEFT JOIN control.tenant_settings s USING (tenant_id)
                GROUP BY t.tenant_id ORDER BY t.tenant_id
                """
            )
        ).mappings()
        return [
            TenantSummary(r["tenant_id"], r["name"], r["timezone"], tuple(r["sections"]), r["members"], r["updated_at"])
            for r in rows
        ]


def get(tenant_id: str) -> TenantConfig:
    """A tenant's full settings with secrets decrypted (in memory only)."""
    with control() as conn:
        tenant = conn.execute(
            sa.text("SELECT tenant_id, name, timezone FROM control.tenants WHERE tenant_id = :t"), {"t": tenant_id}
        ).mappings().first()
        if tenant is None:
            raise TenantNotFound(tenant_id)
        sections = conn.execute(
            sa.text("SELECT section, config, secrets FROM control.tenant_settings WHERE tenant_id = :t"), {"t": tenant_id}
        ).mappings().all()
        members = conn.execute(
            sa.text("SELECT email, role, branch_scope FROM control.tenant_members WHERE tenant_id = :t ORDER BY email"),
            {"t": tenant_id},
        ).mappings().all()
    ring = crypto.keyring()
    data: dict[str, Any] = {"id": tenant["tenant_id"], "name": tenant["name"], "timezone": tenant["timezone"]}
    for row in sections:
        values = dict(row["config"])
        if row["secrets"]:
            values.update(ring.decrypt(row["secrets"], f"tenant {tenant_id!r} {row['section']} secrets"))
        data[row["section"]] = values
    data["members"] = [{"email": m["email"], "role": m["role"], "branch": m["branch_scope"]} for m in members]
    return validate(data, f"stored settings of tenant {tenant_id!r}")


def redacted(config: TenantConfig) -> dict[str, Any]:
    """The settings as a plain dict with every secret replaced by a mask (or None)."""
    out: dict[str, Any] = {"id": config.id, "name": config.name, "timezone": config.timezone}
    for section, model_cls in SECTIONS.items():
        model = getattr(config, section)
        if model is None:
            continue
        values = model.model_dump(mode="json", exclude=set(secret_fields(model_cls)))
        for name in secret_fields(model_cls):
            values[name] = MASK if getattr(model, name) is not None else None
        out[section] = values
    out["members"] = [m.model_dump(mode="json") for m in config.members]
    return out


def update_section(tenant_id: str, section: str, values: dict[str, Any] | None) -> TenantConfig:
    """Change one section (the dashboard's settings form). A secret given as None, "" or
    the mask keeps its stored value; `values=None` removes an optional section. The whole
    tenant is re-validated before anything is written."""
    if section not in SECTIONS and section != "members":
        raise GaIntelError(f"unknown settings section {section!r}", hint=f"one of {', '.join(SECTIONS)}")
    current = get(tenant_id)
    data = current.model_dump(mode="python")
    # model_dump turns SecretStr into SecretStr objects; unwrap them for re-validation.
    data = _unwrap(data)
    if values is None:
        data[section] = None
    elif section == "members":
        data["members"] = values
    else:
        merged = dict(values)
        old = getattr(current, section)
        for name in secret_fields(SECTIONS[section]):
            if merged.get(name) in (None, "", MASK):
                merged[name] = getattr(old, name).get_secret_value() if old and getattr(old, name) else None
        data[section] = merged
    new = validate(data, f"{section} settings of tenant {tenant_id!r}")
    update(new)
    return new


def _unwrap(node: Any) -> Any:
    if isinstance(node, SecretStr):
        return node.get_secret_value()
    if isinstance(node, dict):
        return {k: _unwrap(v) for k, v in node.items() if v is not None}
    if isinstance(node, list):
        return [_unwrap(v) for v in node]
    return node


def members_for(email: str) -> list[tuple[str, Member]]:
    """The tenants an email may see and its role in each (for dashboard sign-in)."""
    with control() as conn:
        rows = conn.execute(
            sa.text("SELECT tenant_id, email, role, branch_scope FROM control.tenant_members WHERE email = lower(:e) ORDER BY tenant_id"),
            {"e": email.strip()},
        ).mappings()
        return [(r["tenant_id"], Member(email=r["email"], role=r["role"], branch=r["branch_scope"])) for r in rows]


def tenant_tables(conn: Connection) -> list[str]:
    """Every table in the tenant schema, from the catalog (so new tables are covered)."""
    return list(
        conn.execute(
            sa.text(
                "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = :s AND c.relkind IN ('r', 'p') AND NOT c.relispartition ORDER BY c.relname"
            ),
            {"s": rls.TENANT_SCHEMA},
        ).scalars()
    )


def remove(tenant_id: str) -> dict[str, int]:
    """Delete a tenant: its settings, members and all of its data, in one transaction.
    Returns rows deleted per tenant table."""
    with control() as conn:
        _verify_key(conn)
        found = conn.execute(sa.text("DELETE FROM control.tenants WHERE tenant_id = :t RETURNING 1"), {"t": tenant_id}).scalar()
        if not found:
            raise TenantNotFound(tenant_id)
        tables = tenant_tables(conn)
        # Tenant tables force row-level security even on their owner: delete as the tenant.
        enter_tenant(conn, tenant_id)
        deleted = {}
        for table in tables:
            result = conn.execute(sa.text(f'DELETE FROM {rls.TENANT_SCHEMA}."{table}" WHERE tenant_id = :t'), {"t": tenant_id})
            deleted[table] = result.rowcount
        return deleted


# --- key rotation -----------------------------------------------------------------------

def _rotate_webhook_secrets(conn: Connection, ring: crypto.Keyring) -> int:
    """Webhook signing secrets (tenant_data.webhook_endpoints), in the rotation's transaction.
    Row security is FORCEd even for the owner, so each tenant's rows are reached by setting
    its id for the transaction, as tenant_scope does (the role stays the owner's)."""
    count = 0
    for tenant_id in conn.execute(sa.text("SELECT tenant_id FROM control.tenants ORDER BY tenant_id")).scalars().all():
        conn.execute(sa.text("SELECT set_config('app.tenant_id', :t, true)"), {"t": tenant_id})
        rows = conn.execute(sa.text(
            "SELECT endpoint_id, secret FROM tenant_data.webhook_endpoints FOR UPDATE")).all()
        for endpoint_id, token in rows:
            try:
                new_token = ring.rotate(token)
            except InvalidToken:
                raise SecretKeyError(
                    f"cannot decrypt tenant {tenant_id!r} webhook {endpoint_id} secret with the keys from {ring.source}",
                    hint="nothing was re-encrypted; restore the key that encrypted it and retry") from None
            conn.execute(sa.text("UPDATE tenant_data.webhook_endpoints SET secret = :x WHERE endpoint_id = :e"),
                         {"x": new_token, "e": endpoint_id})
            count += 1
    conn.execute(sa.text("SELECT set_config('app.tenant_id', '', true)"))
    return count


def rotate_keys() -> int:
    """Re-encrypt every secret under a new key; returns the number of tokens re-encrypted.

    Key-file mode: a new key is generated and written in front of the old ones first, so
    readers started before the rotation (which reload the file on a token they cannot
    read) keep working throughout; once the database commits, the old keys are dropped.

    `GA_INTEL_SECRET_KEY` mode: the operator puts the new key first
    (`GA_INTEL_SECRET_KEY=new,old`); this re-encrypts under it. Afterwards, drop `old`.
    """
    keys, source = crypto.load_keys()
    from_file = source != crypto.ENV_VAR
    if from_file:
        new_key = Fernet.generate_key()
        crypto.write_key_file([new_key, *keys])
    elif len(keys) < 2:
        raise SecretKeyError(
            f"{crypto.ENV_VAR} holds one key; nothing to rotate to",
            hint=f"generate one with `ga-intel keys generate` and set {crypto.ENV_VAR}=<new>,<old>, then run this again",
        )
    crypto.reset_keyring()
    ring = crypto.keyring()
    count = 0
    try:
        with control() as conn:
            _verify_key(conn)  # also locks the key check row: one rotation at a time
            rows = conn.execute(
                sa.text("SELECT tenant_id, section, secrets FROM control.tenant_settings WHERE secrets IS NOT NULL FOR UPDATE")
            ).all()
            for tenant_id, section, token in rows:
                try:
                    new_token = ring.rotate(token)
                except InvalidToken:
                    raise SecretKeyError(
                        f"cannot decrypt tenant {tenant_id!r} {section} secrets with the keys from {ring.source}",
                        hint="nothing was re-encrypted; restore the key that encrypted them and retry",
                    ) from None
                conn.execute(
                    sa.text("UPDATE control.tenant_settings SET secrets = :x, updated_at = now() WHERE tenant_id = :t AND section = :s"),
                    {"x": new_token, "t": tenant_id, "s": section},
                )
                count += 1
            count += _rotate_webhook_secrets(conn, ring)
            conn.execute(sa.text("UPDATE control.key_check SET token = :t, rotated_at = now()"), {"t": ring.canary()})
    except Exception:
        if from_file:
            crypto.write_key_file(keys)  # the database still uses the old keys
            crypto.reset_keyring()
        raise
    if from_file:
        crypto.write_key_file([new_key])
        crypto.reset_keyring()
    return count

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
# Who receives a section's secret: changing any of these while leaving the secret blank
# would send the stored secret to someone new, so the secret must be typed again.
ENDPOINT_FIELDS = {
    "smtp": ("server", "port", "user_name", "use_tls", "use_ssl", "tls_ca_file"),
    "sftp": ("host", "port", "username", "host_key"),
    "postgres": ("host", "port", "username", "sslmode"),
    "bigquery": ("project_id", "api_endpoint"),
}
# Host paths only the operator sets; the dashboard shows them read-only.
OPERATOR_FIELDS = {"folder": ("path",), "smtp": ("tls_ca_file",)}
# Sections only the operator sets (tenant file, `tenant move`); the dashboard shows them
# read-only. `postgres` is where the tenant's data lives, and its login migrates and
# moves it: a tenant admin who could change it could stall other tenants' migrations
# (a login the server refuses) or send the server's runtime login without TLS.
OPERATOR_SECTIONS = ("postgres",)
# The field naming each section's host (checked against the operator's allowed networks).
HOST_FIELDS = {"smtp": ("server", "port"), "sftp": ("host", "port"), "postgres": ("host", "port")}


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
        conn.execute(sa.text("INSERT INTO control.key_check (token) VALUES (:token)"), {"token": ring.canary()})
    else:
        ring.check_canary(token)


# --- (de)serialising sections ----------------------------------------------------------


def _split(section: str, model) -> tuple[dict, dict]:
    secrets = secret_fields(SECTIONS[section])
    public = model.model_dump(mode="json", exclude=set(secrets))
    hidden = {name: getattr(model, name).get_secret_value() for name in secrets if getattr(model, name) is not None}
    return public, hidden


def _insert_section(conn: Connection, tenant_id: str, section: str, model) -> None:
    public, hidden = _split(section, model)
    conn.execute(
        sa.text(
            "INSERT INTO control.tenant_settings (tenant_id, section, config, secrets) "
            "VALUES (:tenant, :s, CAST(:c AS jsonb), :x)"
        ),
        {
            "tenant": tenant_id,
            "s": section,
            "c": _json(public),
            "x": crypto.keyring().encrypt(hidden) if hidden else None,
        },
    )


def _write_sections(conn: Connection, config: TenantConfig) -> None:
    conn.execute(sa.text("DELETE FROM control.tenant_settings WHERE tenant_id = :tenant"), {"tenant": config.id})
    for section in SECTIONS:
        model = getattr(config, section)
        if model is not None:
            _insert_section(conn, config.id, section, model)
    # A member who stays keeps their sign-in binding (finding 3); one removed loses it.
    bound = {
        r["email"]: r
        for r in conn.execute(
            sa.text(
                "SELECT email, oidc_issuer, oidc_subject, bound_at FROM control.tenant_members "
                "WHERE tenant_id = :tenant AND oidc_subject IS NOT NULL"
            ),
            {"tenant": config.id},
        ).mappings()
    }
    conn.execute(sa.text("DELETE FROM control.tenant_members WHERE tenant_id = :tenant"), {"tenant": config.id})
    for m in config.members:
        b = bound.get(m.email) or {}
        conn.execute(
            sa.text(
                "INSERT INTO control.tenant_members (tenant_id, email, role, branch_scope, oidc_issuer, oidc_subject, "
                "bound_at) VALUES (:tenant, :e, :r, :b, :i, :s, :at)"
            ),
            {
                "tenant": config.id,
                "e": m.email,
                "r": m.role,
                "b": m.branch,
                "i": b.get("oidc_issuer"),
                "s": b.get("oidc_subject"),
                "at": b.get("bound_at"),
            },
        )


def _json(value: Any) -> str:
    import json

    return json.dumps(value, sort_keys=True)


# --- public API -------------------------------------------------------------------------


def add(config: TenantConfig, progress=lambda message: None) -> None:
    """Store a new tenant; a duplicate id is an error and changes nothing. A tenant with
    a `postgres` section gets its database migrated first (as `db upgrade` would), so its
    data has somewhere to go before the tenant exists."""
    if config.postgres is not None:
        from ga_intel.db import migrate, placement

        if config.id in tenant_ids():
            _duplicate(config.id)
        loc = placement.location_from_section(config.postgres)
        progress(f"migrating tenant database {loc.label} ...")
        _, revision = migrate.upgrade_location(loc)
        progress(f"tenant database {loc.label} at revision {revision}")
    with control() as conn:
        _verify_key(conn)
        inserted = conn.execute(
            sa.text(
                "INSERT INTO control.tenants (tenant_id, name, timezone) VALUES (:tenant, :n, :z) "
                "ON CONFLICT (tenant_id) DO NOTHING RETURNING tenant_id"
            ),
            {"tenant": config.id, "n": config.name, "z": config.timezone},
        ).scalar()
        if inserted is None:
            _duplicate(config.id)
        _write_sections(conn, config)


def _duplicate(tenant_id: str):
    raise TenantFileError(
        f"tenant {tenant_id!r}",
        [("id", f"a tenant {tenant_id!r} already exists; use `ga-intel tenant update` to change it")],
    )


PLACEMENT_FIELDS = ("host", "port", "database")


def _refuse_placement_change(conn: Connection, config: TenantConfig) -> None:
    """Where a tenant's data lives changes only with `ga-intel tenant move`, which takes
    the rows along: a settings change would leave them behind. The login, password and
    sslmode of the same database may change."""
    row = conn.execute(
        sa.text("SELECT config FROM control.tenant_settings WHERE tenant_id = :tenant AND section = 'postgres'"),
        {"tenant": config.id},
    ).scalar()
    old = tuple(row.get(f) for f in PLACEMENT_FIELDS) if row else None
    new = tuple(getattr(config.postgres, f) for f in PLACEMENT_FIELDS) if config.postgres else None
    if old == new:
        return
    where = lambda t: f"{t[0]}:{t[1]}/{t[2]}" if t else "the platform database"
    raise TenantFileError(
        f"settings of tenant {config.id!r}",
        [
            (
                "postgres"
                if old is None or new is None
                else "postgres." + next(f for f, a, b in zip(PLACEMENT_FIELDS, old, new, strict=True) if a != b),
                f"the tenant's data is in {where(old)}; a settings change cannot move it to {where(new)} "
                f"(the rows would stay behind): run `ga-intel tenant move {config.id} "
                + ("--to-platform`" if new is None else "--to-postgres FILE`")
                + " instead",
            )
        ],
    )


def set_placement(conn: Connection, tenant_id: str, pg) -> None:
    """Point the tenant's data at `pg` (a PostgresSettings; None: the platform database),
    in the caller's transaction: `ga-intel tenant move`'s switch, once the rows are there."""
    _verify_key(conn)
    conn.execute(
        sa.text("DELETE FROM control.tenant_settings WHERE tenant_id = :tenant AND section = 'postgres'"),
        {"tenant": tenant_id},
    )
    if pg is not None:
        _insert_section(conn, tenant_id, "postgres", pg)
    conn.execute(
        sa.text("UPDATE control.tenants SET updated_at = now() WHERE tenant_id = :tenant"), {"tenant": tenant_id}
    )


def update(config: TenantConfig) -> None:
    """Replace every setting of an existing tenant (tenant data is untouched)."""
    with control() as conn:
        _verify_key(conn)
        found = conn.execute(
            sa.text(
                "UPDATE control.tenants SET name = :n, timezone = :z, updated_at = now() WHERE tenant_id = :tenant RETURNING 1"
            ),
            {"tenant": config.id, "n": config.name, "z": config.timezone},
        ).scalar()
        if not found:
            raise TenantNotFound(config.id)
        _refuse_placement_change(conn, config)
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
        tenant = (
            conn.execute(
                sa.text("SELECT tenant_id, name, timezone FROM control.tenants WHERE tenant_id = :tenant"),
                {"tenant": tenant_id},
            )
            .mappings()
            .first()
        )
        if tenant is None:
            raise TenantNotFound(tenant_id)
        sections = (
            conn.execute(
                sa.text("SELECT section, config, secrets FROM control.tenant_settings WHERE tenant_id = :tenant"),
                {"tenant": tenant_id},
            )
            .mappings()
            .all()
        )
        members = (
            conn.execute(
                sa.text(
                    "SELECT email, role, branch_scope FROM control.tenant_members WHERE tenant_id = :tenant ORDER BY email"
                ),
                {"tenant": tenant_id},
            )
            .mappings()
            .all()
        )
    ring = crypto.keyring()
    data: dict[str, Any] = {"id": tenant["tenant_id"], "name": tenant["name"], "timezone": tenant["timezone"]}
    for row in sections:
        values = dict(row["config"])
        if row["secrets"]:
            values.update(ring.decrypt(row["secrets"], f"tenant {tenant_id!r} {row['section']} secrets"))
        data[row["section"]] = values
    data["members"] = [{"email": m["email"], "role": m["role"], "branch": m["branch_scope"]} for m in members]
    # Never render a template on read (security finding 8): it was checked when saved.
    return validate(data, f"stored settings of tenant {tenant_id!r}", check_templates=False)


def contact(tenant_id: str) -> tuple[str, str, list[str]]:
    """(name, timezone, admin emails) from the plain control rows: what an alert about a
    tenant whose settings cannot be decrypted or validated still needs."""
    with control() as conn:
        tenant = conn.execute(
            sa.text("SELECT name, timezone FROM control.tenants WHERE tenant_id = :tenant"), {"tenant": tenant_id}
        ).first()
        if tenant is None:
            raise TenantNotFound(tenant_id)
        admins = (
            conn.execute(
                sa.text(
                    "SELECT email FROM control.tenant_members WHERE tenant_id = :tenant AND role = 'admin' ORDER BY email"
                ),
                {"tenant": tenant_id},
            )
            .scalars()
            .all()
        )
    return tenant.name, tenant.timezone, list(admins)


def section(tenant_id: str, name: str, conn: Connection | None = None):
    """One settings section, decrypted and validated alone (None if the tenant has none),
    for reaching a tenant whose other sections are broken. `conn`: read in that control
    transaction (a move reads it under its own)."""
    if conn is None:
        with control() as conn:
            return section(tenant_id, name, conn)
    row = (
        conn.execute(
            sa.text("SELECT config, secrets FROM control.tenant_settings WHERE tenant_id = :tenant AND section = :s"),
            {"tenant": tenant_id, "s": name},
        )
        .mappings()
        .first()
    )
    if row is None:
        return None
    values = dict(row["config"])
    if row["secrets"]:
        values.update(crypto.keyring().decrypt(row["secrets"], f"tenant {tenant_id!r} {name} secrets"))
    return SECTIONS[name].model_validate(values)


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
    if section in OPERATOR_SECTIONS:
        raise TenantFileError(
            f"{section} settings of tenant {tenant_id!r}",
            [
                (
                    section,
                    "the tenant's database is set by the platform operator, not in the dashboard: its login with "
                    f"`ga-intel tenant update FILE`, the database itself with `ga-intel tenant move {tenant_id}`",
                )
            ],
        )
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
        if section in OPERATOR_FIELDS:
            _keep_operator_fields(tenant_id, section, merged, old)
        kept = []
        for name in secret_fields(SECTIONS[section]):
            if merged.get(name) in (None, "", MASK):
                merged[name] = getattr(old, name).get_secret_value() if old and getattr(old, name) else None
                if merged[name] is not None:
                    kept.append(name)
        data[section] = merged
    source = f"{section} settings of tenant {tenant_id!r}"
    # Templates render (in a limited child) only when they are what is being saved.
    new = validate(data, source, check_templates=section == "email")
    if values is not None and section in ENDPOINT_FIELDS:
        old, now = getattr(current, section), getattr(new, section)
        changed = [f for f in ENDPOINT_FIELDS[section] if old is None or getattr(old, f) != getattr(now, f)]
        if changed and old is not None and kept:
            raise TenantFileError(
                source,
                [
                    (
                        f"{section}.{name}",
                        f"{', '.join(changed)} changed: enter the {name.replace('_', ' ')} again "
                        f"(the stored one is never sent to a new {' or '.join(changed)})",
                    )
                    for name in kept
                ],
            )
        if changed:
            _check_target(source, section, now)
    update(new)
    return new


def _check_target(source: str, section: str, settings) -> None:
    """Refuse a loopback, link-local or private host before it is stored (it is checked
    again at every connection, where the answer counts). A name that does not resolve
    now is stored: the connection check reports it."""
    from ga_intel.connectors import targets
    from ga_intel.connectors.bigquery import check_endpoint
    from ga_intel.errors import ServiceError

    try:
        if section == "bigquery":
            field = "api_endpoint"
            check_endpoint(settings)
        else:
            field, port = HOST_FIELDS[section]
            targets.check_host(section, getattr(settings, field), getattr(settings, port), field=field)
    except ServiceError as exc:
        if not exc.transient:
            raise TenantFileError(
                source, [(f"{section}.{field}", exc.message.removeprefix(f"{section}: ") + f" ({exc.hint})")]
            ) from None


def _keep_operator_fields(tenant_id: str, section: str, merged: dict[str, Any], old) -> None:
    """Paths on the platform's host are the operator's (finding 1 in docs/SECURITY.md):
    the dashboard may not change them, or probe the host with them. The folder is set
    with `ga-intel tenant set-folder`, a CA file in the tenant file."""
    for name in OPERATOR_FIELDS[section]:
        stored = getattr(old, name) if old is not None else None
        given = merged.get(name)
        if given not in (None, "") and given != stored:
            how = "`ga-intel tenant set-folder`" if section == "folder" else "the tenant file"
            raise TenantFileError(
                f"{section} settings of tenant {tenant_id!r}",
                [(f"{section}.{name}", f"this path is set by the platform operator ({how}), not in the dashboard")],
            )
        merged[name] = stored


def set_folder(tenant_id: str, path: str | None, create: bool = False) -> str:
    """The operator's way to point a tenant at a folder inside its drop folder (stored
    relative to it); `create` makes the folder. Returns the real folder."""
    from ga_intel.tenancy import folders

    current = get(tenant_id)
    try:
        if create:
            base = folders.tenant_root(tenant_id)
            base.mkdir(parents=True, exist_ok=True, mode=0o750)
            folders.resolve(tenant_id, path).mkdir(parents=True, exist_ok=True, mode=0o750)
        real = folders.resolve(tenant_id, path)
    except folders.FolderOutsideRoot as exc:
        raise TenantFileError(f"tenant {tenant_id!r}", [("folder.path", f"{exc.message}; {exc.hint}")]) from None
    if not real.is_dir():
        raise TenantFileError(
            f"tenant {tenant_id!r}",
            [("folder.path", f"folder {str(real)!r} does not exist (create it, or pass --create)")],
        )
    data = _unwrap(current.model_dump(mode="python"))
    data["folder"] = {**(data.get("folder") or {}), "path": folders.relative(tenant_id, path)}
    data.pop("sftp", None)  # one master-data source
    update(validate(data, f"folder of tenant {tenant_id!r}", check_templates=False))
    return str(real)


def _unwrap(node: Any) -> Any:
    if isinstance(node, SecretStr):
        return node.get_secret_value()
    if isinstance(node, dict):
        return {k: _unwrap(v) for k, v in node.items() if v is not None}
    if isinstance(node, list):
        return [_unwrap(v) for v in node]
    return node


class IdentityMismatch(GaIntelError):
    """The email is bound to another sign-in identity: someone else's account, or the
    same person at another provider. Never says which identity holds it."""

    def __init__(self, email: str):
        super().__init__(
            f"{email} is already bound to another sign-in account",
            hint="sign in with the account you first used; if you really moved, ask your tenant's admin to "
            "remove you from Members, save, and add you again (that clears the binding)",
        )


def members_for(email: str, issuer: str | None = None, subject: str | None = None) -> list[tuple[str, Member]]:
    """The tenants an email may see and its role in each (for dashboard sign-in).

    With an OIDC `issuer` and `subject` (finding 3): membership rows of this email that are
    bound to another identity refuse the sign-in (IdentityMismatch), and rows not bound yet
    are bound to this one, in the same transaction. Without them (the dev login): no binding.
    """
    if (issuer is None) != (subject is None) or (issuer is not None and not (issuer.strip() and subject.strip())):
        raise ValueError("members_for needs both issuer and subject, or neither")
    with control() as conn:
        rows = (
            conn.execute(
                sa.text(
                    "SELECT tenant_id, email, role, branch_scope, oidc_issuer, oidc_subject FROM control.tenant_members "
                    "WHERE email = lower(:e) ORDER BY tenant_id FOR UPDATE"
                ),
                {"e": email.strip()},
            )
            .mappings()
            .all()
        )
        if issuer is not None:
            if any(
                r["oidc_subject"] is not None and (r["oidc_issuer"], r["oidc_subject"]) != (issuer, subject)
                for r in rows
            ):
                raise IdentityMismatch(email.strip().lower())
            conn.execute(
                sa.text(
                    "UPDATE control.tenant_members SET oidc_issuer = :i, oidc_subject = :s, bound_at = now() "
                    "WHERE email = lower(:e) AND oidc_subject IS NULL"
                ),
                {"e": email.strip(), "i": issuer, "s": subject},
            )
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
    """Delete a tenant: its settings, members and all of its data. Returns rows deleted
    per tenant table. In the platform database that is one transaction; a tenant with
    its own database has its data deleted there first, then its control rows (a failure
    in between leaves the tenant listed with no data: run `tenant remove` again)."""
    from ga_intel.db import placement, tenant_scope

    with control() as conn:
        _verify_key(conn)
        if not conn.execute(sa.text("SELECT 1 FROM control.tenants WHERE tenant_id = :t"), {"t": tenant_id}).scalar():
            raise TenantNotFound(tenant_id)
        if conn.execute(sa.text("SELECT 1 FROM control.tenant_moves WHERE tenant_id = :t"), {"t": tenant_id}).scalar():
            # Its rows may be in two databases: removing now would leave one copy behind.
            raise GaIntelError(
                f"tenant {tenant_id!r} is being moved between databases; nothing was removed",
                hint=f"finish the move first (`ga-intel tenant move {tenant_id} --resume`), then remove it",
            )
    deleted: dict[str, int] = {}
    if not placement.location(tenant_id).is_platform:
        with tenant_scope(tenant_id) as conn:
            deleted = _delete_tenant_rows(conn, tenant_id, tenant_tables(conn))
    with control() as conn:
        _verify_key(conn)
        found = conn.execute(
            sa.text("DELETE FROM control.tenants WHERE tenant_id = :tenant RETURNING 1"), {"tenant": tenant_id}
        ).scalar()
        if not found:
            raise TenantNotFound(tenant_id)
        if not deleted:
            tables = tenant_tables(conn)
            # Tenant tables force row-level security even on their owner: delete as the tenant.
            enter_tenant(conn, tenant_id)
            deleted = _delete_tenant_rows(conn, tenant_id, tables)
        return deleted


def _delete_tenant_rows(conn: Connection, tenant_id: str, tables: list[str]) -> dict[str, int]:
    return {
        table: conn.execute(
            sa.text(f'DELETE FROM {rls.TENANT_SCHEMA}."{table}" WHERE tenant_id = :tenant'), {"tenant": tenant_id}
        ).rowcount
        for table in tables
    }


# --- key rotation -----------------------------------------------------------------------


def _own_database_tenants(conn: Connection) -> set[str]:
    return set(
        conn.execute(sa.text("SELECT tenant_id FROM control.tenant_settings WHERE section = 'postgres'")).scalars()
    )


def _rotated(ring: crypto.Keyring, token: str, what: str) -> str:
    """`token` re-encrypted under the ring's primary key; a token no key opens stops the
    rotation, which then re-encrypts nothing."""
    try:
        return ring.rotate(token)
    except InvalidToken:
        raise SecretKeyError(
            f"cannot decrypt {what} with the keys from {ring.source}",
            hint="nothing was re-encrypted; restore the key that encrypted it and retry",
        ) from None


def _rotate_webhook_rows(conn: Connection, tenant_id: str, ring: crypto.Keyring) -> int:
    """One tenant's webhook signing secrets (tenant_data.webhook_endpoints); `conn` is in
    that tenant's scope."""
    rows = conn.execute(sa.text("SELECT endpoint_id, secret FROM tenant_data.webhook_endpoints FOR UPDATE")).all()
    for endpoint_id, token in rows:
        new_token = _rotated(ring, token, f"tenant {tenant_id!r} webhook {endpoint_id} secret")
        conn.execute(
            sa.text("UPDATE tenant_data.webhook_endpoints SET secret = :x WHERE endpoint_id = :e"),
            {"x": new_token, "e": endpoint_id},
        )
    return len(rows)


def _rotate_webhook_secrets(conn: Connection, ring: crypto.Keyring) -> int:
    """Webhook secrets of the tenants whose data is in the platform database, in the
    rotation's transaction. Tenant rows are reached only as the RLS-bound app role with
    one tenant's id set, as tenant_scope does; the role is reset to the runtime login
    afterwards for the control tables the rotation still writes."""
    elsewhere = _own_database_tenants(conn)
    count = 0
    for tenant_id in conn.execute(sa.text("SELECT tenant_id FROM control.tenants ORDER BY tenant_id")).scalars().all():
        if tenant_id in elsewhere:
            continue
        enter_tenant(conn, tenant_id)
        count += _rotate_webhook_rows(conn, tenant_id, ring)
    conn.execute(sa.text("SELECT set_config('app.tenant_id', '', true)"))
    conn.execute(sa.text("RESET ROLE"))
    return count


def _rotate_platform_secrets(conn: Connection, ring: crypto.Keyring) -> int:
    rows = conn.execute(sa.text("SELECT name, token FROM control.platform_secrets FOR UPDATE")).all()
    for name, token in rows:
        new_token = _rotated(ring, token, f"the platform secret {name!r}")
        conn.execute(
            sa.text("UPDATE control.platform_secrets SET token = :t WHERE name = :n"), {"t": new_token, "n": name}
        )
    return len(rows)


def _rotate_move_journal(conn: Connection, ring: crypto.Keyring) -> int:
    """The target secrets of unfinished `tenant move`s, so a move outlives a rotation."""
    rows = conn.execute(
        sa.text(
            "SELECT tenant_id, target_secrets FROM control.tenant_moves WHERE target_secrets IS NOT NULL FOR UPDATE"
        )
    ).all()
    for tenant_id, token in rows:
        new_token = _rotated(ring, token, f"tenant {tenant_id!r}'s move target secrets")
        conn.execute(
            sa.text("UPDATE control.tenant_moves SET target_secrets = :t WHERE tenant_id = :tenant"),
            {"t": new_token, "tenant": tenant_id},
        )
    return len(rows)


def _rotate_tenant_databases(tenants: set[str], ring: crypto.Keyring) -> int:
    """Webhook secrets kept in tenants' own databases: one transaction per tenant, after
    the control plane's. Until all are done the old key must stay readable."""
    from ga_intel.db import tenant_scope

    count, failed = 0, []
    for tenant_id in sorted(tenants):
        try:
            with tenant_scope(tenant_id) as conn:
                count += _rotate_webhook_rows(conn, tenant_id, ring)
        except GaIntelError as exc:  # one tenant's database must not keep the others on the old key
            failed.append(f"tenant {tenant_id!r}: {exc.message}")
    if failed:
        raise SecretKeyError(
            f"the control plane and every other tenant database are re-encrypted, but not {len(failed)} tenant "
            "database(s): " + "; ".join(failed),
            hint="both keys stay in use; fix those and run the rotation again to finish (a tenant whose own "
            "webhook secret no key opens can delete that webhook and add it again)",
        )
    return count


def rotate_keys() -> int:
    """Re-encrypt every secret under a new key; returns the number of tokens re-encrypted.

    Key-file mode: a new key is generated and written in front of the old ones first, so
    readers started before the rotation (which reload the file on a token they cannot
    read) keep working throughout; once the database commits, the file is left holding
    the key every token is now encrypted with (the keyring's own primary key, never a
    key remembered from before). The whole rotation holds the key file's lock: a second
    rotation started meanwhile waits, then rotates from what the first left.

    `GA_INTEL_SECRET_KEY` mode: the operator puts the new key first
    (`GA_INTEL_SECRET_KEY=new,old`); this re-encrypts under it. Afterwards, drop `old`.
    """
    _, source = crypto.load_keys()  # creates the key file on first use, before its lock is taken
    if source == crypto.ENV_VAR:
        return _rotate(from_file=False)
    with crypto.key_file_lock():
        return _rotate(from_file=True)


def _rotate(from_file: bool) -> int:
    keys, _ = crypto.load_keys(create=False)  # read again: under the lock, the current file
    if from_file:
        crypto.write_key_file([Fernet.generate_key(), *keys])
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
                sa.text(
                    "SELECT tenant_id, section, secrets FROM control.tenant_settings WHERE secrets IS NOT NULL FOR UPDATE"
                )
            ).all()
            for tenant_id, section, token in rows:
                new_token = _rotated(ring, token, f"tenant {tenant_id!r} {section} secrets")
                conn.execute(
                    sa.text(
                        "UPDATE control.tenant_settings SET secrets = :x, updated_at = now() WHERE tenant_id = :tenant AND section = :s"
                    ),
                    {"x": new_token, "tenant": tenant_id, "s": section},
                )
                count += 1
            count += _rotate_webhook_secrets(conn, ring)
            count += _rotate_platform_secrets(conn, ring)
            count += _rotate_move_journal(conn, ring)
            elsewhere = _own_database_tenants(conn)
            conn.execute(
                sa.text("UPDATE control.key_check SET token = :token, rotated_at = now()"), {"token": ring.canary()}
            )
    except Exception:
        if from_file:
            crypto.write_key_file(keys)  # the database still uses the old keys
            crypto.reset_keyring()
        raise
    # The key file still holds the old keys behind the new one, so a failure here leaves
    # every token readable; the rotation's next run finishes it.
    count += _rotate_tenant_databases(elsewhere, ring)
    if from_file:
        crypto.write_key_file([ring.primary])  # what the tokens and the key check are now encrypted with
        crypto.reset_keyring()
    return count

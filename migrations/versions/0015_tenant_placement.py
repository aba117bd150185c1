"""Tenant data placement (issue 19): a tenant's data may live in its own PostgreSQL.

Every database ga-intel keeps tenant data in (the platform database and each tenant
database) runs this same chain of migrations. This one adds:

- `ga_intel_tenant_runtime`: the login ga-intel uses on a *tenant* database, as
  `ga_intel_runtime` is on the platform one (NOSUPERUSER NOBYPASSRLS NOINHERIT, member
  of `ga_intel_app` only; issue 15, finding 5). A separate role, because roles are
  cluster-wide and a tenant database may share a server with the platform one, whose
  runtime password the operator sets. `ga-intel db upgrade` gives it its password, a
  deployment secret kept encrypted in `control.platform_secrets`.
- `control.platform_secrets`: deployment-wide secrets (Fernet tokens), re-encrypted by
  key rotation like tenant settings.
- `control.tenant_moves`: the journal of `ga-intel tenant move`, so an interrupted move
  resumes where it stopped and nothing is deleted before the switch is committed.

Revision ID: 0015
Revises: 0014
"""

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

ROLE = "ga_intel_tenant_runtime"
RUNTIME = "ga_intel_runtime"


def upgrade() -> None:
    op.execute(
        f"""
        DO $$ BEGIN
          IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{ROLE}') THEN
            CREATE ROLE {ROLE} LOGIN NOSUPERUSER NOBYPASSRLS NOINHERIT NOCREATEDB NOCREATEROLE;
          END IF;
        END $$;
        """
    )
    op.execute(f"GRANT ga_intel_app TO {ROLE}")
    op.execute(f"GRANT SELECT ON public.alembic_version TO {ROLE}")
    op.execute(f"GRANT USAGE ON SCHEMA tenant_data TO {ROLE}")

    op.execute("""
        CREATE TABLE control.platform_secrets (
            name        text PRIMARY KEY,
            token       text NOT NULL,              -- Fernet token of {"value": ...}; never plaintext
            created_at  timestamptz NOT NULL DEFAULT now()
        )""")
    op.execute("""
        CREATE TABLE control.tenant_moves (
            tenant_id      text PRIMARY KEY REFERENCES control.tenants ON DELETE CASCADE,
            target_config  jsonb,                   -- the target's postgres section without secrets; NULL: the platform
            target_secrets text,                    -- Fernet token of the target's secrets
            state          text NOT NULL CHECK (state IN ('copying', 'switched')),
            copied         jsonb NOT NULL DEFAULT '{}',  -- {"tables": table -> rows verified, "source": the old postgres section without secrets or null}
            started_at     timestamptz NOT NULL DEFAULT now(),
            updated_at     timestamptz NOT NULL DEFAULT now()
        )""")
    for table in ("platform_secrets", "tenant_moves"):
        op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON control.{table} TO {RUNTIME}")


def downgrade() -> None:
    op.execute("DROP TABLE control.tenant_moves")
    op.execute("DROP TABLE control.platform_secrets")
    op.execute(f"REVOKE USAGE ON SCHEMA tenant_data FROM {ROLE}")
    op.execute(f"REVOKE SELECT ON public.alembic_version FROM {ROLE}")

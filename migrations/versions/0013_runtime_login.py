"""The runtime login (issue 15, finding 5).

Until now everything logged in as the owner (on the embedded server, the superuser
`postgres`): FORCE RLS does not bind a superuser, and a `RESET ROLE` inside
`tenant_scope` escaped the `SET LOCAL ROLE`. The dashboard, pipeline runs and commands now
log in as `ga_intel_runtime`: NOSUPERUSER, NOBYPASSRLS, owning nothing, NOINHERIT, and a
member of `ga_intel_app` only, so tenant data is reachable only through `SET ROLE
ga_intel_app`, where row-level security applies. It is granted the control plane itself
(tenants, settings, members, ledgers kept there) and may read the schema revision.
Migrations keep running as the owner. `ga-intel db upgrade` sets the login's password from
GA_INTEL_RUNTIME_DATABASE_URL when that URL has one (the embedded server trusts loopback).

Revision ID: 0013
Revises: 0012
"""

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

ROLE = "ga_intel_runtime"


def upgrade() -> None:
    # Roles are cluster-wide; several ga-intel databases (tests, staging) may share a server.
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
    op.execute(f"GRANT USAGE ON SCHEMA control TO {ROLE}")
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA control TO {ROLE}")
    op.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA control TO {ROLE}")
    op.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA control GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {ROLE}")
    op.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA control GRANT USAGE, SELECT ON SEQUENCES TO {ROLE}")
    op.execute(f"GRANT SELECT ON public.alembic_version TO {ROLE}")
    # Names only (catalog look-ups such as to_regclass): no privilege on any tenant table.
    op.execute(f"GRANT USAGE ON SCHEMA tenant_data TO {ROLE}")


def downgrade() -> None:
    # The role stays (another database on the server may use it); this database's grants go.
    op.execute(f"REVOKE USAGE ON SCHEMA tenant_data FROM {ROLE}")
    op.execute(f"REVOKE SELECT ON public.alembic_version FROM {ROLE}")
    op.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA control REVOKE USAGE, SELECT ON SEQUENCES FROM {ROLE}")
    op.execute(
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA control REVOKE SELECT, INSERT, UPDATE, DELETE ON TABLES FROM {ROLE}"
    )
    op.execute(f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA control FROM {ROLE}")
    op.execute(f"REVOKE ALL ON ALL TABLES IN SCHEMA control FROM {ROLE}")
    op.execute(f"REVOKE USAGE ON SCHEMA control FROM {ROLE}")

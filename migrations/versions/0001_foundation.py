"""Foundation: control plane, the application role and tenant-isolated data schema.

Revision ID: 0001
Revises:
"""

from alembic import op

from ga_intel.db.rls import enable_tenant_rls_sql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Roles are cluster-wide; several ga-intel databases (tests, staging) may share a server.
    op.execute(
        """
        DO $$ BEGIN
          IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'ga_intel_app') THEN
            CREATE ROLE ga_intel_app NOLOGIN NOSUPERUSER NOBYPASSRLS;
          END IF;
        END $$;
        """
    )
    op.execute("GRANT ga_intel_app TO CURRENT_USER")
    op.execute("CREATE SCHEMA control")
    op.execute("CREATE SCHEMA tenant_data")
    # The application role never touches the control plane: secrets live there.
    op.execute("REVOKE ALL ON SCHEMA control FROM PUBLIC")
    op.execute("GRANT USAGE ON SCHEMA tenant_data TO ga_intel_app")
    op.execute(
        "ALTER DEFAULT PRIVILEGES IN SCHEMA tenant_data GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO ga_intel_app"
    )
    op.execute("ALTER DEFAULT PRIVILEGES IN SCHEMA tenant_data GRANT USAGE, SELECT ON SEQUENCES TO ga_intel_app")

    op.execute(
        """
        CREATE TABLE control.tenants (
            tenant_id   text PRIMARY KEY CHECK (tenant_id ~ '^[a-z0-9][a-z0-9_-]{1,62}$'),
            name        text NOT NULL,
            timezone    text NOT NULL,
            created_at  timestamptz NOT NULL DEFAULT now(),
            updated_at  timestamptz NOT NULL DEFAULT now()
        )
        """
    )
    op.execute(
        """
        CREATE TABLE control.tenant_settings (
            tenant_id   text NOT NULL REFERENCES control.tenants ON DELETE CASCADE,
            section     text NOT NULL,
            config      jsonb NOT NULL,
            secrets     text,
            updated_at  timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (tenant_id, section)
        )
        """
    )
    op.execute("COMMENT ON COLUMN control.tenant_settings.secrets IS 'Fernet token of a JSON object; never plaintext'")
    op.execute(
        """
        CREATE TABLE control.tenant_members (
            tenant_id   text NOT NULL REFERENCES control.tenants ON DELETE CASCADE,
            email       text NOT NULL CHECK (email = lower(email)),
            role        text NOT NULL CHECK (role IN ('admin', 'manager', 'rep')),
            branch_scope text,
            created_at  timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (tenant_id, email)
        )
        """
    )
    op.execute("CREATE INDEX tenant_members_email ON control.tenant_members (email)")
    # One known plaintext, encrypted: lets every writer prove it holds the database's key
    # before it writes anything under a different one.
    op.execute(
        """
        CREATE TABLE control.key_check (
            id          boolean PRIMARY KEY DEFAULT true CHECK (id),
            token       text NOT NULL,
            rotated_at  timestamptz NOT NULL DEFAULT now()
        )
        """
    )

    op.execute(
        """
        CREATE TABLE tenant_data.sales_reps (
            tenant_id   text NOT NULL,
            branch_code text NOT NULL,
            rep_email   text NOT NULL CHECK (rep_email = lower(rep_email)),
            rep_name    text NOT NULL,
            enabled     boolean NOT NULL DEFAULT true,
            source      text NOT NULL DEFAULT 'manual' CHECK (source IN ('manual', 'file')),
            updated_at  timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (tenant_id, branch_code, rep_email)
        )
        """
    )
    for stmt in enable_tenant_rls_sql("sales_reps"):
        op.execute(stmt)


def downgrade() -> None:
    op.execute("DROP SCHEMA tenant_data CASCADE")
    op.execute("DROP SCHEMA control CASCADE")

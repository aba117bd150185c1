"""Master data: customers, branches and the file versions they came from.

Revision ID: 0003
Revises: 0002
"""

from alembic import op

from ga_intel.db.rls import enable_tenant_rls_sql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE tenant_data.users (
            tenant_id       text NOT NULL,
            user_id         text NOT NULL,
            user_name       text, first_name text, middle_name text, last_name text, job_title text,
            user_erp_id     text,
            email           text,
            office_phone    text, cell_phone text, fax text,
            address1        text, address2 text, address3 text, city text, state text, zip text, country text,
            registered_date date,
            last_login_date date,
            company_id      text,
            company_name    text,
            company_erp_id  text,
            branch_code     text NOT NULL,
            role_name       text, site_name text,
            is_active       boolean,
            rep_name        text,
            rep_email       text,
            source_row      integer NOT NULL,
            PRIMARY KEY (tenant_id, user_id)
        )
        """
    )
    op.execute("CREATE INDEX users_company ON tenant_data.users (tenant_id, company_id)")
    op.execute("CREATE INDEX users_branch ON tenant_data.users (tenant_id, branch_code)")
    op.execute(
        """
        CREATE TABLE tenant_data.locations (
            tenant_id       text NOT NULL,
            warehouse_code  text NOT NULL,
            warehouse_id    text,
            warehouse_name  text NOT NULL,
            address1        text, address2 text, address3 text, city text, state text, zip text, country text,
            email           text,
            phone_number    text, toll_free_number text, fax text,
            latitude        double precision, longitude double precision,
            service_manager text, work_hour text, branch_location_id text, status text,
            is_active       boolean,
            rep_name        text,
            rep_email       text,
            source_row      integer NOT NULL,
            PRIMARY KEY (tenant_id, warehouse_code)
        )
        """
    )
    op.execute(
        """
        CREATE TABLE tenant_data.master_data_files (
            tenant_id   text NOT NULL,
            kind        text NOT NULL CHECK (kind IN ('users', 'locations')),
            file_name   text NOT NULL,
            mtime       timestamptz,
            size_bytes  bigint NOT NULL,
            sha256      text NOT NULL,
            -- SHA-256 of the column mapping and reader version the load used: the same
            -- file under a changed mapping is not a no-op
            settings_sha256 text,
            rows_loaded integer NOT NULL,
            warnings    integer NOT NULL DEFAULT 0,
            run_id      text,
            loaded_at   timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (tenant_id, kind, loaded_at)
        )
        """
    )
    for table in ("users", "locations", "master_data_files"):
        for stmt in enable_tenant_rls_sql(table):
            op.execute(stmt)


def downgrade() -> None:
    for table in ("master_data_files", "locations", "users"):
        op.execute(f"DROP TABLE tenant_data.{table}")

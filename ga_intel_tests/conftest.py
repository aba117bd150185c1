"""Suite-wide fixtures: a real PostgreSQL and a throwaway ga-intel home.

The suite runs against the embedded PostgreSQL (the same server `make dev` uses on a
fresh machine) in a temporary GA_INTEL_HOME, never SQLite and never the developer's
`.ga_intel/`. Set GA_INTEL_TEST_DATABASE_URL to run it against another server instead;
a database of that name is then created and dropped.
"""

from __future__ import annotations

import os
import secrets
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

pytest_plugins = ["ga_intel_tests.servers.fixtures", "ga_intel_tests.helpers.fixtures"]

# Google's real GA4 sample (../shared/ga4-sample) is from 2020-11..2021-01; the daily
# partitions are defined at import, so widen them before any test module imports them.
os.environ.setdefault("GA_INTEL_PARTITION_START", "2020-11-01")
# Step retries of transient errors wait 30 s, 60 s, 120 s in production; seconds here.
os.environ.setdefault("GA_INTEL_RETRY_DELAY_SECONDS", "0.2")


LOCAL_NETWORKS = "127.0.0.0/8,::1/128"


@pytest.fixture(scope="session", autouse=True)
def ga_intel_home():
    """Isolate every test from the developer's own state and keys."""
    import shutil
    import tempfile
    from pathlib import Path

    from cryptography.fernet import Fernet

    # Not under pytest's tmp folder: pytest keeps that 0700, and as root the embedded
    # server runs as its own user, which must reach its data folder.
    home = Path(tempfile.mkdtemp(prefix="ga-intel-test-home-"))
    saved = {
        k: os.environ.get(k)
        for k in (
            "GA_INTEL_HOME",
            "GA_INTEL_SECRET_KEY",
            "GA_INTEL_DATABASE_URL",
            "GA_INTEL_DAGSTER_DATABASE_URL",
            "GA_INTEL_DEV_LOGIN",
            "GA_INTEL_ALLOWED_NETWORKS",
            "GA_INTEL_FOLDER_ROOT",
            "GA_INTEL_RUNTIME_DATABASE_URL",
        )
    }
    os.environ["GA_INTEL_HOME"] = str(home)
    # In-process AppTest dashboards stand for one bound to loopback, as `make dev` binds it
    # (the dev login refuses any other address).
    from streamlit import config as st_config

    st_config.set_option("server.address", "127.0.0.1")
    os.environ["GA_INTEL_SECRET_KEY"] = Fernet.generate_key().decode()
    for k in (
        "GA_INTEL_DATABASE_URL",
        "GA_INTEL_DAGSTER_DATABASE_URL",
        "GA_INTEL_DEV_LOGIN",
        "GA_INTEL_RUNTIME_DATABASE_URL",
    ):
        os.environ.pop(k, None)
    # Every test server (SMTP sink, sshd, BigQuery emulator, PostgreSQL) is on loopback,
    # which tenant connections may not reach in production: allow it here, explicitly.
    os.environ["GA_INTEL_ALLOWED_NETWORKS"] = LOCAL_NETWORKS
    # Named, not derived from the home: a command run with another home sees the same drops.
    os.environ["GA_INTEL_FOLDER_ROOT"] = str(home / "drop")
    yield home
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="session")
def platform_db(ga_intel_home):
    """A migrated platform database; yields its SQLAlchemy URL."""
    from ga_intel import crypto, settings
    from ga_intel.db import embedded, migrate
    from ga_intel.db.engine import dispose_all

    external = os.environ.get("GA_INTEL_TEST_DATABASE_URL")
    if external:
        base = settings.sqlalchemy_url(external)
        name = f"ga_intel_test_{uuid.uuid4().hex[:8]}"
        os.environ["GA_INTEL_DATABASE_URL"] = base.set(database=name).render_as_string(hide_password=False)
        # The runtime login `db upgrade` creates (and gives this password); cluster-wide, so
        # every run of the suite on that server re-sets it.
        os.environ["GA_INTEL_RUNTIME_DATABASE_URL"] = base.set(
            database=name,
            username="ga_intel_runtime",
            password=secrets.token_hex(16),
        ).render_as_string(hide_password=False)
    else:
        embedded.start()
    crypto.reset_keyring()
    migrate.upgrade()
    yield settings.database_urls().platform
    dispose_all()
    if external:
        admin = sa.create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            for db in (name, f"{name}_dagster"):
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
        admin.dispose()
        os.environ.pop("GA_INTEL_DATABASE_URL", None)
        os.environ.pop("GA_INTEL_RUNTIME_DATABASE_URL", None)
    else:
        embedded.stop()


def empty_platform() -> None:
    """Delete every tenant and all tenant data (the tables stay). As the owner: TRUNCATE
    is beyond row-level security, so the runtime login may not."""
    from ga_intel.db import placement
    from ga_intel.db.engine import owner_engine
    from ga_intel.tenancy.store import tenant_tables

    with owner_engine().begin() as conn:
        conn.execute(sa.text("TRUNCATE control.tenants CASCADE"))
        conn.execute(sa.text("DELETE FROM control.key_check"))
        # Encrypted under the previous test's key (secret_key gives each test its own).
        conn.execute(sa.text("DELETE FROM control.platform_secrets"))
        for table in tenant_tables(conn):
            conn.execute(sa.text(f'TRUNCATE tenant_data."{table}"'))
    placement.forget()


@pytest.fixture
def db(platform_db):
    """A platform database emptied of tenants and tenant data before the test."""
    empty_platform()
    return platform_db


@pytest.fixture
def secret_key(monkeypatch):
    """A fresh encryption key for this test (the keyring cache is reset around it)."""
    from cryptography.fernet import Fernet

    from ga_intel import crypto

    key = Fernet.generate_key().decode()
    monkeypatch.setenv("GA_INTEL_SECRET_KEY", key)
    crypto.reset_keyring()
    yield key
    crypto.reset_keyring()


SMTP_PASSWORD = "smtp-" + secrets.token_hex(8)
SA_PRIVATE_KEY_MARKER = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC" + secrets.token_hex(6)


def drop_folder(tenant_id: str) -> Path:
    """The tenant's drop folder under GA_INTEL_FOLDER_ROOT (the session home's `drop/`),
    created empty: the only place a folder source may read (tenancy/folders.py)."""
    import shutil

    from ga_intel.tenancy import folders

    path = folders.tenant_root(tenant_id)
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def tenant_data(tenant_id: str = "acme", folder: str | None = None, **overrides) -> dict:
    """A valid tenant, as a parsed tenant file would give it."""
    import json

    data = {
        "id": tenant_id,
        "name": f"{tenant_id.title()} Supply",
        "timezone": "America/Chicago",
        "bigquery": {
            "project_id": f"{tenant_id}-ga",
            "dataset_id": "analytics_123",
            "service_account": json.dumps(
                {
                    "type": "service_account",
                    "client_email": f"ga@{tenant_id}.iam.gserviceaccount.com",
                    "private_key": f"-----BEGIN PRIVATE KEY-----\n{SA_PRIVATE_KEY_MARKER}\n-----END PRIVATE KEY-----\n",
                    "token_uri": "https://oauth2.googleapis.com/token",
                }
            ),
        },
        "folder": {"path": folder},  # None: the tenant's drop folder
        "smtp": {
            "server": "127.0.0.1",
            "port": 2525,
            "user_name": "reports",
            "password": SMTP_PASSWORD,
            "from_name": "Reports",
            "from_address": f"reports@{tenant_id}.example",
        },
        "members": [{"email": f"admin@{tenant_id}.example", "role": "admin"}],
    }
    data.update(overrides)
    return data

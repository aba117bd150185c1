"""pytest fixtures for the real servers.

A test module imports the fixtures it uses by name (`from ga_intel_tests.servers.fixtures
import sshd, smtp_sink, smtp_sink_session, bigquery_emulator`), so it does not depend on
whichever conftest happens to register this module as a plugin. Servers start on first
use only, and once per session.
"""

from __future__ import annotations

import secrets

import pytest


@pytest.fixture(scope="session")
def sshd():
    import shutil
    import tempfile
    from pathlib import Path

    from ga_intel_tests.servers.sshd import Sshd

    # Not under pytest's tmp folder: that is 0700 root, and the SFTP user must reach it.
    workdir = Path(tempfile.mkdtemp(prefix="ga-intel-sshd-"))
    try:
        server = Sshd(workdir).start()
    except RuntimeError as exc:
        shutil.rmtree(workdir, ignore_errors=True)
        # A failure, not a skip: the SFTP tests are the only proof host-key pinning works.
        pytest.fail(str(exc), pytrace=False)
    yield server
    server.stop()
    shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="session")
def smtp_sink_session(tmp_path_factory):
    """One SMTP sink for the session (use `smtp_sink` in tests)."""
    from ga_intel.devservices.smtp_server import SmtpSink

    sink = SmtpSink(tmp_path_factory.mktemp("smtp"), user="reports", password="smtp-" + secrets.token_hex(8)).start()
    yield sink
    sink.stop()


@pytest.fixture
def smtp_sink(smtp_sink_session):
    """The session's SMTP server, emptied of messages and refusals for this test."""
    smtp_sink_session.clear()
    smtp_sink_session.reject.clear()
    yield smtp_sink_session
    smtp_sink_session.reject.clear()


@pytest.fixture(scope="session")
def bigquery_emulator(tmp_path_factory):
    from ga_intel.devservices.bigquery_emulator import BigQueryEmulator

    emulator = BigQueryEmulator("test-project", log_file=tmp_path_factory.mktemp("bq") / "emulator.log").start()
    yield emulator
    emulator.stop()


TENANT_DB_OWNER = "tenant_owner"
TENANT_DB_PASSWORD = "tenant-db-" + secrets.token_hex(8)


@pytest.fixture(scope="session")
def tenant_pg_server(ga_intel_home, platform_db):
    """A second real PostgreSQL (embedded, another folder and port) for tenants that keep
    their data in their own database. Its ga-intel login is like a managed server's admin:
    it may create databases and roles, and is no superuser. Yields a factory for the
    tenant file's `postgres` section of a database there."""
    import sqlalchemy as sa

    from ga_intel import settings
    from ga_intel.db import embedded

    where = settings.home() / "postgres-tenants"
    url = embedded.start(where)
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.execute(sa.text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": TENANT_DB_OWNER}).scalar():
            conn.execute(
                sa.text(f"CREATE ROLE {TENANT_DB_OWNER} LOGIN CREATEDB CREATEROLE PASSWORD '{TENANT_DB_PASSWORD}'")
            )
    admin.dispose()

    def section(database: str) -> dict:
        return {
            "host": "127.0.0.1",
            "port": url.port,
            "database": database,
            "username": TENANT_DB_OWNER,
            "password": TENANT_DB_PASSWORD,
            "sslmode": "disable",
        }

    section.url = url  # the server's superuser URL: tests look at rows behind ga-intel's back
    yield section
    from ga_intel.db.engine import dispose_all

    dispose_all()
    embedded.stop(where)

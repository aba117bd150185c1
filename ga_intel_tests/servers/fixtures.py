"""pytest fixtures for the real servers (loaded by conftest's pytest_plugins)."""

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
    server = Sshd(workdir).start()
    yield server
    server.stop()
    shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="session")
def _smtp_sink(tmp_path_factory):
    from ga_intel.devservices.smtp_server import SmtpSink

    sink = SmtpSink(tmp_path_factory.mktemp("smtp"), user="reports", password="smtp-" + secrets.token_hex(8)).start()
    yield sink
    sink.stop()


@pytest.fixture
def smtp_sink(_smtp_sink):
    """The session's SMTP server, emptied of messages and refusals for this test."""
    _smtp_sink.clear()
    _smtp_sink.reject.clear()
    yield _smtp_sink


@pytest.fixture(scope="session")
def bigquery_emulator(tmp_path_factory):
    from ga_intel.devservices.bigquery_emulator import BigQueryEmulator

    emulator = BigQueryEmulator("test-project", log_file=tmp_path_factory.mktemp("bq") / "emulator.log").start()
    yield emulator
    emulator.stop()

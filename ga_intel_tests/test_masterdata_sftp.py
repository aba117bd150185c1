"""Master data over a real OpenSSH sshd: login, host-key pinning, retries, through
`dagster.materialize` of the real asset into PostgreSQL."""

from __future__ import annotations

import time
from types import SimpleNamespace

import pytest

from ga_intel.errors import TenantFileError
from ga_intel.orchestration.run import failure_messages
from ga_intel_tests.helpers.masterdata import add_sftp_tenant, check_of, error_of, materialize, rows, sftp_tenant


def test_password_login_loads_users_locations_and_reps(db, secret_key, drop):
    add_sftp_tenant(drop)
    result = materialize("acme")
    assert result.success, failure_messages(result)
    users = rows("acme", "users", "user_id")
    assert [(u["user_id"], u["company_id"], u["branch_code"], u["is_active"]) for u in users] == [
        ("100001", "C1", "CHI", True),
        ("100002", "C2", "MKE", False),
    ]
    assert [loc["warehouse_code"] for loc in rows("acme", "locations")] == ["CHI", "MKE"]
    assert [(r["branch_code"], r["rep_email"], r["source"]) for r in rows("acme", "sales_reps")] == [
        ("CHI", "kara@x.example", "file")
    ]
    # Ben's branch has no rep: a warning, recorded as a (WARN) check result, not dropped.
    check = check_of(result)
    assert not check.passed and check.metadata["customers_without_rep"].value == 1
    assert "customer 100002 (row 3)" in check.metadata["examples"].value
    versions = rows("acme", "master_data_files", "kind")
    assert [(v["kind"], v["file_name"], v["rows_loaded"]) for v in versions] == [
        ("locations", "Locations_List.xlsx", 2),
        ("users", "UserReport.xlsx", 2),
    ]
    assert all(
        len(v["sha256"]) == 64
        and len(v["settings_sha256"]) == 64
        and v["size_bytes"] > 0
        and v["mtime"]
        and v["run_id"] == result.run_id
        for v in versions
    )


def test_key_login(db, secret_key, drop):
    add_sftp_tenant(drop, password=None, private_key=drop.client_private_key)
    result = materialize("acme")
    assert result.success, failure_messages(result)
    assert len(rows("acme", "users")) == 2


def test_wrong_password_fails_fast_and_changes_nothing(db, secret_key, drop):
    add_sftp_tenant(drop, password="wrong-password-1")
    started = time.monotonic()
    message = error_of(materialize("acme"))
    assert "authentication failed" in message and "wrong-password-1" not in message
    assert time.monotonic() - started < 20  # not retried: a password does not get better
    assert rows("acme", "users") == []


def test_wrong_host_key_is_refused(db, secret_key, drop):
    other = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOZlVwJ0yIAcMTUiJ4vH7kgkLHzKWPBpYPj7dWrQ6OeX"
    add_sftp_tenant(drop, host_key=other)
    message = error_of(materialize("acme"))
    assert "host key" in message
    assert rows("acme", "users") == []


def test_transient_errors_are_retried_then_fail_clearly(db, secret_key, drop, monkeypatch):
    waits = []
    monkeypatch.setattr("ga_intel.masterdata.load.BACKOFF_SECONDS", 0.5)
    monkeypatch.setattr("ga_intel.masterdata.load.time", SimpleNamespace(sleep=waits.append))
    add_sftp_tenant(drop, port=1)  # nothing listens: refused, a transient error
    message = error_of(materialize("acme"))
    assert "cannot connect" in message
    # every connection it tried backed off 0.5 s, then 1 s, between its 3 attempts, then gave up
    assert waits and waits == [0.5, 1.0] * (len(waits) // 2)


@pytest.mark.parametrize("name", ["../UserReport.xlsx", "/etc/passwd", "sub/UserReport.xlsx"])
def test_file_names_cannot_leave_remote_path(db, secret_key, drop, name):
    with pytest.raises(TenantFileError):
        sftp_tenant(drop, user_file=name)

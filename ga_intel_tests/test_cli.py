"""The `ga-intel` CLI: tenant commands, clear errors, and never a secret in any output."""

from __future__ import annotations

import os
import subprocess

import pytest
import yaml
from click.testing import CliRunner

from ga_intel.cli import main
from ga_intel_tests.conftest import SA_PRIVATE_KEY_MARKER, SMTP_PASSWORD, drop_folder, tenant_data

SECRETS = (SMTP_PASSWORD, SA_PRIVATE_KEY_MARKER)


@pytest.fixture
def run(db, secret_key):
    outputs: list[str] = []

    def invoke(*args, input=None):
        result = CliRunner().invoke(main, list(args), input=input, catch_exceptions=False)
        outputs.append(result.output + (result.stderr if result.stderr_bytes is not None else ""))
        return result

    yield invoke
    for out in outputs:
        for secret in SECRETS:
            assert secret not in out


@pytest.fixture
def tenant_yaml(tmp_path, monkeypatch):
    monkeypatch.setenv("ACME_SMTP_PASSWORD", SMTP_PASSWORD)
    data = tenant_data(folder=str(drop_folder("acme")))
    data["smtp"]["password"] = "${ACME_SMTP_PASSWORD}"
    path = tmp_path / "tenant.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_tenant_lifecycle(run, tenant_yaml, tmp_path):
    (tmp_path / "UserReport.xlsx").write_bytes(b"x")
    (tmp_path / "Locations_List.xlsx").write_bytes(b"x")
    assert "no tenants yet" in run("tenant", "list").output
    result = run("tenant", "add", str(tenant_yaml))
    assert result.exit_code == 0, result.output
    assert "added tenant 'acme'" in result.output

    listed = run("tenant", "list").output
    assert "acme" in listed and "bigquery,folder,smtp" in listed

    shown = run("tenant", "show", "acme").output
    assert "password: ••••••••" in shown and "service_account: ••••••••" in shown

    again = run("tenant", "add", str(tenant_yaml))
    assert again.exit_code == 2 and "already exists" in again.output

    checked = run("tenant", "check", "acme")
    assert "folder" in checked.output and "smtp" in checked.output and "bigquery" in checked.output
    assert checked.exit_code == 1  # nothing listens on the BigQuery or SMTP settings here

    assert run("tenant", "remove", "acme", input="n\n").exit_code == 1
    assert "acme" in run("tenant", "list").output
    removed = run("tenant", "remove", "acme", "--yes")
    assert removed.exit_code == 0 and "removed tenant 'acme'" in removed.output
    assert run("tenant", "remove", "acme", "--yes").exit_code == 2


def test_invalid_file_reports_every_problem(run, tmp_path):
    data = tenant_data(folder=str(drop_folder("acme")))
    data["smtp"]["port"] = "x"
    data["bigquery"]["service_account"] = "{broken"
    data["extra"] = 1
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data))
    result = run("tenant", "add", str(path))
    assert result.exit_code == 2
    for field in ("smtp.port", "bigquery:", "extra:"):
        assert field in result.output
    assert "nothing was written" in result.output
    assert "no tenants yet" in run("tenant", "list").output


def test_key_rotation_command(run, tenant_yaml, monkeypatch, secret_key):
    run("tenant", "add", str(tenant_yaml))
    result = run("keys", "rotate")
    assert result.exit_code == 2 and "holds one key" in result.output
    new = run("keys", "generate").output.strip()
    monkeypatch.setenv("GA_INTEL_SECRET_KEY", f"{new},{secret_key}")
    from ga_intel import crypto

    crypto.reset_keyring()
    result = run("keys", "rotate")
    assert result.exit_code == 0 and "re-encrypted 2" in result.output


def test_no_plaintext_secret_in_a_database_dump(run, tenant_yaml, platform_db):
    run("tenant", "add", str(tenant_yaml))
    from ga_intel.db.embedded import _bin

    url = platform_db
    env = dict(os.environ, PGPASSWORD=url.password or "")
    dump = subprocess.run(
        [_bin("pg_dump"), "-h", url.host, "-p", str(url.port), "-U", url.username, "-d", url.database],
        capture_output=True, text=True, env=env, check=True,
    ).stdout
    assert "control.tenant_settings" in dump and "acme" in dump
    for secret in SECRETS:
        assert secret not in dump


def test_command_as_a_subprocess_starts_and_stops_the_embedded_server(tmp_path, tenant_yaml):
    """What a user runs: a fresh home, no server running; the command brings it up and down."""
    import tempfile

    # Outside pytest's 0700 tmp folder: the embedded server's own user must reach it.
    home = tempfile.mkdtemp(prefix="ga-intel-cli-home-")
    env = dict(os.environ, GA_INTEL_HOME=home)
    env.pop("GA_INTEL_SECRET_KEY", None)
    ga = [os.path.join(os.path.dirname(os.sys.executable), "ga-intel")]
    added = subprocess.run(ga + ["tenant", "add", str(tenant_yaml)], capture_output=True, text=True, env=env)
    assert added.returncode == 0, added.stderr
    assert os.stat(os.path.join(home, "secret.key")).st_mode & 0o777 == 0o600
    listed = subprocess.run(ga + ["tenant", "list"], capture_output=True, text=True, env=env)
    assert "acme" in listed.stdout
    status = subprocess.run(ga + ["db", "stop"], capture_output=True, text=True, env=env)
    assert status.stdout.strip() == "not running"  # each command stopped the server it started
    for out in (added.stdout, added.stderr, listed.stdout, listed.stderr):
        assert SMTP_PASSWORD not in out
    import shutil

    shutil.rmtree(home, ignore_errors=True)

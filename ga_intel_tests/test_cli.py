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
        capture_output=True,
        text=True,
        env=env,
        check=True,
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


# --- master data from the command line, then `run` --------------------------------------


def test_masterdata_load_shows_progress_and_what_changed(run, drop):
    from ga_intel_tests.helpers.masterdata import LOC_HEADER, LOCS, USER_HEADER, add_sftp_tenant, xlsx

    add_sftp_tenant(drop)
    first = run("masterdata", "load", "--tenant", "acme")
    assert first.exit_code == 0, first.output
    out = first.output
    assert "fetching UserReport.xlsx" in out and "sftp" in out and "checking 2 customer(s) and 2 branch(es)" in out
    assert "customers  2 added, 0 updated, 0 removed (2 now)" in out
    assert "branches   2 added, 0 updated, 0 removed (2 now)" in out
    assert "reps       1 added, 0 updated, 0 removed (1 now)" in out
    assert "1 customer(s) have no sales rep" in out  # MKE has none

    again = run("masterdata", "load", "--tenant", "acme").output
    assert "unchanged since the last load; nothing to do" in again

    # Ben renamed, Ava gone, Cleo new; MKE gets a rep, Kara's name changes.
    drop.put(
        "UserReport.xlsx",
        xlsx(
            USER_HEADER,
            [
                ["100002", "Benjamin", "Diaz", "ben@c.example", "C2", "Diaz HVAC", "MKE", "N"],
                ["100003", "Cleo", "Ng", "cleo@c.example", "C3", "Ng Electric", "CHI", "Y"],
            ],
        ),
    )
    drop.put(
        "Locations_List.xlsx",
        xlsx(LOC_HEADER, [LOCS[0][:5] + ["Kara E.", "kara@x.example"], LOCS[1][:5] + ["Moe", "moe@x.example"]]),
    )
    changed = run("masterdata", "load", "--tenant", "acme").output
    assert "customers  1 added, 1 updated, 1 removed (2 now)" in changed
    assert "branches   0 added, 2 updated, 0 removed (2 now)" in changed  # the rep columns changed
    assert "reps       1 added, 1 updated, 0 removed (2 now)" in changed
    assert "no sales rep" not in changed

    forced = run("masterdata", "load", "--tenant", "acme", "--force").output
    assert "customers  0 added, 0 updated, 0 removed (2 now)" in forced

    drop.put("UserReport.xlsx", b"not a spreadsheet")
    bad = run("masterdata", "load", "--tenant", "acme")
    assert bad.exit_code == 1 and "not an xlsx file" in bad.output and "previous master data stays" in bad.output


def test_run_loads_master_data_first_then_only_when_the_files_change(run, bigquery_emulator, tmp_path, monkeypatch):
    """What a new user does: add a tenant, `ga-intel run` it, and get tasks."""
    import datetime as dt

    from ga_intel_tests.helpers.export import Export
    from ga_intel_tests.helpers.masterdata import USER_HEADER, xlsx
    from ga_intel_tests.helpers.scenario import ScenarioTenant, customer

    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster-home"))
    (tmp_path / "dagster-home").mkdir()
    day = dt.date.today() - dt.timedelta(days=3)
    pete = customer("2005", "PF", first="Pete")
    export = Export("America/Chicago")
    export.visit(dt.datetime.combine(day, dt.time(9)), customer=pete).purchase("T-P", [("SKU-P", 3, 400.0)])
    tenant = ScenarioTenant(
        "firsthour",
        export,
        bigquery_emulator,
        tmp_path,
        branches=["PF"],
        customers=[pete],
        reps={"PF": "Lee"},
        load_master_data=False,
    )
    tenant.load(export, tmp_path)

    first = tenant.run(day)
    assert "firsthour: master data was never loaded; loading it first" in first
    assert "customers  1 added" in first
    assert [t["task_type"] for t in tenant.tasks().values()] == ["purchase_followup"]

    second = tenant.run(day)
    assert "loading it first" not in second

    (tenant.folder / "UserReport.xlsx").write_bytes(
        xlsx(
            USER_HEADER,
            [
                ["2005", "Pete", "Fox", "2005@customer.example", "C-2005", "Fox Co", "PF", "Y"],
                ["2006", "Sam", "Fox", "2006@customer.example", "C-2006", "Fox Co", "PF", "Y"],
            ],
        )
    )
    third = tenant.run(day)
    assert "UserReport.xlsx changed since the last load; loading it first" in third
    assert "customers  1 added, 1 updated, 0 removed (2 now)" in third


def test_masterdata_load_then_run_gives_tasks(run, bigquery_emulator, tmp_path, monkeypatch):
    import datetime as dt

    from ga_intel_tests.helpers.export import Export
    from ga_intel_tests.helpers.scenario import ScenarioTenant, customer

    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster-home"))
    (tmp_path / "dagster-home").mkdir()
    day = dt.date.today() - dt.timedelta(days=3)
    pete = customer("2005", "PF", first="Pete")
    export = Export("America/Chicago")
    export.visit(dt.datetime.combine(day, dt.time(9)), customer=pete).purchase("T-P", [("SKU-P", 3, 400.0)])
    tenant = ScenarioTenant(
        "explicit",
        export,
        bigquery_emulator,
        tmp_path,
        branches=["PF"],
        customers=[pete],
        reps={"PF": "Lee"},
        load_master_data=False,
    )
    tenant.load(export, tmp_path)
    loaded = tenant.cli("masterdata", "load", "--tenant", "explicit")
    assert "explicit: master data loaded" in loaded and "folder" in loaded
    out = tenant.run(day)
    assert "loading it first" not in out
    [(key, task)] = tenant.tasks().items()
    assert (key, task["task_type"]) == ("purchase:T-P", "purchase_followup")


def test_run_before_the_partition_start_says_how_to_set_it(run, tenant_yaml):
    import datetime as dt

    from ga_intel.orchestration.partitions import PARTITION_START

    assert run("tenant", "add", str(tenant_yaml)).exit_code == 0
    result = run("run", "--tenant", "acme", "--date", "2019-12-01", "--to", "2019-12-03")
    assert result.exit_code == 2
    assert f"--date 2019-12-01 is before GA_INTEL_PARTITION_START ({PARTITION_START})" in result.output
    assert "hint: set GA_INTEL_PARTITION_START=2019-12-01" in result.output
    assert "DagsterUnknownPartitionError" not in result.output and "master data" not in result.output
    future = (dt.date.today() + dt.timedelta(days=3)).isoformat()
    result = run("run", "--tenant", "acme", "--date", future)
    assert result.exit_code == 2 and f"--date {future} is after today" in result.output

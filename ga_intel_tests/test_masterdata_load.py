"""Master-data change tracking, rep seeding and editing, the local folder source, the
demo files and size: the real asset through `dagster.materialize` into PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from ga_intel.cli import main
from ga_intel.db import tenant_scope
from ga_intel.demo import master_data as demo
from ga_intel.demo.generator import generate_day
from ga_intel.demo.population import population
from ga_intel.masterdata import reps
from ga_intel.orchestration.run import failure_messages
from ga_intel.tenancy import store, tenant_file
from ga_intel_tests.conftest import drop_folder, tenant_data
from ga_intel_tests.helpers.masterdata import (
    LOC_HEADER,
    LOCS,
    USER_HEADER,
    USERS,
    add_sftp_tenant,
    check_of,
    materialize,
    rows,
    xlsx,
)


def test_same_checksum_is_a_no_op_and_a_change_replaces(db, secret_key, drop):
    add_sftp_tenant(drop)
    assert materialize("acme").success
    first = rows("acme", "master_data_files", "kind")
    again = materialize("acme")
    assert again.success
    assert rows("acme", "master_data_files", "kind") == first  # no new version recorded
    assert again.asset_materializations_for_node("master_data")[0].metadata["unchanged"].value is True
    drop.put("UserReport.xlsx", xlsx(USER_HEADER, USERS[:1]))
    assert materialize("acme").success
    assert [u["user_id"] for u in rows("acme", "users")] == ["100001"]
    versions = rows("acme", "master_data_files", "loaded_at, kind")
    assert len(versions) == 4
    # The locations list did not change; it is recorded again with the same checksum.
    assert versions[2]["sha256"] == versions[0]["sha256"] and versions[3]["sha256"] != versions[1]["sha256"]


def test_a_changed_column_mapping_reloads_unchanged_files(db, secret_key, drop):
    add_sftp_tenant(drop)
    assert materialize("acme").success
    assert {u["first_name"] for u in rows("acme", "users")} == {"Ava", "Ben"}
    # Same bytes, new mapping: first_name now comes from the last_name column.
    store.update_section(
        "acme", "master_data", {"user_columns": {"first_name": "last_name", "last_name": "first_name"}}
    )
    assert materialize("acme").success
    assert {u["first_name"] for u in rows("acme", "users")} == {"Chen", "Diaz"}
    assert len(rows("acme", "master_data_files")) == 4


def test_force_reloads_unchanged_files(db, secret_key, drop):
    add_sftp_tenant(drop)
    assert materialize("acme").success
    assert materialize("acme", force=True).success
    assert len(rows("acme", "master_data_files")) == 4


def test_manual_reps_survive_a_reload_and_count_for_the_check(db, secret_key, drop):
    add_sftp_tenant(drop)
    assert not check_of(materialize("acme")).passed  # MKE has no rep
    reps.set_rep("acme", "MKE", "Rita@X.example", "Rita Reyes")
    reps.set_rep("acme", "CHI", "kara@x.example", "Kara (edited)", enabled=False)
    # Unchanged files: a no-op, but the check reports the current state (Rita covers MKE,
    # Kara is disabled so CHI's Ava is uncovered now).
    check = check_of(materialize("acme"))
    assert not check.passed and check.metadata["customers_without_rep"].value == 1
    assert "customer 100001" in check.metadata["examples"].value
    # A new file version that still names Kara for CHI, and a new rep for MKE.
    drop.put("Locations_List.xlsx", xlsx(LOC_HEADER, [LOCS[0], LOCS[1][:5] + ["Moe", "moe@x.example"]]))
    assert materialize("acme").success
    got = {
        (r["branch_code"], r["rep_email"]): (r["rep_name"], r["enabled"], r["source"])
        for r in rows("acme", "sales_reps")
    }
    assert got == {
        ("CHI", "kara@x.example"): ("Kara (edited)", False, "manual"),
        ("MKE", "rita@x.example"): ("Rita Reyes", True, "manual"),
        ("MKE", "moe@x.example"): ("Moe", True, "file"),
    }
    # A file rep that leaves the file goes; manual rows stay.
    drop.put("Locations_List.xlsx", xlsx(LOC_HEADER, LOCS))
    assert materialize("acme").success
    assert {(r["branch_code"], r["rep_email"]) for r in rows("acme", "sales_reps")} == {
        ("CHI", "kara@x.example"),
        ("MKE", "rita@x.example"),
    }


def test_reps_commands(db, secret_key, drop):
    add_sftp_tenant(drop)
    assert materialize("acme").success

    def cli(*args):
        return CliRunner().invoke(main, ["reps", *args], catch_exceptions=False)

    out = cli("set", "--tenant", "acme", "--branch", "MKE", "--email", "Rita@X.example", "--name", "Rita Reyes")
    assert out.exit_code == 0, out.output
    out = cli("set", "--tenant", "acme", "--branch", "CHI", "--email", "kara@x.example", "--name", "Kara", "--disabled")
    assert out.exit_code == 0, out.output
    listed = cli("list", "--tenant", "acme").output
    assert "rita@x.example" in listed and "Kara" in listed and "(disabled)" in listed and "manual" in listed
    bad = cli("set", "--tenant", "acme", "--branch", "MKE", "--email", "not-an-email", "--name", "X")
    assert bad.exit_code == 2 and "not a valid email" in bad.output
    unknown = cli("set", "--tenant", "acme", "--branch", "STL", "--email", "s@x.example", "--name", "S")
    assert unknown.exit_code == 2 and "not in tenant 'acme'" in unknown.output
    assert cli("remove", "--tenant", "acme", "--branch", "MKE", "--email", "RITA@x.example").exit_code == 0
    missing = cli("remove", "--tenant", "acme", "--branch", "MKE", "--email", "rita@x.example")
    assert missing.exit_code == 2 and "no rep rita@x.example" in missing.output
    assert cli("list", "--tenant", "nobody").exit_code == 2


def test_demo_files_match_the_synthetic_ga4_data(db, secret_key, tmp_path):
    demo.write_files(drop_folder("demo"))
    store.add(tenant_file.validate(tenant_data("demo"), "test"))
    result = materialize("demo")
    assert result.success, failure_messages(result)
    assert check_of(result).passed  # every demo branch has its rep
    with tenant_scope("demo") as conn:
        users = set(conn.execute(sa.text("SELECT user_id FROM tenant_data.users")).scalars())
        companies = set(conn.execute(sa.text("SELECT company_id FROM tenant_data.users")).scalars())
        branches = set(conn.execute(sa.text("SELECT warehouse_code FROM tenant_data.locations")).scalars())
        mapped = set(conn.execute(sa.text("SELECT branch_code, rep_email FROM tenant_data.sales_reps")).all())
    people = population()
    assert mapped == {(b.code, b.rep_email) for b in people.branches}
    seen = 0
    for event in generate_day(dt.date(2026, 11, 2), events=400):
        props = {p["key"]: p["value"]["string_value"] for p in event["user_properties"]}
        if props:
            seen += 1
            assert props["webuserid"] in users and props["webcustomerid"] in companies
            assert props["default_branch_id"] in branches
    assert seen > 0


@pytest.mark.parametrize("rows_wanted", [50_000])
def test_local_folder_source_with_50k_rows(db, secret_key, tmp_path, rows_wanted):
    demo.write_files(drop_folder("big"), extra_customers=rows_wanted)
    store.add(tenant_file.validate(tenant_data("big"), "test"))
    result = materialize("big")  # its speed is measured by `ga-intel bench masterdata`, not here
    assert result.success, failure_messages(result)
    with tenant_scope("big") as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM tenant_data.users")).scalar() > rows_wanted
        assert conn.execute(sa.text("SELECT count(*) FROM tenant_data.sales_reps")).scalar() == 5


def test_masterdata_demo_command_writes_both_files(tmp_path):
    out = CliRunner().invoke(main, ["masterdata", "demo", str(tmp_path / "drop")], catch_exceptions=False)
    assert out.exit_code == 0, out.output
    assert sorted(p.name for p in (tmp_path / "drop").iterdir()) == ["Locations_List.xlsx", "UserReport.xlsx"]

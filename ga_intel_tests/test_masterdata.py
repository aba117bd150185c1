"""Master data from xlsx files over a real OpenSSH sshd (and a local folder), through
`dagster.materialize` of the real asset into PostgreSQL."""

from __future__ import annotations

import io
import time

import dagster as dg
import pytest
import sqlalchemy as sa
from openpyxl import Workbook

from ga_intel.db import tenant_scope
from ga_intel.masterdata import demo, reps
from ga_intel.masterdata.assets import master_data
from ga_intel.orchestration.resources import build_resources
from ga_intel.orchestration.run import failure_messages
from ga_intel.tenancy import store, tenant_file
from ga_intel_tests.conftest import tenant_data

LOC_HEADER = ["warehouse_id", "warehouse_code", "warehouse_name", "city", "email", "sales_rep_name", "sales_rep_email"]
LOCS = [[1, "CHI", "Chicago", "Chicago", "chi@x.example", "Kara Evans", "kara@x.example"],
        [2, "MKE", "Milwaukee", "Milwaukee", "mke@x.example", None, None]]
USER_HEADER = ["user_id", "first_name", "last_name", "email", "cimm_buying_company_id", "buying_company_name",
               "warehouse_code", "is_active"]
USERS = [["100001", "Ava", "Chen", "ava@c.example", "C1", "Chen Plumbing", "CHI", "Y"],
         ["100002", "Ben", "Diaz", "ben@c.example", "C2", "Diaz HVAC", "MKE", "N"]]


def xlsx(header, rows, blank_rows_before=0) -> bytes:
    wb = Workbook()
    ws = wb.active
    for _ in range(blank_rows_before):
        ws.append([])
    ws.append(header)
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


@pytest.fixture
def drop(sshd):
    sshd.clear()
    sshd.put("UserReport.xlsx", xlsx(USER_HEADER, USERS))
    sshd.put("Locations_List.xlsx", xlsx(LOC_HEADER, LOCS))
    return sshd


def add_sftp_tenant(sshd, tenant_id="acme", **sftp):
    data = tenant_data(tenant_id)
    del data["folder"]
    data["sftp"] = sshd.settings(**sftp)
    store.add(tenant_file.validate(data, "test"))


def materialize(tenant_id):
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("tenant", [tenant_id])
        return dg.materialize([master_data], instance=instance, resources=build_resources(), partition_key=tenant_id,
                              raise_on_error=False)


def rows(tenant_id, table, order="1"):
    with tenant_scope(tenant_id) as conn:
        return [dict(r) for r in conn.execute(sa.text(f"SELECT * FROM tenant_data.{table} ORDER BY {order}")).mappings()]


def error_of(result) -> str:
    assert not result.success
    return "\n".join(failure_messages(result))


def test_password_login_loads_users_locations_and_reps(db, secret_key, drop):
    add_sftp_tenant(drop)
    result = materialize("acme")
    assert result.success, failure_messages(result)
    users = rows("acme", "users", "user_id")
    assert [(u["user_id"], u["company_id"], u["branch_code"], u["is_active"]) for u in users] == \
        [("100001", "C1", "CHI", True), ("100002", "C2", "MKE", False)]
    assert [l["warehouse_code"] for l in rows("acme", "locations")] == ["CHI", "MKE"]
    assert [(r["branch_code"], r["rep_email"], r["source"]) for r in rows("acme", "sales_reps")] == \
        [("CHI", "kara@x.example", "file")]
    # Ben's branch has no rep: a warning, recorded as a (WARN) check result, not dropped.
    [check] = result.get_asset_check_evaluations()
    assert check.check_name == "customers_have_a_rep" and not check.passed
    assert check.metadata["customers_without_rep"].value == 1
    versions = rows("acme", "master_data_files", "kind")
    assert [(v["kind"], v["file_name"], v["rows_loaded"]) for v in versions] == \
        [("locations", "Locations_List.xlsx", 2), ("users", "UserReport.xlsx", 2)]
    assert all(len(v["sha256"]) == 64 and v["size_bytes"] > 0 and v["mtime"] for v in versions)


def test_same_checksum_is_a_no_op_and_a_change_replaces(db, secret_key, drop):
    add_sftp_tenant(drop)
    assert materialize("acme").success
    again = materialize("acme")
    assert again.success
    assert len(rows("acme", "master_data_files")) == 2  # no new version recorded
    drop.put("UserReport.xlsx", xlsx(USER_HEADER, USERS[:1]))
    assert materialize("acme").success
    assert [u["user_id"] for u in rows("acme", "users")] == ["100001"]
    assert len(rows("acme", "master_data_files")) == 4


def test_key_login(db, secret_key, drop):
    add_sftp_tenant(drop, password=None, private_key=drop.client_private_key)
    assert materialize("acme").success


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
    assert "host key" in error_of(materialize("acme"))


@pytest.mark.parametrize(
    "users_file, expected",
    [
        (None, "UserReport.xlsx not found"),
        (b"", "UserReport.xlsx is empty"),
        (b"user_id,warehouse_code\n1,CHI\n", "is not an xlsx file"),
        (xlsx(["first_name", "warehouse_code"], [["Ava", "CHI"]]), "column 'user_id': required column is missing"),
        (xlsx(USER_HEADER, USERS + [USERS[0]]), "row 4, column 'user_id': id '100001' repeats row 2"),
        (xlsx(USER_HEADER, [["100003", "C", "D", "c@c.example", "C3", "X", "STL", "Y"]]),
         "row 2, column 'warehouse_code': branch 'STL' is not in the locations list"),
        (xlsx(USER_HEADER, [["100003", "C", "D", "not-an-email", "C3", "X", "CHI", "Y"]]),
         "row 2, column 'email': 'not-an-email' is not a valid email address"),
        (xlsx(USER_HEADER, [[None, "C", "D", "c@c.example", "C3", "X", "CHI", "Y"]]), "row 2, column 'user_id': id is empty"),
        (xlsx(USER_HEADER, []), "holds a header but no rows"),
    ],
)
def test_bad_files_fail_with_file_row_and_column_and_keep_previous_data(db, secret_key, drop, users_file, expected):
    add_sftp_tenant(drop)
    assert materialize("acme").success
    before = rows("acme", "users", "user_id")
    if users_file is None:
        (drop.root / "UserReport.xlsx").unlink()
    else:
        drop.put("UserReport.xlsx", users_file)
    message = error_of(materialize("acme"))
    assert expected in message, message
    assert rows("acme", "users", "user_id") == before


def test_header_variations_are_absorbed(db, secret_key, drop):
    header = ["  WAREHOUSE_CODE ", "Extra Column", "Email", "User_ID", "cimm_buying_company_id"]
    data = [["CHI", "x", "ava@c.example", 100001, "C1"], [None, None, None, None, None], ["MKE", "y", None, 100002, "C2"]]
    drop.put("UserReport.xlsx", xlsx(header, data, blank_rows_before=2))
    add_sftp_tenant(drop)
    result = materialize("acme")
    assert result.success, failure_messages(result)
    assert [(u["user_id"], u["branch_code"], u["source_row"]) for u in rows("acme", "users", "user_id")] == \
        [("100001", "CHI", 4), ("100002", "MKE", 6)]


def test_column_mapping_is_a_tenant_setting(db, secret_key, drop):
    drop.put("UserReport.xlsx", xlsx(["Web User", "Branch"], [["100001", "CHI"]]))
    data = tenant_data("mapped")
    del data["folder"]
    data["sftp"] = drop.settings()
    data["master_data"] = {"user_columns": {"user_id": "Web User", "branch_code": "Branch"}}
    store.add(tenant_file.validate(data, "test"))
    assert materialize("mapped").success
    assert [u["user_id"] for u in rows("mapped", "users")] == ["100001"]


def test_manual_reps_survive_a_reload(db, secret_key, drop):
    add_sftp_tenant(drop)
    assert materialize("acme").success
    reps.set_rep("acme", "MKE", "Rita@X.example", "Rita Reyes")
    reps.set_rep("acme", "CHI", "kara@x.example", "Kara (edited)", enabled=False)
    drop.put("Locations_List.xlsx", xlsx(LOC_HEADER, [LOCS[0][:5] + ["Kara Evans", "kara@x.example"], LOCS[1]]) + b"")
    drop.put("UserReport.xlsx", xlsx(USER_HEADER, USERS[::-1]))  # a new version
    assert materialize("acme").success
    got = {(r["branch_code"], r["rep_email"]): (r["rep_name"], r["enabled"], r["source"]) for r in rows("acme", "sales_reps")}
    assert got == {("CHI", "kara@x.example"): ("Kara (edited)", False, "manual"),
                   ("MKE", "rita@x.example"): ("Rita Reyes", True, "manual")}


def test_folder_source_and_50k_rows(db, secret_key, tmp_path):
    demo.write_files(tmp_path, extra_customers=50_000)
    store.add(tenant_file.validate(tenant_data("big", folder=str(tmp_path)), "test"))
    result = materialize("big")
    assert result.success, failure_messages(result)
    with tenant_scope("big") as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM tenant_data.users")).scalar() > 50_000
        assert conn.execute(sa.text("SELECT count(*) FROM tenant_data.sales_reps")).scalar() == 5


def test_transient_errors_are_retried_then_fail_clearly(db, secret_key, drop, monkeypatch):
    monkeypatch.setattr("ga_intel.masterdata.load.BACKOFF_SECONDS", 0.1)
    add_sftp_tenant(drop, port=1)  # nothing listens: refused, a transient error
    message = error_of(materialize("acme"))
    assert "cannot connect" in message

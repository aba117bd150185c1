"""Master-data validation: every bad file fails the run with a report naming file, row and
column, and the previous master data stays; header variations are absorbed."""

from __future__ import annotations

import pytest

from ga_intel.orchestration.run import failure_messages
from ga_intel_tests.helpers.masterdata import (
    LOC_HEADER,
    LOCS,
    USER_HEADER,
    USERS,
    add_sftp_tenant,
    error_of,
    materialize,
    rows,
    xlsx,
)


@pytest.mark.parametrize(
    "users_file, expected",
    [
        (None, "UserReport.xlsx not found"),
        (b"", "UserReport.xlsx is empty"),
        (b"user_id,warehouse_code\n1,CHI\n", "is not an xlsx file"),
        (b"PK\x03\x04 truncated upload", "cannot be read as xlsx"),
        (xlsx(["first_name", "warehouse_code"], [["Ava", "CHI"]]), "column 'user_id': required column is missing"),
        (xlsx(USER_HEADER, USERS + [USERS[0]]), "row 4, column 'user_id': id '100001' repeats row 2"),
        (
            xlsx(USER_HEADER, [["100003", "C", "D", "c@c.example", "C3", "X", "STL", "Y"]]),
            "row 2, column 'warehouse_code': branch 'STL' is not in the locations list",
        ),
        (
            xlsx(USER_HEADER, [["100003", "C", "D", "not-an-email", "C3", "X", "CHI", "Y"]]),
            "row 2, column 'email': 'not-an-email' is not a valid email address",
        ),
        (
            xlsx(USER_HEADER, [[None, "C", "D", "c@c.example", "C3", "X", "CHI", "Y"]]),
            "row 2, column 'user_id': id is empty",
        ),
        (xlsx(USER_HEADER, []), "holds a header but no rows"),
    ],
)
def test_bad_user_report_fails_with_file_row_and_column_and_keeps_previous_data(
    db, secret_key, drop, users_file, expected
):
    add_sftp_tenant(drop)
    assert materialize("acme").success
    before = (
        rows("acme", "users", "user_id"),
        rows("acme", "locations", "warehouse_code"),
        rows("acme", "master_data_files", "kind"),
    )
    if users_file is None:
        (drop.root / "UserReport.xlsx").unlink()
    else:
        drop.put("UserReport.xlsx", users_file)
    message = error_of(materialize("acme"))
    assert expected in message, message
    assert "UserReport.xlsx" in message
    after = (
        rows("acme", "users", "user_id"),
        rows("acme", "locations", "warehouse_code"),
        rows("acme", "master_data_files", "kind"),
    )
    assert after == before


@pytest.mark.parametrize(
    "locations_file, expected",
    [
        (
            xlsx(LOC_HEADER, LOCS + [LOCS[1]]),
            "Locations_List.xlsx row 4, column 'warehouse_code': id 'MKE' repeats row 3",
        ),
        (
            xlsx(["warehouse_code", "city"], [["CHI", "Chicago"]]),
            "Locations_List.xlsx row 1, column 'warehouse_name': required column is missing",
        ),
        (
            xlsx(LOC_HEADER, [LOCS[0][:6] + ["kara at x"], LOCS[1]]),
            "Locations_List.xlsx row 2, column 'sales_rep_email': 'kara at x' is not a valid email address",
        ),
        # Chicago gone: Ava's branch no longer exists.
        (xlsx(LOC_HEADER, [LOCS[1]]), "UserReport.xlsx row 2, column 'warehouse_code': branch 'CHI' is not"),
    ],
)
def test_bad_locations_list(db, secret_key, drop, locations_file, expected):
    add_sftp_tenant(drop)
    drop.put("Locations_List.xlsx", locations_file)
    message = error_of(materialize("acme"))
    assert expected in message, message
    assert rows("acme", "users") == [] and rows("acme", "sales_reps") == []


def test_all_problems_are_reported_at_once(db, secret_key, drop):
    bad = [["", "A", "B", "bad-email", "C1", "X", "CHI", "maybe"], ["100009", "C", "D", None, "C2", "X", "NOPE", "Y"]]
    drop.put("UserReport.xlsx", xlsx(USER_HEADER, bad))
    add_sftp_tenant(drop)
    message = error_of(materialize("acme"))
    assert "4 problem(s)" in message, message
    for part in (
        "row 2, column 'email'",
        "row 2, column 'is_active'",
        "row 2, column 'user_id': id is empty",
        "row 3, column 'warehouse_code': branch 'NOPE'",
    ):
        assert part in message, message


def test_header_variations_are_absorbed(db, secret_key, drop):
    # Case, surrounding/inner spaces, order, extra columns, blank rows above and between.
    header = ["  WAREHOUSE_CODE ", "Extra Column", "Email", "User_ID", " cimm_buying_company_id", "First  Name"]
    data = [
        ["CHI", "x", "Ava@C.example ", 100001, "C1", "Ava"],
        [None, None, None, None, None, None],
        ["MKE", "y", None, 100002, "C2", None],
    ]
    drop.put("UserReport.xlsx", xlsx(header, data, blank_rows_before=2))
    add_sftp_tenant(drop)
    result = materialize("acme")
    assert result.success, failure_messages(result)
    got = [
        (u["user_id"], u["branch_code"], u["email"], u["company_id"], u["first_name"], u["source_row"])
        for u in rows("acme", "users", "user_id")
    ]
    assert got == [("100001", "CHI", "ava@c.example", "C1", "Ava", 4), ("100002", "MKE", None, "C2", None, 6)]
    users = next(m for m in result.asset_materializations_for_node("master_data") if m.asset_key.path == ["users"])
    assert users.metadata["ignored_columns"].value == "Extra Column"  # shown, not silently dropped


def test_column_mapping_is_a_tenant_setting(db, secret_key, drop):
    drop.put("UserReport.xlsx", xlsx(["Web User", "Branch"], [["100001", "CHI"]]))
    add_sftp_tenant(
        drop, "mapped", master_data_settings={"user_columns": {"user_id": "Web User", "branch_code": "Branch"}}
    )
    result = materialize("mapped")
    assert result.success, failure_messages(result)
    assert [u["user_id"] for u in rows("mapped", "users")] == ["100001"]


def test_a_mapped_header_that_is_missing_names_the_mapped_header(db, secret_key, drop):
    add_sftp_tenant(drop, "mapped", master_data_settings={"user_columns": {"user_id": "Web User"}})
    message = error_of(materialize("mapped"))
    assert "UserReport.xlsx row 1, column 'Web User': required column is missing" in message, message

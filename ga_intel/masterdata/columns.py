"""Canonical master-data columns and the headers they come from.

Defaults are the seed platform's export headers. A tenant overrides any of them in the
`master_data` section of its settings (canonical name -> header in its file). Headers are
matched case-insensitively, with surrounding spaces ignored and spaces equal to
underscores.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Column:
    name: str  # canonical name, the database column
    header: str  # default header in the file
    required: bool = False
    kind: str = "text"  # text | email | date | bool | number


USER_COLUMNS = [
    Column("user_id", "user_id", required=True),
    Column("user_name", "user_name"),
    Column("first_name", "first_name"),
    Column("middle_name", "middle_name"),
    Column("last_name", "last_name"),
    Column("job_title", "job_title"),
    Column("user_erp_id", "user_erp_id"),
    Column("email", "email", kind="email"),
    Column("office_phone", "office_phone"),
    Column("cell_phone", "cell_phone"),
    Column("fax", "fax"),
    Column("address1", "address1"),
    Column("address2", "address2"),
    Column("address3", "address3"),
    Column("city", "city"),
    Column("state", "state"),
    Column("zip", "zip"),
    Column("country", "country"),
    Column("registered_date", "registered_date", kind="date"),
    Column("last_login_date", "last_login_date", kind="date"),
    Column("company_name", "buying_company_name"),
    Column("company_id", "cimm_buying_company_id"),
    Column("company_erp_id", "buying_company_erp_id"),
    Column("branch_code", "warehouse_code", required=True),
    Column("role_name", "role_name"),
    Column("site_name", "site_name"),
    Column("is_active", "is_active", kind="bool"),
    Column("rep_name", "sales_rep_name"),
    Column("rep_email", "sales_rep_email", kind="email"),
]

LOCATION_COLUMNS = [
    Column("warehouse_id", "warehouse_id"),
    Column("warehouse_code", "warehouse_code", required=True),
    Column("warehouse_name", "warehouse_name", required=True),
    Column("address1", "address1"),
    Column("address2", "address2"),
    Column("address3", "address3"),
    Column("city", "city"),
    Column("state", "state"),
    Column("zip", "zip"),
    Column("country", "country"),
    Column("email", "email", kind="email"),
    Column("phone_number", "phone_number"),
    Column("toll_free_number", "toll_free_number"),
    Column("fax", "fax"),
    Column("latitude", "latitude", kind="number"),
    Column("longitude", "longitude", kind="number"),
    Column("service_manager", "service_manager"),
    Column("work_hour", "work_hour"),
    Column("branch_location_id", "branch_location_id"),
    Column("status", "status"),
    Column("is_active", "is_active", kind="bool"),
    Column("rep_name", "sales_rep_name"),
    Column("rep_email", "sales_rep_email", kind="email"),
]

KINDS = {"users": USER_COLUMNS, "locations": LOCATION_COLUMNS}


def normalize(header) -> str:
    """Case, surrounding and repeated spaces, and space vs underscore do not matter:
    " First  Name" matches `first_name`."""
    return " ".join(str(header).replace("_", " ").split()).lower() if header is not None else ""


def resolve(kind: str, overrides: dict[str, str]) -> list[Column]:
    """The columns of `kind` with the tenant's header overrides applied."""
    return [Column(c.name, overrides.get(c.name, c.header), c.required, c.kind) for c in KINDS[kind]]

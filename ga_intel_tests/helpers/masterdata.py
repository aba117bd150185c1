"""Shared pieces of the test_masterdata_* modules: small xlsx files, an SFTP drop on the
real sshd, and `dagster.materialize` of the real asset with the project's resources."""

from __future__ import annotations

import io

import dagster as dg
import sqlalchemy as sa
from openpyxl import Workbook

from ga_intel.db import tenant_scope
from ga_intel.masterdata.assets import master_data
from ga_intel.orchestration.resources import build_resources
from ga_intel.orchestration.run import failure_messages
from ga_intel.tenancy import store, tenant_file
from ga_intel_tests.conftest import tenant_data

LOC_HEADER = ["warehouse_id", "warehouse_code", "warehouse_name", "city", "email", "sales_rep_name", "sales_rep_email"]
LOCS = [
    [1, "CHI", "Chicago", "Chicago", "chi@x.example", "Kara Evans", "kara@x.example"],
    [2, "MKE", "Milwaukee", "Milwaukee", "mke@x.example", None, None],
]
USER_HEADER = [
    "user_id",
    "first_name",
    "last_name",
    "email",
    "cimm_buying_company_id",
    "buying_company_name",
    "warehouse_code",
    "is_active",
]
USERS = [
    ["100001", "Ava", "Chen", "ava@c.example", "C1", "Chen Plumbing", "CHI", "Y"],
    ["100002", "Ben", "Diaz", "ben@c.example", "C2", "Diaz HVAC", "MKE", "N"],
]


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


def sftp_tenant(sshd, tenant_id="acme", master_data_settings=None, **sftp):
    data = tenant_data(tenant_id)
    del data["folder"]
    data["sftp"] = sshd.settings(**sftp)
    if master_data_settings is not None:
        data["master_data"] = master_data_settings
    return tenant_file.validate(data, "test")


def add_sftp_tenant(sshd, tenant_id="acme", master_data_settings=None, **sftp):
    store.add(sftp_tenant(sshd, tenant_id, master_data_settings, **sftp))


def materialize(tenant_id, force=False):
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("tenant", [tenant_id])
        run_config = {"ops": {"master_data": {"config": {"force": True}}}} if force else None
        return dg.materialize(
            [master_data],
            instance=instance,
            resources=build_resources(),
            partition_key=tenant_id,
            run_config=run_config,
            raise_on_error=False,
        )


def rows(tenant_id, table, order="1"):
    with tenant_scope(tenant_id) as conn:
        return [
            dict(r) for r in conn.execute(sa.text(f"SELECT * FROM tenant_data.{table} ORDER BY {order}")).mappings()
        ]


def error_of(result) -> str:
    assert not result.success
    return "\n".join(failure_messages(result))


def check_of(result):
    [check] = result.get_asset_check_evaluations()
    assert check.check_name == "customers_have_a_rep"
    return check

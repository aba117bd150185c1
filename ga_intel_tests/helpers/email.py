"""The email tests' shop tenant (branches CHI, MKE, GRB; rep Kara; managers) and readers of
what the SMTP sink received and what the ledger recorded."""

from __future__ import annotations

import datetime as dt
from email import policy
from email.parser import BytesParser
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from ga_intel.db import tenant_scope
from ga_intel.email import ledger
from ga_intel_tests.conftest import tenant_data
from ga_intel_tests.helpers.shop import D1, Shop

CHICAGO = ZoneInfo("America/Chicago")
# 07:30 local the morning after D1: past the default send hour (7), before the deadline (11).
MORNING = dt.datetime.combine(D1 + dt.timedelta(days=1), dt.time(7, 30), CHICAGO)
AFTER_DEADLINE = dt.datetime.combine(D1 + dt.timedelta(days=1), dt.time(11, 30), CHICAGO)
KARA, CHI_BOSS, BOSS, GRETA, MIKE = (
    "kara@shop.example",
    "chi-boss@shop.example",
    "boss@shop.example",
    "greta@shop.example",
    "mike@shop.example",
)


def shop_data(sink, **email) -> dict:
    data = tenant_data("shop")
    data["smtp"].update(port=sink.port, password=sink.password, tls_ca_file=str(sink.cert_file))
    data["members"] = [
        {"email": "admin@shop.example", "role": "admin"},
        {"email": CHI_BOSS, "role": "manager", "branch": "CHI"},
        {"email": BOSS, "role": "manager"},
    ]
    data["email"] = {"retry_backoff_seconds": 0, **email}
    return data


def build_shop(smtp_sink) -> Shop:
    """The shop tenant with D1 loaded and its tasks computed (see test_email.py's docstring)."""
    shop = Shop("shop", data=shop_data(smtp_sink))
    with tenant_scope("shop") as c:
        c.execute(
            sa.text(
                "INSERT INTO tenant_data.locations (tenant_id, warehouse_code, warehouse_name, source_row) "
                "VALUES ('shop', 'GRB', 'Green Bay', 4)"
            )
        )
        c.execute(
            sa.text(
                "INSERT INTO tenant_data.sales_reps (tenant_id, branch_code, rep_email, rep_name) "
                "VALUES ('shop', 'GRB', :g, 'Greta')"
            ),
            {"g": GRETA},
        )
        c.execute(
            sa.text(
                "UPDATE tenant_data.users SET email = 'ava@chen.example', office_phone = '+1 312 555 0101', "
                "company_name = 'Chen Plumbing' WHERE user_id = 'u1'"
            )
        )
    shop.purchase(D1, 15, 1250.0, "T-100", customer="u1")
    shop.search(D1, 16, "pvc elbow", customer="u3", no_results=True)
    shop.purchase(D1, 17, 80.0, "T-200", customer="u2")
    shop.available(D1)
    shop.run(D1)
    return shop


def parsed(sink):
    return [BytesParser(policy=policy.default).parsebytes(m.data) for m in sink.messages]


def deliveries(tenant_id="shop", day=D1):
    with tenant_scope(tenant_id) as conn:
        return {(r["branch_code"], r["recipient"]): r for r in ledger.rows(conn, day)}

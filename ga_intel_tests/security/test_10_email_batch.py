"""Finding 10: one bad recipient must not abort a tenant's morning email.

Rows were claimed (`sending`) before their message was built, so a CR/LF in a rep's
name or a non-ASCII address raised in the middle of the batch: the rest of the day's
reports never went out, and the claimed rows were later marked "may have been
delivered". Now each report's message is built before its rows are claimed; a row whose
message cannot be built fails on its own with the reason, the other reports go out,
names lose their control characters (at master-data load and in headers), and the
schedule counts a report as planned only when every row is terminal. Against the real
aiosmtpd server and the real ledger."""

from __future__ import annotations

import sqlalchemy as sa

from ga_intel.db import tenant_scope
from ga_intel.email import ledger
from ga_intel.email.deliver import send_day
from ga_intel.masterdata import columns as cols
from ga_intel.masterdata.read import read_xlsx
from ga_intel_tests.helpers.email import BOSS, CHI_BOSS, KARA, MORNING, deliveries, parsed
from ga_intel_tests.helpers.masterdata import LOC_HEADER, xlsx
from ga_intel_tests.helpers.shop import D1

HOSTILE_NAME = "Kara\r\nBcc: thief@evil.example"
UNICODE_ADDRESS = "jösé@shop.example"


def test_a_bad_name_or_address_fails_its_own_row_and_the_batch_goes_on(shop, smtp_sink):  # noqa: F811
    with tenant_scope("shop") as conn:
        # A rep's name as the dashboard's rep mapping can store it, and a rep whose
        # address the SMTP server cannot take without SMTPUTF8.
        conn.execute(
            sa.text("UPDATE tenant_data.sales_reps SET rep_name = :n WHERE rep_email = :e"),
            {"n": HOSTILE_NAME, "e": KARA},
        )
        conn.execute(
            sa.text(
                "INSERT INTO tenant_data.sales_reps (tenant_id, branch_code, rep_email, rep_name) "
                "VALUES ('shop', 'CHI', :e, 'José')"
            ),
            {"e": UNICODE_ADDRESS},
        )

    outcome = send_day("shop", D1, now=MORNING)  # used to raise midway

    rows = deliveries()
    assert rows[("CHI", UNICODE_ADDRESS)]["status"] == "failed"
    assert "non-ASCII" in rows[("CHI", UNICODE_ADDRESS)]["error"]
    assert rows[("CHI", KARA)]["status"] == "sent" and rows[("CHI", CHI_BOSS)]["status"] == "sent"
    assert rows[("*", BOSS)]["status"] == "sent"  # the day's other report went out
    assert {r["status"] for r in rows.values()} <= set(ledger.TERMINAL)  # nothing left queued or sending
    assert outcome.failed == 1 and outcome.sent == 3
    with tenant_scope("shop") as conn:
        assert ledger.settled(conn, D1)

    # Nothing reached the name's would-be recipient, and no header was injected.
    assert all("thief@evil.example" not in m.rcpt_tos for m in smtp_sink.messages)
    assert all(UNICODE_ADDRESS not in m.rcpt_tos for m in smtp_sink.messages)
    [chi] = [m for m in parsed(smtp_sink) if KARA in str(m["To"])]
    assert chi["Bcc"] is None and "\r" not in str(chi["To"]) and "\n" not in str(chi["To"])

    # A second batch sends nothing again.
    again = send_day("shop", D1, now=MORNING)
    assert again.sent == 0 and len(smtp_sink.messages) == 2


def test_master_data_names_lose_their_control_characters():
    data = xlsx(LOC_HEADER, [[1, "CHI", "Chicago\n", "Chicago", "chi@x.example", HOSTILE_NAME, "kara@x.example"]])
    sheet = read_xlsx(data, "Locations_List.xlsx", cols.resolve("locations", {}))
    [(_, row)] = sheet.rows
    assert row["rep_name"] == "Kara Bcc: thief@evil.example"
    assert row["warehouse_name"] == "Chicago"

"""What `make dev` prints once the demo data is in (ga_intel/demo/summary.py), against the
real platform database."""

from __future__ import annotations

import datetime as dt
import json

from ga_intel.demo import summary
from ga_intel.tenancy import store, tenant_file
from ga_intel_tests.conftest import tenant_data
from ga_intel_tests.helpers.pages import insert, task


def test_the_picture_of_the_day(db, secret_key, tmp_path):
    store.add(tenant_file.validate(tenant_data("acme", folder=str(tmp_path)), "test"))
    day = dt.date(2026, 11, 2)
    insert(
        "acme",
        "data_availability",
        [
            dict(
                event_date=day - dt.timedelta(days=n),
                source_table="events_x",
                status=status,
                bq_row_count=5000,
                rows_written=json.dumps({}),
                run_id=f"r{n}",
            )
            for n, status in ((0, "provisional"), (1, "complete"), (2, "failed"))
        ],
    )
    insert(
        "acme",
        "tasks",
        [
            task("cart:1", "cart_recovery", "CHI", "kara@acme.example", customer="u1", day=day),
            task("cart:2", "cart_recovery", "CHI", "kara@acme.example", customer="u2", day=day),
            task("purchase:T1", "purchase_followup", "MKE", "lee@acme.example", customer="u3", day=day),
            task("purchase:T2", "purchase_followup", "MKE", None, customer="u4", day=day),
        ],
    )
    out = summary.lines("acme", "http://127.0.0.1:8501/")
    assert out[0] == "acme: 2 day(s) loaded (2026-11-01 – 2026-11-02), 10,000 events"
    assert out[1] == "  tasks: 4 (2 purchase follow-ups, 2 cart recovery, 0 search follow-ups, 0 repeat visitors)"
    assert out[2].startswith("  emails sent: 0 (") and "ga-intel email send --tenant acme --date 2026-11-02" in out[2]
    assert out[3] == "  kara@acme.example's list (2 open task(s), branch CHI):"
    assert out[4] == (
        "    python -m webbrowser 'http://127.0.0.1:8501/tasks?tenant=acme&branch=CHI&rep=kara%40acme.example'"
    )

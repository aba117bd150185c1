"""Email reports: render and send N branch reports through the real delivery path
(content queries, Jinja2 + css-inline, ledger writes, STARTTLS + AUTH SMTP) to a local
aiosmtpd sink, against plain smtplib sending the same pre-rendered message N times over
one connection to the same sink, in the same run."""

from __future__ import annotations

import datetime as dt
import secrets
import smtplib
import ssl
import tempfile
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa

from bench.common import Measurement, compare, timed

DAY = dt.date(2024, 3, 4)


def _tenant(tenant_id: str, sink, folder: Path, branches: int) -> None:
    from ga_intel.db import tenant_scope
    from ga_intel.tenancy import store, tenant_file

    store.add(
        tenant_file.validate(
            {
                "id": tenant_id,
                "name": "Bench Supply",
                "timezone": "UTC",
                "bigquery": {
                    "project_id": "bench-project",
                    "dataset_id": "bench",
                    "api_endpoint": "http://127.0.0.1:9",
                },
                "folder": {"path": str(folder)},
                "smtp": {
                    "server": "127.0.0.1",
                    "port": sink.port,
                    "user_name": sink.user,
                    "password": sink.password,
                    "tls_ca_file": str(sink.cert_file),
                    "from_name": "Bench",
                    "from_address": "reports@bench.example",
                },
                "email": {"max_report_age_days": 3650},
            },
            "bench",
        )
    )
    with tenant_scope(tenant_id) as c:
        params = {"tenant": tenant_id, "d": DAY, "n": branches}
        c.execute(
            sa.text(
                "INSERT INTO tenant_data.locations (tenant_id, warehouse_code, warehouse_name, source_row) "
                "SELECT :tenant, 'B' || g, 'Branch ' || g, g FROM generate_series(1, :n) g"
            ),
            params,
        )
        c.execute(
            sa.text(
                "INSERT INTO tenant_data.sales_reps (tenant_id, branch_code, rep_email, rep_name) "
                "SELECT :tenant, 'B' || g, 'rep' || g || '@bench.example', 'Rep ' || g "
                "FROM generate_series(1, :n) g"
            ),
            params,
        )
        c.execute(
            sa.text(
                "INSERT INTO tenant_data.users (tenant_id, user_id, first_name, last_name, company_name, "
                "email, branch_code, source_row) SELECT :tenant, 'u' || g, 'First' || g, 'Last' || g, "
                "'Company ' || g, 'u' || g || '@customer.example', 'B' || (g % :n + 1), g "
                "FROM generate_series(1, :n * 5) g"
            ),
            params,
        )
        figures = (
            "revenue, transactions, aov, purchasers, sessions, active_users, converting_sessions, carts_created, "
            "carts_abandoned, recovered_revenue, searches, no_click_searches, no_result_searches, "
            "repeat_visitors, bounced_sessions"
        )
        values = "1000 + g, 10, 100, 8, 300, 250, 9, 20, 7, 50, 40, 12, 3, 5, 90"
        c.execute(
            sa.text(
                f"INSERT INTO tenant_data.location_daily_metrics (tenant_id, event_date, branch_code, "
                f"{figures}) SELECT :tenant, :d - w, 'B' || g, {values} FROM generate_series(1, :n) g, "
                f"generate_series(0, 13) w"
            ),
            params,
        )
        c.execute(
            sa.text(
                f"INSERT INTO tenant_data.daily_metrics (tenant_id, event_date, {figures}) "
                f"SELECT :tenant, :d - w, {values.replace('g', '0')} FROM generate_series(0, 13) w"
            ),
            params,
        )
        # Five open tasks per branch, with cart context as the pipeline writes it.
        c.execute(
            sa.text("""
            INSERT INTO tenant_data.tasks (tenant_id, task_key, task_type, account_key, customer_id, branch_code,
                source_date, created_date, due_date, horizon_date, priority, title, value, context)
            SELECT :tenant, 'cart:user:u' || g, 'cart_recovery', 'user:u' || g, 'u' || g, 'B' || (g % :n + 1), :d, :d,
                   :d + 1, :d + 4, 2, 'Recover the cart of First' || g, 250, jsonb_build_object('items', jsonb_build_array(
                   jsonb_build_object('item_name', 'Ball Valve', 'quantity', 2)))
            FROM generate_series(1, :n * 5) g"""),
            params,
        )
        c.execute(
            sa.text(
                "INSERT INTO tenant_data.data_availability (tenant_id, event_date, source_table, status) "
                "VALUES (:tenant, :d, 'events_20240304', 'complete')"
            ),
            params,
        )


def run(echo: Callable[[str], None], reports: int = 1000) -> list[Measurement]:
    from ga_intel.db import tenant_scope
    from ga_intel.devservices.smtp_server import SmtpSink
    from ga_intel.email import content
    from ga_intel.email.deliver import build_message, send_day
    from ga_intel.email.render import render
    from ga_intel.tenancy import store

    tenant_id = f"bench-email-{secrets.token_hex(3)}"
    folder = Path(tempfile.mkdtemp(prefix="ga-intel-bench-email-"))
    sink = SmtpSink(folder / "smtp", user="bench", password=secrets.token_hex(8)).start()
    try:
        echo(f"email: {reports} branch reports for tenant {tenant_id} ...")
        _tenant(tenant_id, sink, folder, reports)
        config = store.get(tenant_id)
        with tenant_scope(tenant_id) as conn:
            report = content.branch_report(conn, config, DAY, "B1", "Branch 1")
        t_render, _ = timed(lambda: [render(report, config.email) for _ in range(200)])
        rendered = render(report, config.email)
        now = dt.datetime.combine(DAY + dt.timedelta(days=1), dt.time(8), dt.UTC)
        t_ours, outcome = timed(send_day, tenant_id, DAY, now=now)
        assert outcome.sent == reports + 0 and outcome.failed == 0, outcome.summary()

        message = build_message(
            config,
            rendered,
            [{"recipient": "rep1@bench.example", "recipient_name": "Rep"}],
            report,
            "<bench@bench.example>",
        )
        context = ssl.create_default_context(cafile=str(sink.cert_file))

        def plain():
            with smtplib.SMTP("127.0.0.1", sink.port) as smtp:
                smtp.starttls(context=context)
                smtp.login(sink.user, sink.password)
                for _ in range(reports):
                    smtp.send_message(message, "reports@bench.example", ["rep1@bench.example"])

        t_plain, _ = timed(plain)
        size_kb = len(message.as_bytes()) / 1024
    finally:
        sink.stop()
        try:
            store.remove(tenant_id)
        except Exception as exc:  # leave a note rather than hide the measurements
            echo(f"email: could not remove bench tenant {tenant_id}: {exc}")
    return [
        compare(
            "email.reports_per_s",
            reports / t_ours,
            "messages/s",
            "smtplib re-sending one pre-rendered report over one connection",
            reports / t_plain,
            note=f"{reports} branch reports, 5 tasks each, {size_kb:.0f} KB per message; content queries, "
            "render, css-inline, ledger writes and STARTTLS+AUTH SMTP included",
        ),
        Measurement(
            "email.render_per_s",
            round(200 / t_render, 1),
            "reports/s",
            note="Jinja2 (sandboxed) + css-inline + plain text, one branch report",
        ),
    ]

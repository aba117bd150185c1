"""The dashboard tests' shared data and AppTest helpers: two tenants' stored figures (acme, and
beta, whose values must never reach acme's users), row builders that write through the
tenant's RLS scope as the pipeline does, and readers of what a page rendered."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import sqlalchemy as sa
from google.protobuf import text_format
from streamlit.testing.v1 import AppTest

from ga_intel.db import tenant_scope
from ga_intel.insights import users
from streamlit_app.lib import context
from streamlit_app.lib.context import default_dates

APP = str(Path(__file__).resolve().parents[2] / "streamlit_app" / "app.py")
START, END = default_dates()
D1, D2 = END, END - dt.timedelta(days=1)  # in the selected range
PREV = START - dt.timedelta(days=1)  # in the previous period of equal length
OLD = START - dt.timedelta(days=5)  # in the previous period, never in the selected range
BETA_TERM = "beta-secret-term"
BETA_REVENUE = "9,876.54"
BETA_KPI = "$9.88k"  # BETA_REVENUE as the KPI tile shows it (exact in the tooltip)
BETA_TASK = "BETA-SECRET-TASK"
BETA_BRANCH = "BETA-HQ"
EMPTY = "No GA4 data loaded for these dates yet"
PAGES = ("overview", "carts", "search", "locations", "tasks", "data")

ACME_MEMBERS = [
    {"email": "admin@acme.example", "role": "admin"},
    {"email": "manager@acme.example", "role": "manager", "branch": "CHI"},
    {"email": "rep@acme.example", "role": "rep", "branch": "CHI"},
    {"email": "rep2@acme.example", "role": "rep", "branch": "MKE"},
    {"email": "multi@both.example", "role": "rep"},
]


def _ts(day: dt.date, hour: int = 12) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, tzinfo=dt.UTC)


def insert(tenant_id: str, table: str, rows: list[dict]) -> None:
    """Rows into tenant_data.<table> through the tenant's RLS scope (as the pipeline writes them)."""
    with tenant_scope(tenant_id) as conn:
        for row in rows:
            row = {"tenant_id": tenant_id, **row}
            cols = ", ".join(row)
            conn.execute(
                sa.text(f"INSERT INTO tenant_data.{table} ({cols}) VALUES ({', '.join(':' + c for c in row)})"), row
            )


FIGURES = (
    "revenue",
    "transactions",
    "purchasers",
    "sessions",
    "active_users",
    "converting_sessions",
    "carts_created",
    "carts_abandoned",
    "recovered_revenue",
    "searches",
    "no_click_searches",
    "no_result_searches",
    "repeat_visitors",
    "bounced_sessions",
)


def figures(day: dt.date, branch: str | None = None, **counts) -> dict:
    """A daily_metrics (or, with `branch`, location_daily_metrics) row: zeros but `counts`."""
    row = {"event_date": day, **{f: 0 for f in FIGURES}, **counts}
    return row | ({"branch_code": branch} if branch else {})


def term(day, branch, text, searches=0, no_result=0, users=1, sessions=1, no_click=0, cart=0, bought=0) -> dict:
    return dict(
        event_date=day,
        branch_code=branch,
        search_term=text,
        searches=searches,
        searching_users=users,
        sessions=sessions,
        no_click_sessions=no_click,
        no_result_searches=no_result,
        cart_sessions=cart,
        purchase_sessions=bought,
    )


def task(
    key,
    task_type,
    branch,
    rep,
    *,
    status="open",
    value=None,
    day=D1,
    customer=None,
    company=None,
    priority=2,
    context=None,
    recovered=None,
    title=None,
) -> dict:
    return dict(
        task_key=key,
        task_type=task_type,
        account_key=f"user:{customer}" if customer else f"company:{company}",
        customer_id=customer,
        company_id=company,
        branch_code=branch,
        assigned_rep_email=rep,
        assigned_rep_name=rep.split("@")[0].title() if rep else None,
        source_date=day,
        created_date=day,
        due_date=day + dt.timedelta(days=1),
        horizon_date=day + dt.timedelta(days=7),
        priority=priority,
        status=status,
        title=title or f"Task {key}",
        value=value,
        context=json.dumps(context or {}),
        recovered_revenue=recovered,
        recovered_on=day if recovered is not None else None,
    )


def session(day, user, sid, purchase=False, customer=None, company=None) -> dict:
    return dict(
        event_date=day,
        user_pseudo_id=user,
        ga_session_id=sid,
        session_start=_ts(day),
        session_end=_ts(day, 13),
        page_views=3,
        engaged=True,
        had_add_to_cart=purchase,
        had_purchase=purchase,
        event_count=10,
        customer_id=customer,
        company_id=company,
        landing_page=f"https://shop.example/{user}/{sid}",
    )


def purchase(day, txn, revenue, status="ok", customer=None) -> dict:
    return dict(
        event_date=day,
        user_pseudo_id="u1",
        ga_session_id=1,
        transaction_id=txn,
        id_status=status,
        event_time=_ts(day),
        event_timestamp=1,
        revenue=revenue,
        currency="USD",
        item_count=1,
        duplicate_events=1,
        customer_id=customer,
    )


def search(day, text, user="u1", sid=1, no_results=False, view=False, cart=False, bought=False, customer=None) -> dict:
    return dict(
        event_date=day,
        user_pseudo_id=user,
        ga_session_id=sid,
        event_time=_ts(day),
        event_timestamp=1,
        event_name="view_search_results",
        search_term=text,
        no_results=no_results,
        then_view_item=view,
        then_add_to_cart=cart,
        then_purchase=bought,
        customer_id=customer,
    )


CART_U1 = {
    "items": [
        {"item_id": "SKU-1", "item_name": "Ball Valve", "quantity": 2, "price": 100},
        {"item_id": "SKU-2", "item_name": "Copper Pipe", "quantity": 1, "price": 50},
    ],
    "value": 250,
}
CART_U2 = {"items": [{"item_id": "SKU-1", "item_name": "Ball Valve", "quantity": 1, "price": 80}], "value": 80}


def fill_dashboard_data() -> None:
    """Known stored figures.

    acme, tenant rows. Current period (D2, D1): sessions 2 + 2, converting 1 + 1 → 50.0%;
    active users 1 (D1) and 2 (D2) → 1.5 a day; revenue 100.00 + 100.00 = 200.00 over 3
    transactions → AOV 66.67. Carts created 2 + 1, abandoned 1 + 1 → 66.7%; recovered
    revenue 30.00 (D2). Previous period (PREV): 2 sessions (1 converting, 50.0%), 1 active
    user, 1 purchase of 100.00 → revenue +100.0%, transactions +200.0%, AOV −33.3%,
    sessions +100.0%, users/day +50.0%, conversion +0.0 pp.
    Branches: CHI has D1 (revenue 100, 1 txn, 2 sessions) and D2 (1 session); MKE has D2
    (revenue 100, 2 txn, 1 session, the recovered 30.00); unattributed only PREV.
    Search terms: "drill" 3 searches (D1 CHI 2 with a cart and a purchase, D2 CHI 1
    no-click), "hammer" 2 no-result (D2 MKE), "saw" 1 no-click (D2 CHI).
    Tasks (cart-recovery): u1's cart on D1 (CHI, open, 250.00: 2 × SKU-1 at 100, SKU-2 at
    50) and u2's on D2 (MKE, recovered, 80.00: SKU-1, recovered by a 30.00 order).
    beta: distinct, large figures, a branch, a term and a task that must never reach acme's users.
    """
    insert(
        "acme",
        "locations",
        [
            dict(
                warehouse_code="CHI",
                warehouse_id="1",
                warehouse_name="Chicago",
                city="Chicago",
                state="IL",
                source_row=2,
            ),
            dict(
                warehouse_code="MKE",
                warehouse_id="2",
                warehouse_name="Milwaukee",
                city="Milwaukee",
                state="WI",
                source_row=3,
            ),
            dict(warehouse_code="IND", warehouse_id="3", warehouse_name="Indianapolis", source_row=4),
        ],
    )
    # Users: one active on D1, the same one and another on D2 (two in the period), a third
    # in the previous period; sketches with one register per user (insights/users.py).
    insert(
        "acme",
        "daily_metrics",
        [
            figures(
                D1,
                revenue=100,
                transactions=1,
                purchasers=1,
                sessions=2,
                active_users=1,
                converting_sessions=1,
                carts_created=2,
                carts_abandoned=1,
                searches=2,
                users_sketch=users.sketch([(1, 1)]),
            ),
            figures(
                D2,
                revenue=100,
                transactions=2,
                purchasers=1,
                sessions=2,
                active_users=2,
                converting_sessions=1,
                carts_created=1,
                carts_abandoned=1,
                recovered_revenue=30,
                searches=2,
                no_click_searches=2,
                no_result_searches=2,
                users_sketch=users.sketch([(1, 1), (2, 3)]),
            ),
            figures(
                PREV,
                revenue=100,
                transactions=1,
                purchasers=1,
                sessions=2,
                active_users=1,
                converting_sessions=1,
                users_sketch=users.sketch([(3, 1)]),
            ),
        ],
    )
    insert(
        "acme",
        "location_daily_metrics",
        [
            figures(
                D1,
                "CHI",
                revenue=100,
                transactions=1,
                purchasers=1,
                sessions=2,
                active_users=1,
                converting_sessions=1,
                carts_created=2,
                carts_abandoned=1,
                searches=2,
            ),
            figures(D2, "CHI", sessions=1, active_users=1, searches=2, no_click_searches=2),
            figures(
                D2,
                "MKE",
                revenue=100,
                transactions=2,
                purchasers=1,
                sessions=1,
                active_users=1,
                converting_sessions=1,
                carts_created=1,
                carts_abandoned=1,
                recovered_revenue=30,
                no_result_searches=2,
            ),
            figures(
                PREV,
                "CHI",
                revenue=100,
                transactions=1,
                purchasers=1,
                sessions=1,
                active_users=1,
                converting_sessions=1,
            ),
            figures(PREV, "unattributed", sessions=1, active_users=1),
        ],
    )
    insert(
        "acme",
        "search_terms_daily",
        [
            term(D1, "CHI", "drill", searches=2, users=2, sessions=2, cart=1, bought=1),
            term(D2, "CHI", "drill", searches=1, no_click=1),
            term(D2, "MKE", "hammer", no_result=2, users=2, sessions=2),
            term(D2, "CHI", "saw", searches=1, no_click=1),
        ],
    )
    insert(
        "acme",
        "tasks",
        [
            task(
                "cart:user:u1:D1", "cart_recovery", "CHI", "rep@acme.example", value=250, customer="u1", context=CART_U1
            ),
            task(
                "cart:user:u2:D2",
                "cart_recovery",
                "MKE",
                "rep2@acme.example",
                value=80,
                day=D2,
                customer="u2",
                context=CART_U2,
                status="recovered",
                recovered=30,
            ),
        ],
    )
    insert(
        "acme",
        "data_availability",
        [
            dict(
                event_date=D1,
                source_table=f"events_{D1:%Y%m%d}",
                status="complete",
                bq_row_count=5000,
                rows_written=json.dumps({"sessions": 2, "purchases": 1}),
                run_id="run-acme-1",
                message=None,
            ),
            dict(
                event_date=D2,
                source_table=f"events_{D2:%Y%m%d}",
                status="failed",
                bq_row_count=None,
                rows_written="{}",
                run_id="run-acme-2",
                message="BigQuery said no",
            ),
        ],
    )
    insert("beta", "locations", [dict(warehouse_code=BETA_BRANCH, warehouse_name="Beta HQ", source_row=2)])
    insert(
        "beta",
        "daily_metrics",
        [
            figures(
                D1,
                revenue=9876.54,
                transactions=1,
                sessions=1,
                active_users=1,
                converting_sessions=1,
                carts_created=5,
                carts_abandoned=4,
            )
        ],
    )
    insert(
        "beta",
        "location_daily_metrics",
        [figures(D1, BETA_BRANCH, revenue=9876.54, transactions=1, sessions=1, active_users=1, converting_sessions=1)],
    )
    insert("beta", "search_terms_daily", [term(D1, BETA_BRANCH, BETA_TERM, searches=1, cart=1)])
    insert(
        "beta",
        "tasks",
        [
            task(
                "cart:user:b1:D1",
                "cart_recovery",
                BETA_BRANCH,
                "rep@acme.example",
                value=9876.54,
                customer="b1",
                title=BETA_TASK,
                context={"items": [{"item_id": "BETA-SKU"}]},
            )
        ],
    )
    insert(
        "beta",
        "data_availability",
        [
            dict(event_date=D1, source_table="events_x", status="complete", rows_written="{}", run_id="run-beta-1"),
        ],
    )


def open_page(monkeypatch, email: str, page: str | None = None) -> AppTest:
    monkeypatch.setenv("GA_INTEL_DEV_USER", email)
    at = AppTest.from_file(APP, default_timeout=30)
    at.run()
    assert not at.exception, at.exception
    if page:
        at.switch_page(f"views/{page}.py").run()
        assert not at.exception, at.exception
    return at


def downloads(at: AppTest) -> list:
    return at.get("download_button")


def kpis(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def assert_no_beta(at: AppTest) -> None:
    everything = rendered(at)
    for secret in (BETA_REVENUE, "9876.54", BETA_TERM, BETA_TASK, BETA_BRANCH, "BETA-SKU", "run-beta-1"):
        assert secret not in everything, secret


def filter_to(at: AppTest, tenant: str, branch: str) -> AppTest:
    """The branch filter as the Locations page sets it (session state), then a rerun."""
    at.session_state["branch_filter"] = {"tenant": tenant, "branch": branch}
    at.run()
    assert not at.exception, at.exception
    return at


def rendered(at: AppTest, session_state: bool = True) -> str:
    """Everything the app sent to the browser (every element's and block's proto: labels,
    values, placeholders, help, table data), every widget's value, and (unless
    `session_state=False`: what stays on the server) session state."""
    parts: list[str] = []

    def walk(node) -> None:
        proto = getattr(node, "proto", None)
        if proto is not None:
            parts.append(text_format.MessageToString(proto, as_utf8=True))
            parts.append(proto.SerializeToString().decode("utf-8", "replace"))
        try:
            parts.append(str(getattr(node, "value", "")))
        except Exception:  # some elements have no value to read
            pass
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    if session_state:
        parts += [f"{key}={value!r}" for key, value in at.session_state.items()]
    return "\n".join(parts)


def texts(at: AppTest) -> str:
    return "\n".join(
        str(e.value)
        for kind in ("title", "markdown", "caption", "success", "error", "warning", "info", "subheader", "toast")
        for e in getattr(at, kind)
    )


def submit(at: AppTest, section: str) -> None:
    next(b for b in at.button if b.form_id.startswith(f"form-{section}-")).click()
    at.run()
    assert not at.exception, at.exception


def ctx_for(email: str, role: str, branch: str | None = None) -> context.Context:
    start, end = context.default_dates()
    return context.Context(
        email=email, tenant_id="acme", role=role, branch=branch, tenants=("acme",), start=start, end=end
    )


def db_task(tenant: str, key: str) -> dict:
    with tenant_scope(tenant) as conn:
        return dict(
            conn.execute(sa.text("SELECT * FROM tenant_data.tasks WHERE task_key = :k"), {"k": key}).mappings().one()
        )

"""Migration 0008's roll-ups of tasks (tasks_monthly, cart_tasks_by_day, cart_items_daily,
cart_items_monthly), against the real platform database: the Tasks summary and the Cart
abandonment page's tasks per day and top products read through them give exactly what the
queries over `tasks` alone gave (kept below as the reference), for ranges made of whole
months, partial months and both, every role and the branch filter; and the roll-ups stay
equal to a recomputation from `tasks` after a day is re-run (tasks upserted with new
values, one withdrawn), statuses changed, and tasks deleted."""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pytest
import sqlalchemy as sa

from ga_intel.db import tenant_scope
from ga_intel.insights import tasks as task_rules
from ga_intel_tests.helpers.pages import insert, task
from ga_intel_tests.helpers.rollups import FROM_SCRATCH, SEARCH_FROM_SCRATCH, same_frames
from streamlit_app.lib import context, data, pagedata, task_scope

pytestmark = pytest.mark.usefixtures("fresh_cache")

# The queries as they were before the roll-ups (the definition of the figures).
REFERENCE_SUMMARY = """
SELECT status, task_type, branch_code, lower(assigned_rep_email) AS rep_email,
       max(assigned_rep_name) AS rep_name,
       count(*)::bigint AS tasks,
       count(*) FILTER (WHERE due_date < :today AND status IN ('open', 'in_progress'))::bigint AS overdue,
       coalesce(sum(value), 0)::float8 AS value
FROM tenant_data.tasks
WHERE created_date BETWEEN :start AND :end
  AND /*task_scope*/
  AND (CAST(:branch AS text) IS NULL OR branch_code = :branch)
GROUP BY status, task_type, branch_code, lower(assigned_rep_email)"""
REFERENCE_CART_DAYS = """
SELECT created_date, status,
       count(*)::bigint                               AS carts,
       coalesce(sum(value), 0)::float8                AS value,
       coalesce(sum(recovered_revenue), 0)::float8    AS recovered_revenue
FROM tenant_data.tasks
WHERE task_type = 'cart_recovery'
  AND created_date BETWEEN :start AND :end
  AND (CAST(:branch AS text) IS NULL OR branch_code = :branch)
GROUP BY created_date, status
ORDER BY created_date, status"""
REFERENCE_TOP_PRODUCTS = """
SELECT coalesce(i->>'item_id', i->>'item_name', '(unknown)')              AS item_id,
       max(i->>'item_name')                                                AS item_name,
       count(DISTINCT t.task_key)::bigint                                  AS carts,
       coalesce(sum((i->>'quantity')::numeric), 0)::float8                 AS quantity,
       coalesce(sum(coalesce((i->>'value')::numeric, (i->>'quantity')::numeric * (i->>'price')::numeric)), 0)::float8
         AS value,
       count(DISTINCT t.task_key) FILTER (WHERE t.recovered_on IS NOT NULL)::bigint AS recovered_carts
FROM tenant_data.tasks t
CROSS JOIN LATERAL jsonb_array_elements(t.context -> 'items') AS i
WHERE t.task_type = 'cart_recovery'
  AND t.created_date BETWEEN :start AND :end
  AND (CAST(:branch AS text) IS NULL OR t.branch_code = :branch)
GROUP BY 1
ORDER BY value DESC, carts DESC, item_id
LIMIT :top"""

JAN = dt.date(2026, 1, 1)
REPS = ["rep@acme.example", "Rep2@Acme.example", None]


def _cart(seed: int) -> dict:
    items = [
        {
            "item_id": f"SKU-{(seed * 7 + k) % 5}",
            "item_name": f"Item {(seed + k) % 5}",
            "quantity": 1 + k,
            "price": 10 + seed % 13,
        }
        for k in range(1 + seed % 3)
    ]
    if seed % 4 == 0:
        items.append(dict(items[0], quantity=5))  # the same item twice in one cart
    if seed % 5 == 0:
        items.append({"item_name": "No id", "quantity": 2, "price": 3.5})
    if seed % 7 == 0:
        items.append({"item_id": "SKU-X"})  # no name, quantity or price
    return {"items": items}


def _tasks() -> list[dict]:
    """~120 tasks over 1 Dec 2025 - 28 Feb 2026: every type, status, two branches, three assignees."""
    rows = []
    types = ["cart_recovery", "purchase_followup", "cart_recovery", "search_followup", "repeat_visitor"]
    statuses = ["open", "in_progress", "done", "dismissed", "recovered", "expired", "open"]
    for n in range(120):
        day = dt.date(2025, 12, 1) + dt.timedelta(days=(n * 11) % 90)
        task_type = types[n % len(types)]
        status = statuses[n % len(statuses)]
        rows.append(
            task(
                f"k{n}",
                task_type,
                ["CHI", "MKE"][n % 2],
                REPS[n % 3],
                status=status,
                day=day,
                customer=f"u{n}",
                value=None if n % 9 == 0 else 10 + n,
                recovered=7 if status == "recovered" else None,
                context=_cart(n) if task_type == "cart_recovery" else None,
            )
        )
    return rows


RANGES = [
    (dt.date(2025, 12, 1), dt.date(2026, 2, 28)),  # whole months only
    (dt.date(2025, 12, 10), dt.date(2026, 2, 20)),  # partial edges around a whole month
    (dt.date(2025, 12, 5), dt.date(2025, 12, 25)),  # inside one month
    (dt.date(2025, 12, 31), dt.date(2026, 1, 1)),  # two edge days, no whole month
    (dt.date(2026, 1, 1), dt.date(2026, 1, 31)),  # exactly one month
    (dt.date(2025, 11, 15), dt.date(2026, 3, 10)),  # wider than the data
]
PEOPLE = [
    ("admin@acme.example", "admin", None),
    ("manager@acme.example", "manager", "CHI"),
    ("rep@acme.example", "rep", "CHI"),
]


def _frame(sql: str, params: dict) -> pd.DataFrame:
    with tenant_scope("acme") as conn:
        result = conn.execute(sa.text(sql), params)
        return pd.DataFrame(result.fetchall(), columns=list(result.keys()))


def assert_pages_match_reference() -> None:
    today = dt.date(2026, 1, 20)
    with data.uncached():
        for start, end in RANGES:
            for email, role, branch in PEOPLE:
                for branch_filter in (None, "MKE"):
                    ctx = context.Context(
                        email=email,
                        tenant_id="acme",
                        role=role,
                        branch=branch,
                        tenants=("acme",),
                        start=start,
                        end=end,
                        branch_filter=branch_filter,
                    )
                    want = _frame(
                        REFERENCE_SUMMARY.replace("/*task_scope*/", task_scope.SCOPE),
                        dict(start=start, end=end, branch=branch_filter, today=today, **task_scope.params(ctx)),
                    )
                    same_frames(
                        pagedata.task_summary(ctx, today=today),
                        want,
                        ["status", "task_type", "branch_code", "rep_email"],
                    )
                    if role != "admin":
                        continue
                    carts = pagedata.carts(ctx)
                    params = dict(start=start, end=end, branch=branch_filter, top=20)
                    same_frames(carts.tasks_by_day, _frame(REFERENCE_CART_DAYS, params), [], ordered=True)
                    same_frames(carts.top_products, _frame(REFERENCE_TOP_PRODUCTS, params), [], ordered=True)


def assert_rollups_match_tasks() -> None:
    for table, sql in FROM_SCRATCH.items():
        want = _frame(sql, {})
        got = _frame(f"SELECT {', '.join(want.columns)} FROM tenant_data.{table}", {})
        measures = {"tasks", "carts", "quantity", "value", "recovered_revenue", "recovered_carts"}
        same_frames(got, want, [c for c in want.columns if c not in measures])


@pytest.fixture
def history(tenants):
    insert("acme", "tasks", _tasks())
    insert(
        "beta",
        "tasks",
        [
            task(
                "beta-cart",
                "cart_recovery",
                "CHI",
                "rep@acme.example",
                value=999,
                day=JAN,
                customer="b1",
                context={"items": [{"item_id": "SKU-1", "quantity": 99, "price": 9}]},
            )
        ],
    )


def test_pages_read_through_the_rollups_give_the_same_figures(history):
    assert_rollups_match_tasks()
    assert_pages_match_reference()
    # Whole months do come from the roll-ups: the sums there are what the pages show.
    with tenant_scope("acme") as conn:
        assert conn.execute(sa.text("SELECT sum(tasks) FROM tenant_data.tasks_monthly")).scalar() == 120
        beta_in_acme = conn.execute(
            sa.text("SELECT count(*) FROM tenant_data.cart_items_monthly WHERE quantity >= 99")
        ).scalar()
    assert beta_in_acme == 0


def test_rollups_follow_a_rerun_of_a_day_status_changes_and_deletes(history):
    day = dt.date(2026, 1, 12)
    with tenant_scope("acme") as conn:
        keys = [
            r[0]
            for r in conn.execute(
                sa.text("SELECT task_key FROM tenant_data.tasks WHERE created_date = :d ORDER BY task_key"), {"d": day}
            )
        ]
    assert len(keys) >= 2
    # A re-run of the day, as insights.tasks.compute writes it: one set-based upsert of the
    # candidates (new value, items, assignee for each, and one new task), one withdrawn;
    # statuses are the people's and stay.
    candidates = [
        dict(
            task_key=key,
            task_type="cart_recovery",
            account_key=f"user:{key}",
            customer_id=key,
            company_id=None,
            branch_code="MKE",
            assigned_rep_email="REP2@acme.example",
            assigned_rep_name=f"Renamed {n}",
            created_date=day,
            due_date=day,
            horizon_date=day,
            priority=1,
            title="re-run",
            value=500 + n,
            context=json.dumps(_cart(n + 3)),
        )
        for n, key in enumerate(keys[1:])
    ]
    candidates.append(
        dict(
            task_key="new-on-rerun",
            task_type="cart_recovery",
            account_key="user:new",
            customer_id="new",
            company_id=None,
            branch_code="CHI",
            assigned_rep_email=None,
            assigned_rep_name=None,
            created_date=day,
            due_date=day,
            horizon_date=day,
            priority=1,
            title="new",
            value=42,
            context=json.dumps(_cart(8)),
        )
    )
    with tenant_scope("acme") as conn:
        conn.execute(
            sa.text(
                "CREATE TEMP TABLE task_candidates (task_key text, task_type text, account_key text, customer_id text, "
                "company_id text, branch_code text, assigned_rep_email text, assigned_rep_name text, created_date date, "
                "due_date date, horizon_date date, priority smallint, title text, value numeric, context jsonb, "
                "account_revenue_90d numeric DEFAULT 0, decision text DEFAULT 'create') ON COMMIT DROP"
            )
        )
        conn.execute(
            sa.text(
                "INSERT INTO task_candidates (task_key, task_type, account_key, customer_id, company_id, branch_code, "
                "assigned_rep_email, assigned_rep_name, created_date, due_date, horizon_date, priority, title, value, "
                "context) VALUES (:task_key, :task_type, :account_key, :customer_id, :company_id, :branch_code, "
                ":assigned_rep_email, :assigned_rep_name, :created_date, :due_date, :horizon_date, :priority, :title, "
                ":value, CAST(:context AS jsonb))"
            ),
            candidates,
        )
        conn.execute(sa.text(task_rules._UPSERT), {"tenant": "acme", "day": day, "today": day})
        conn.execute(
            sa.text("DELETE FROM tenant_data.tasks WHERE tenant_id = 'acme' AND task_key = :k"), {"k": keys[0]}
        )
    assert_rollups_match_tasks()
    assert_pages_match_reference()

    # A person's status change, the recovery and expiry passes (set-based updates), and deletes.
    with tenant_scope("acme") as conn:
        task_rules.set_status(conn, "acme", "new-on-rerun", "done", by="rep@acme.example")
        conn.execute(
            sa.text(
                "UPDATE tenant_data.tasks SET status = 'recovered', recovered_revenue = 12.5, "
                "recovered_on = created_date WHERE task_type = 'cart_recovery' AND status = 'open'"
            )
        )
        conn.execute(sa.text("UPDATE tenant_data.tasks SET status = 'expired' WHERE status = 'in_progress'"))
        conn.execute(sa.text("UPDATE tenant_data.tasks SET note = 'no effect on figures' WHERE status = 'done'"))
        conn.execute(sa.text("DELETE FROM tenant_data.tasks WHERE created_date < '2026-01-01'"))
    assert_rollups_match_tasks()
    assert_pages_match_reference()
    with tenant_scope("acme") as conn:
        # Emptied groups are removed, not left at zero.
        assert (
            conn.execute(sa.text("SELECT count(*) FROM tenant_data.tasks_monthly WHERE month < '2026-01-01'")).scalar()
            == 0
        )
        assert conn.execute(sa.text("SELECT count(*) FROM tenant_data.cart_items_daily WHERE carts = 0")).scalar() == 0
        conn.execute(sa.text("DELETE FROM tenant_data.tasks"))
        for table in FROM_SCRATCH:
            assert conn.execute(sa.text(f"SELECT count(*) FROM tenant_data.{table}")).scalar() == 0


def test_a_failed_write_leaves_the_rollups_as_they_were(history):
    with pytest.raises(sa.exc.IntegrityError):
        with tenant_scope("acme") as conn:
            conn.execute(sa.text("UPDATE tenant_data.tasks SET status = 'done' WHERE task_key = 'k0'"))
            conn.execute(sa.text("UPDATE tenant_data.tasks SET priority = 9 WHERE task_key = 'k1'"))
    assert_rollups_match_tasks()


def test_removing_a_tenant_leaves_nothing_in_the_rollups(history):
    from ga_intel.tenancy import store

    insert(
        "acme",
        "search_terms_daily",
        [
            dict(
                event_date=JAN,
                branch_code="CHI",
                search_term="drill",
                searches=2,
                searching_users=1,
                sessions=1,
                no_click_sessions=0,
                no_result_searches=0,
                cart_sessions=0,
                purchase_sessions=0,
            )
        ],
    )
    store.remove("acme")
    with tenant_scope("acme") as conn:
        for table in (*FROM_SCRATCH, "search_terms_rollup"):
            assert conn.execute(sa.text(f"SELECT count(*) FROM tenant_data.{table}")).scalar() == 0, table
    with tenant_scope("beta") as conn:
        assert conn.execute(sa.text("SELECT sum(carts) FROM tenant_data.cart_items_monthly")).scalar() == 1


REFERENCE_SEARCH_TERMS = """
WITH t AS (
    SELECT search_term                                   AS term,
           sum(searches + no_result_searches)::bigint    AS searches,
           sum(searches)::bigint                         AS searches_with_results,
           sum(no_result_searches)::bigint               AS no_result_searches,
           sum(searching_users)::bigint                  AS searching_users,
           sum(sessions)::bigint                         AS sessions,
           sum(no_click_sessions)::bigint                AS no_click_sessions,
           sum(cart_sessions)::bigint                    AS cart_sessions,
           sum(purchase_sessions)::bigint                AS purchase_sessions
    FROM tenant_data.search_terms_daily
    WHERE event_date BETWEEN :start AND :end
      AND (CAST(:branch AS text) IS NULL OR branch_code = :branch)
    GROUP BY search_term
), ranked AS (
    SELECT t.*,
           count(*) OVER ()                                                             AS distinct_terms,
           row_number() OVER (ORDER BY searches DESC, term)                             AS top_rank,
           row_number() OVER (ORDER BY no_result_searches DESC, term)                   AS no_result_rank,
           row_number() OVER (ORDER BY no_click_sessions DESC, term)                    AS no_click_rank,
           row_number() OVER (ORDER BY purchase_sessions DESC, cart_sessions DESC, term) AS convert_rank
    FROM t
)
SELECT * FROM ranked
WHERE least(top_rank, no_result_rank, no_click_rank, convert_rank) <= :top
ORDER BY searches DESC, term"""


def _search_day(day: dt.date, salt: int = 0) -> list[dict]:
    rows = []
    for n in range(8):
        if (day.toordinal() + n + salt) % 3 == 0:
            continue
        for branch in ("CHI", "MKE"):
            k = day.toordinal() * 7 + n * 3 + salt + len(branch)
            rows.append(
                dict(
                    event_date=day,
                    branch_code=branch,
                    search_term=f"term {n}",
                    searches=k % 5,
                    searching_users=1 + k % 2,
                    sessions=1 + k % 3,
                    no_click_sessions=k % 2,
                    no_result_searches=k % 4,
                    cart_sessions=k % 3 // 2,
                    purchase_sessions=k % 5 // 3,
                )
            )
    return rows


def test_search_periods_cover_the_range_exactly():
    from streamlit_app.lib.metrics import search_periods

    for start, end in [
        *RANGES,
        (dt.date(2025, 11, 25), dt.date(2026, 11, 24)),
        (JAN, JAN),
        (dt.date(2025, 10, 1), dt.date(2026, 9, 30)),
        (dt.date(2026, 2, 2), dt.date(2026, 2, 8)),
        (dt.date(2026, 2, 23), dt.date(2026, 2, 28)),
        (dt.date(2026, 1, 26), dt.date(2026, 3, 7)),
    ]:
        p = search_periods(start, end)
        days = list(p["days"])
        for q in p["quarters"]:
            assert q.day == 1 and q.month % 3 == 1
            days += [
                q + dt.timedelta(days=i)
                for i in range((dt.date(q.year + q.month // 10, (q.month + 2) % 12 + 1, 1) - q).days)
            ]
        for m in p["months"]:
            days += [m + dt.timedelta(days=i) for i in range(((m + dt.timedelta(days=32)).replace(day=1) - m).days)]
        for w in p["weeks"]:
            assert w.isoweekday() == 1
            days += [w + dt.timedelta(days=i) for i in range(7)]
        assert sorted(days) == [start + dt.timedelta(days=i) for i in range((end - start).days + 1)], (start, end)
    year = search_periods(dt.date(2025, 11, 25), dt.date(2026, 11, 24))
    assert {k: len(v) for k, v in year.items()} == {"quarters": 3, "months": 2, "weeks": 3, "days": 9}


def test_search_terms_read_through_the_rollup_give_the_same_figures(tenants):
    from streamlit_app.lib import metrics

    days = [dt.date(2025, 12, 1) + dt.timedelta(days=i) for i in range(120)]
    insert("acme", "search_terms_daily", [row for day in days for row in _search_day(day)])
    insert(
        "beta", "search_terms_daily", [dict(row, search_term=f"beta-{row['search_term']}") for row in _search_day(JAN)]
    )

    def check() -> None:
        compared = 0
        with data.uncached():
            for start, end in [
                *RANGES,
                (dt.date(2025, 12, 3), dt.date(2026, 3, 30)),
                (JAN, JAN),
                (dt.date(2026, 2, 23), dt.date(2026, 2, 28)),
                (dt.date(2026, 1, 26), dt.date(2026, 3, 7)),
            ]:
                for branch in (None, "MKE"):
                    periods = metrics.search_periods(start, end)
                    got = data.fetch("acme", "search_terms", start=start, end=end, branch=branch, top=3, **periods)
                    want = _frame(REFERENCE_SEARCH_TERMS, dict(start=start, end=end, branch=branch, top=3))
                    same_frames(got, want, [], ordered=True)
                    compared += len(want)
        assert compared > 50

    check()
    # A re-run of a day, as the metrics asset writes it: its rows deleted, then inserted anew.
    rerun = dt.date(2026, 1, 14)
    with tenant_scope("acme") as conn:
        conn.execute(
            sa.text("DELETE FROM tenant_data.search_terms_daily WHERE tenant_id = 'acme' AND event_date = :d"),
            {"d": rerun},
        )
    insert("acme", "search_terms_daily", _search_day(rerun, salt=1))
    with tenant_scope("acme") as conn:
        conn.execute(sa.text("DELETE FROM tenant_data.search_terms_daily WHERE event_date = '2025-12-01'"))
        conn.execute(
            sa.text(
                "UPDATE tenant_data.search_terms_daily SET searches = searches + 10 WHERE event_date = '2026-02-02'"
            )
        )
    check()
    with tenant_scope("acme") as conn:
        assert (
            conn.execute(
                sa.text("SELECT count(*) FROM tenant_data.search_terms_rollup WHERE search_term LIKE 'beta-%'")
            ).scalar()
            == 0
        )
        conn.execute(sa.text("DELETE FROM tenant_data.search_terms_daily"))
        assert conn.execute(sa.text("SELECT count(*) FROM tenant_data.search_terms_rollup")).scalar() == 0


def test_concurrent_writers_of_a_tenant_wait_for_each_other_instead_of_deadlocking(tenants):
    """Two transactions updating different tasks of the same two roll-up groups, in opposite
    orders: each would hold one group's row and wait for the other's. Migration 0009's
    per-tenant lock (taken before a statement touches a row) makes the second wait for the
    first's commit instead."""
    import threading
    import time

    insert(
        "acme",
        "tasks",
        [
            task("g1-a", "purchase_followup", "CHI", "rep@acme.example", value=1, day=JAN),
            task("g1-b", "purchase_followup", "CHI", "rep@acme.example", value=1, day=JAN),
            task("g2-a", "search_followup", "MKE", "rep2@acme.example", value=1, day=JAN),
            task("g2-b", "search_followup", "MKE", "rep2@acme.example", value=1, day=JAN),
        ],
    )
    bump = "UPDATE tenant_data.tasks SET value = value + 1 WHERE task_key = :k"
    errors: list[Exception] = []
    first_done = threading.Event()

    def writer(first: str, second: str, signal: bool) -> None:
        try:
            with tenant_scope("acme") as conn:
                conn.execute(sa.text(bump), {"k": first})
                if signal:
                    first_done.set()
                time.sleep(0.5)
                conn.execute(sa.text(bump), {"k": second})
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    a = threading.Thread(target=writer, args=("g1-a", "g2-a", True))
    b = threading.Thread(target=writer, args=("g2-b", "g1-b", False))
    a.start()
    assert first_done.wait(5)
    b.start()
    a.join(20)
    b.join(20)
    assert not errors, errors
    assert_rollups_match_tasks()
    with tenant_scope("acme") as conn:
        assert conn.execute(sa.text("SELECT sum(value) FROM tenant_data.tasks_monthly")).scalar() == 8


def assert_search_rollup_matches_daily() -> None:
    want = _frame(SEARCH_FROM_SCRATCH, {})
    got = _frame(f"SELECT {', '.join(want.columns)} FROM tenant_data.search_terms_rollup", {})
    same_frames(got, want, ["grain", "period", "search_term"])


def test_rollups_follow_bulk_statements(tenants):
    """Migration 0017's functions on statements of thousands of rows over many weeks,
    months and quarters (the dashboard bench generator's own INSERTs, scaled down): one
    INSERT, UPDATEs of counts and statuses across periods, DELETEs of some days and of
    everything; the roll-ups equal their recomputation after each."""
    import sys

    from ga_intel.devrun import REPO

    sys.path.insert(0, str(REPO))
    from bench.dashboard import TASKS_PER_EVENT, search_terms_statement, tasks_statement

    params = {"tenant": "acme", "start": dt.date(2025, 11, 20), "end": dt.date(2026, 5, 10)}  # 3 quarters
    with tenant_scope("acme") as conn:
        conn.execute(sa.text("SELECT setseed(0.16)"))
        searched = conn.execute(sa.text(search_terms_statement(8_000)), params).rowcount
        for task_type, share in TASKS_PER_EVENT.items():
            conn.execute(sa.text(tasks_statement(task_type, round(20_000 * share))), params)
        carts = conn.execute(
            sa.text("SELECT count(*) FROM tenant_data.tasks WHERE task_type = 'cart_recovery'")
        ).scalar()
    assert searched > 5_000 and carts > 1_000
    assert_search_rollup_matches_daily()
    assert_rollups_match_tasks()
    with tenant_scope("acme") as conn:
        conn.execute(
            sa.text(
                "UPDATE tenant_data.search_terms_daily SET searches = searches + 1, no_result_searches = 0 "
                "WHERE event_date BETWEEN '2026-01-15' AND '2026-03-15'"
            )
        )
        conn.execute(sa.text("DELETE FROM tenant_data.search_terms_daily WHERE extract(dow FROM event_date) IN (1, 4)"))
        conn.execute(
            sa.text(
                "UPDATE tenant_data.tasks SET status = 'recovered', recovered_revenue = 50, recovered_on = created_date + 1 "
                "WHERE task_type = 'cart_recovery' AND status IN ('open', 'done') AND created_date < '2026-03-01'"
            )
        )
        conn.execute(sa.text("UPDATE tenant_data.tasks SET status = 'expired' WHERE status = 'in_progress'"))
        conn.execute(
            sa.text(
                "UPDATE tenant_data.tasks SET branch_code = 'MKE', assigned_rep_email = 'Rep2@Acme.example' "
                "WHERE branch_code = 'B007'"
            )
        )
        conn.execute(sa.text("DELETE FROM tenant_data.tasks WHERE extract(dow FROM created_date) = 2"))
    assert_search_rollup_matches_daily()
    assert_rollups_match_tasks()
    with tenant_scope("acme") as conn:
        conn.execute(sa.text("DELETE FROM tenant_data.search_terms_daily"))
        conn.execute(sa.text("DELETE FROM tenant_data.tasks"))
        for table in (*FROM_SCRATCH, "search_terms_rollup"):
            assert conn.execute(sa.text(f"SELECT count(*) FROM tenant_data.{table}")).scalar() == 0, table

"""The Tasks page (the work list) with AppTest against the real platform database: role
scoping enforced in the SQL, filters, status changes and notes written back, kept across a
real re-computation of the tasks, the customer's activity, and tenant isolation."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from ga_intel.db import control, tenant_scope
from ga_intel.errors import GaIntelError
from ga_intel.insights import tasks as task_rules
from ga_intel.tenancy import store
from ga_intel_tests.helpers.pages import (
    BETA_TASK,
    D1,
    D2,
    OLD,
    _ts,
    assert_no_beta,
    ctx_for,
    db_task,
    insert,
    open_page,
    purchase,
    rendered,
    search,
    session,
    task,
    texts,
)
from streamlit_app.lib import pagedata, task_scope

pytestmark = pytest.mark.usefixtures("fresh_cache")

CART_U1, PURCHASE_T1, SEARCH_U3, REPEAT_C9 = (
    "cart:user:u1:D1",
    "purchase:T1",
    "search:user:u3:D2",
    "repeat:company:C9:D2",
)
DONE_T2, OLD_T0, CART_U2 = "purchase:T2", "purchase:T0", "cart:user:u2:D2"
BETA_KEY = "cart:user:b1:D1"


@pytest.fixture
def work(ga4):
    """ga4's two cart tasks (u1 CHI rep open; u2 MKE rep2 recovered) plus:
    purchase:T1 (CHI, rep, open, priority 1), search u3 (CHI, unassigned, open),
    repeat C9 (MKE, rep2, in progress, a company account), purchase:T2 (MKE, rep2, done),
    purchase:T0 (CHI, rep, open, created before the selected dates).
    Activity: customer u1 has 2 sessions, a cart add, a search and an order; company C9 a
    session. beta has a session of *its* customer u1, which acme's u1 must never show."""
    insert(
        "acme",
        "tasks",
        [
            task(PURCHASE_T1, "purchase_followup", "CHI", "rep@acme.example", value=100, customer="u1", priority=1),
            task(
                SEARCH_U3,
                "search_followup",
                "CHI",
                None,
                day=D2,
                customer="u3",
                priority=3,
                context={"terms": ["hammer"], "no_result_terms": ["hammer"]},
            ),
            task(REPEAT_C9, "repeat_visitor", "MKE", "rep2@acme.example", day=D2, company="C9", status="in_progress"),
            task(
                DONE_T2, "purchase_followup", "MKE", "rep2@acme.example", value=60, day=D2, customer="u2", status="done"
            ),
            task(OLD_T0, "purchase_followup", "CHI", "rep@acme.example", value=10, day=OLD, customer="u1"),
        ],
    )
    insert(
        "acme",
        "users",
        [
            dict(
                user_id="u1",
                first_name="Ava",
                last_name="Chen",
                email="ava@customer.example",
                office_phone="+1 312 555 0101",
                company_id="C1",
                company_name="Chen Plumbing",
                branch_code="CHI",
                source_row=2,
            ),
            dict(
                user_id="c9a",
                first_name="Cy",
                last_name="Nine",
                company_id="C9",
                company_name="Nine Builders",
                branch_code="MKE",
                source_row=3,
            ),
        ],
    )
    insert(
        "acme",
        "sessions",
        [
            session(D1, "d-u1", 11, customer="u1"),
            session(D2, "d-u1", 12, True, customer="u1"),
            session(D2, "d-c9", 13, company="C9"),
        ],
    )
    insert(
        "acme",
        "cart_adds",
        [
            dict(
                event_date=D1,
                customer_id="u1",
                user_pseudo_id="d-u1",
                ga_session_id=11,
                event_time=_ts(D1),
                event_timestamp=1,
                line_no=0,
                item_id="SKU-1",
                item_name="Ball Valve",
                quantity=2,
                price=100,
                value=200,
            )
        ],
    )
    insert("acme", "searches", [search(D1, "ball valve", user="d-u1", sid=11, view=True, cart=True, customer="u1")])
    insert("acme", "purchases", [purchase(D2, "T1", 100, customer="u1")])
    insert("beta", "sessions", [dict(session(D1, "beta-device", 99, customer="u1"), landing_page="beta-secret-page")])


def listed(at) -> list[str]:
    """The task keys of the "All tasks" table (the one table with a task key column)."""
    [table] = [d for d in at.dataframe if "task_key" in d.value.columns]
    return list(table.value["task_key"])


def save(at, status: str, note: str | None = None):
    at.selectbox(key="task-status").set_value(status)
    if note is not None:
        at.text_area(key="task-note").input(note)
    next(b for b in at.button if b.form_id == "task-status").click()
    at.run()
    assert not at.exception, at.exception
    return at


@pytest.mark.parametrize(
    "email, expected",
    [
        ("admin@acme.example", [PURCHASE_T1, REPEAT_C9, CART_U1, SEARCH_U3]),  # priority, then due date
        ("manager@acme.example", [PURCHASE_T1, CART_U1, SEARCH_U3]),  # CHI only
        ("rep@acme.example", [PURCHASE_T1, CART_U1]),  # assigned to them only
        ("rep2@acme.example", [REPEAT_C9]),
    ],
)
def test_work_list_by_role(work, monkeypatch, email, expected):
    at = open_page(monkeypatch, email, "tasks")
    assert at.title[0].value == "Tasks"
    assert listed(at) == expected  # open and in progress, by priority then due date
    assert len(at.get("plotly_chart")) == 1 and at.get("download_button")
    assert OLD_T0 not in rendered(at)  # created before the selected dates
    assert_no_beta(at)


def test_rep_without_tasks_gets_an_explained_empty_list(work, monkeypatch):
    at = open_page(monkeypatch, "multi@both.example", "tasks")  # a rep in acme with nothing assigned
    assert any("No tasks for you in these dates" in i.value and "assigned to their email" in i.value for i in at.info)
    assert not at.dataframe


def test_filters(work, monkeypatch):
    at = open_page(monkeypatch, "admin@acme.example", "tasks")
    at.multiselect(key="tasks-statuses").set_value(list(pagedata.TASK_STATUSES)).run()
    assert set(listed(at)) == {PURCHASE_T1, CART_U1, REPEAT_C9, SEARCH_U3, DONE_T2, CART_U2}
    at.multiselect(key="tasks-types").set_value(["cart_recovery"]).run()
    assert listed(at) == [CART_U2, CART_U1]  # D2 is the day before D1: due first
    at.multiselect(key="tasks-types").set_value(list(pagedata.TASK_TYPES)).run()
    at.selectbox(key="tasks-branch").set_value("MKE").run()
    assert set(listed(at)) == {REPEAT_C9, DONE_T2, CART_U2}
    at.selectbox(key="tasks-rep").set_value("rep2@acme.example").run()
    assert set(listed(at)) == {REPEAT_C9, DONE_T2, CART_U2}
    at.selectbox(key="tasks-branch").set_value(None).run()
    at.selectbox(key="tasks-rep").set_value("").run()  # unassigned
    assert listed(at) == [SEARCH_U3]
    at.multiselect(key="tasks-statuses").set_value(["dismissed"]).run()
    assert any("No task matches these filters" in i.value for i in at.info)


def test_manager_and_rep_filters_are_fixed_to_their_scope(work, monkeypatch):
    manager = open_page(monkeypatch, "manager@acme.example", "tasks")
    assert manager.selectbox(key="tasks-branch").options == ["CHI"]
    rep = open_page(monkeypatch, "rep@acme.example", "tasks")
    assert rep.selectbox(key="tasks-rep").options == ["rep@acme.example"]


def test_scope_is_in_the_sql_whatever_the_filters_ask(work):
    """The loader itself, as the page calls it: a filter can narrow, never widen."""
    every = pagedata.TaskFilters(statuses=pagedata.TASK_STATUSES)
    manager = ctx_for("manager@acme.example", "manager", "CHI")
    assert set(pagedata.task_list(manager, every)["branch_code"]) == {"CHI"}
    assert pagedata.task_list(manager, pagedata.TaskFilters(statuses=pagedata.TASK_STATUSES, branch="MKE")).empty
    rep = ctx_for("REP@acme.example", "rep", "CHI")  # email case does not matter
    assert set(pagedata.task_list(rep, every)["task_key"]) == {PURCHASE_T1, CART_U1}
    assert pagedata.task_list(rep, pagedata.TaskFilters(statuses=pagedata.TASK_STATUSES, rep="rep2@acme.example")).empty
    assert pagedata.task_list(ctx_for("x@acme.example", "guest"), every).empty  # an unknown role sees nothing
    tenant_wide = ctx_for("boss@acme.example", "manager", None)  # a manager without a branch: the tenant
    assert len(pagedata.task_list(tenant_wide, every)) == 6


def test_status_change_and_note_are_written_back(work, monkeypatch):
    at = open_page(monkeypatch, "rep@acme.example", "tasks")
    at.selectbox(key="task-pick").set_value(PURCHASE_T1).run()
    save(at, "in_progress", "left a voicemail")
    row = db_task("acme", PURCHASE_T1)
    assert (row["status"], row["note"], row["status_set_by"]) == ("in_progress", "left a voicemail", "rep@acme.example")
    assert any("is now in_progress" in s.value for s in at.success)
    [table] = [d for d in at.dataframe if "task_key" in d.value.columns]
    shown = table.value.set_index("task_key")
    assert shown.loc[PURCHASE_T1, "status"] == "in_progress" and shown.loc[PURCHASE_T1, "note"] == "left a voicemail"
    at.selectbox(key="task-pick").set_value(PURCHASE_T1).run()
    save(at, "done")  # the note stays when it is not changed
    assert (db_task("acme", PURCHASE_T1)["status"], db_task("acme", PURCHASE_T1)["note"]) == (
        "done",
        "left a voicemail",
    )
    assert PURCHASE_T1 not in listed(at)  # done is not in the default status filter


def test_rep_cannot_change_a_task_that_is_not_theirs(work, monkeypatch):
    rep = ctx_for("rep@acme.example", "rep", "CHI")
    for key in (REPEAT_C9, SEARCH_U3, BETA_KEY):  # another rep's, an unassigned one, another tenant's
        with pytest.raises(GaIntelError, match="not in your work list"):
            task_scope.change_status(rep, key, "dismissed", "sneaky")
    assert db_task("acme", REPEAT_C9)["status"] == "in_progress" and db_task("acme", SEARCH_U3)["status"] == "open"
    assert db_task("beta", BETA_KEY)["status"] == "open" and db_task("beta", BETA_KEY)["note"] is None
    manager = ctx_for("manager@acme.example", "manager", "CHI")
    with pytest.raises(GaIntelError):
        task_scope.change_status(manager, REPEAT_C9, "dismissed", None)  # MKE's, not CHI's

    # Through the page, with the picked task crafted in session state: the pick is reset to
    # one of the rep's own tasks before anything is shown or saved.
    at = open_page(monkeypatch, "rep@acme.example", "overview")
    at.session_state["task-pick"] = REPEAT_C9
    at.switch_page("views/tasks.py").run()
    assert at.selectbox(key="task-pick").value in (PURCHASE_T1, CART_U1)
    save(at, "dismissed", "sneaky")
    assert db_task("acme", REPEAT_C9)["status"] == "in_progress" and db_task("acme", REPEAT_C9)["note"] is None
    assert "C9" not in "".join(str(df.value) for df in at.dataframe[1:])  # no activity of the company shown


def test_customer_activity_of_the_selected_task(work, monkeypatch):
    at = open_page(monkeypatch, "admin@acme.example", "tasks")
    at.selectbox(key="task-pick").set_value(PURCHASE_T1).run()
    frames = {tuple(df.value.columns): df.value for df in at.dataframe}
    by_column = {col: frame for cols, frame in frames.items() for col in cols}
    assert list(by_column["landing_page"]["landing_page"]) == [
        "https://shop.example/d-u1/11",  # D1, newest
        "https://shop.example/d-u1/12",
    ]
    assert list(by_column["search_term"]["search_term"]) == ["ball valve"]
    assert list(by_column["transaction_id"]["transaction_id"]) == ["T1"]
    assert by_column["office_phone"].iloc[0]["name"] == "Ava Chen"
    assert listed(at)  # the list is still there
    page = rendered(at)
    assert "beta-secret-page" not in page and "beta-device" not in page  # beta's own customer u1
    at.selectbox(key="task-pick").set_value(REPEAT_C9).run()
    assert "company **C9**" in texts(at)
    landing = next(df.value for df in at.dataframe if "landing_page" in df.value.columns)
    assert list(landing["landing_page"]) == ["https://shop.example/d-c9/13"]
    at.selectbox(key="task-pick").set_value(SEARCH_U3).run()
    assert any("No sessions of this customer" in i.value for i in at.info)
    assert "Searched for: hammer" in [t.value for t in at.text]  # plain text, not Markdown


def test_tenant_b_tasks_never_show_for_tenant_a(work, monkeypatch):
    """beta's task is assigned to rep@acme.example's email: only row-level security keeps it out."""
    at = open_page(monkeypatch, "rep@acme.example", "tasks")
    at.multiselect(key="tasks-statuses").set_value(list(pagedata.TASK_STATUSES)).run()
    assert BETA_KEY not in listed(at) and BETA_TASK not in rendered(at)
    at.session_state["tenant"] = "beta"
    at.run()
    assert at.session_state["tenant"] == "acme" and BETA_TASK not in rendered(at)


# ------------------------------------------------------------------ with the real task computation
SHOP_DAY = dt.date(2024, 3, 4)


def test_a_status_set_on_the_page_survives_recomputation(db, secret_key, monkeypatch):
    from ga_intel_tests.helpers.shop import Shop

    shop = Shop("shop")  # CHI customers u1 and u3, the CHI rep kara@shop.example
    with control() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO control.tenant_members (tenant_id, email, role, branch_scope) "
                "VALUES ('shop', 'kara@shop.example', 'rep', 'CHI')"
            )
        )
    monkeypatch.setenv("GA_INTEL_DEV_LOGIN", "1")
    shop.purchase(SHOP_DAY, 9, 120.0, "T1", customer="u1")
    shop.search(SHOP_DAY, 10, "taco", customer="u3", no_results=True)
    config = store.get("shop")
    with tenant_scope("shop") as conn:
        task_rules.compute(conn, "shop", SHOP_DAY, config, today=SHOP_DAY + dt.timedelta(days=1))

    at = open_page(monkeypatch, "kara@shop.example", "tasks")
    at.sidebar.date_input(key="date_range").set_value((SHOP_DAY, SHOP_DAY)).run()
    assert listed(at) == ["purchase:T1", "search:user:u3:2024-03-04"]
    at.selectbox(key="task-pick").set_value("purchase:T1").run()
    save(at, "done", "thanked her, reorders monthly")
    at.selectbox(key="task-pick").set_value("search:user:u3:2024-03-04").run()
    save(at, "dismissed", "wrong shop")

    for _ in range(2):  # re-materialization: the same day computed again
        with tenant_scope("shop") as conn:
            task_rules.compute(conn, "shop", SHOP_DAY, config, today=SHOP_DAY + dt.timedelta(days=1))
    done, dismissed = db_task("shop", "purchase:T1"), db_task("shop", "search:user:u3:2024-03-04")
    assert (done["status"], done["note"], done["status_set_by"]) == (
        "done",
        "thanked her, reorders monthly",
        "kara@shop.example",
    )
    assert (dismissed["status"], dismissed["note"]) == ("dismissed", "wrong shop")

    at = open_page(monkeypatch, "kara@shop.example", "tasks")
    at.sidebar.date_input(key="date_range").set_value((SHOP_DAY, SHOP_DAY)).run()
    at.multiselect(key="tasks-statuses").set_value(["done", "dismissed"]).run()
    [table] = [d for d in at.dataframe if "task_key" in d.value.columns]
    shown = table.value.set_index("task_key")
    assert shown.loc["purchase:T1", "status"] == "done"
    assert shown.loc["purchase:T1", "note"] == "thanked her, reorders monthly"
    assert shown.loc["search:user:u3:2024-03-04", "status"] == "dismissed"


# ------------------------------------------------------------------ my list for today
def daily_table(at):
    """The "My list for today" table (the data editor: a table with an editable Status)."""
    [table] = [d for d in at.data_editor if "What to do" in d.value.columns] or [None]
    return table


def test_my_list_for_today_is_ranked_new_first_within_horizons(work, monkeypatch):
    with tenant_scope("acme") as conn:  # a task past its horizon never shows, however open
        conn.execute(
            sa.text("UPDATE tenant_data.tasks SET horizon_date = CAST(:d AS date) - 3 WHERE task_key = :k"),
            {"d": dt.date.today(), "k": CART_U1},
        )
    rep = ctx_for("rep@acme.example", "rep", "CHI")
    daily = pagedata.daily_list(rep, "rep@acme.example")
    # the cart is past its horizon, and so is T0 (created weeks ago); both are still open
    assert list(daily.tasks["task_key"]) == [PURCHASE_T1]
    admin = ctx_for("admin@acme.example", "admin")
    everyone = pagedata.daily_list(admin, None).tasks
    assert CART_U1 not in set(everyone["task_key"]) and DONE_T2 not in set(everyone["task_key"])
    # per assignee: new (yesterday's and today's) tasks first, then by score; ranks restart per rep
    for _, rows in everyone.groupby("assigned_rep_email", dropna=False):
        assert list(rows["rank"]) == list(range(1, len(rows) + 1))
        assert list(rows["is_new"]) == sorted(rows["is_new"], reverse=True)


def test_my_list_for_today_is_capped_per_rep(work, monkeypatch):
    store.update_section("acme", "rules", {"daily_list_cap": 1})
    admin = ctx_for("admin@acme.example", "admin")
    daily = pagedata.daily_list(admin, None)
    assert daily.cap == 1
    assert daily.tasks.groupby("assigned_rep_email", dropna=False).size().max() == 1
    rep = daily.tasks[daily.tasks["assigned_rep_email"] == "rep@acme.example"].iloc[0]
    assert rep["list_size"] >= 2  # the rest is counted, not listed
    at = open_page(monkeypatch, "rep@acme.example", "tasks")
    assert any("more in the full list below" in c.value for c in at.caption)


def test_a_status_is_set_in_my_list_with_one_click(work, monkeypatch):
    at = open_page(monkeypatch, "rep@acme.example", "tasks")
    table = daily_table(at)
    assert table is not None and "Status" in table.value.columns and "status" not in table.value.columns
    assert "task_key" not in table.value.columns  # headers are words
    row = list(table.value["What to do"]).index(f"Task {PURCHASE_T1}")
    at.session_state["tasks-daily"] = {
        "edited_rows": {row: {"Status": "in_progress", "Note": "called"}},
        "added_rows": [],
        "deleted_rows": [],
    }
    at.run()
    assert not at.exception, at.exception
    task = db_task("acme", PURCHASE_T1)
    assert (task["status"], task["note"], task["status_set_by"]) == ("in_progress", "called", "rep@acme.example")
    assert task["first_touched_at"] is not None


def test_titles_and_search_terms_are_plain_text_not_markdown(ga4, monkeypatch):
    """A site visitor types the search terms and master data names the customer: a Markdown
    link or image in them is shown as typed, never rendered (issue 15, smaller items)."""
    hostile = "[click me](https://evil.example/phish) ![x](https://evil.example/t.png) **bold**"
    insert(
        "acme",
        "tasks",
        [
            task(
                "search:hostile",
                "search_followup",
                "CHI",
                "rep@acme.example",
                day=D2,
                customer="u1",
                priority=1,
                title=f"Call {hostile}",
                context={"terms": [hostile], "no_result_terms": [hostile]},
            )
        ],
    )
    at = open_page(monkeypatch, "admin@acme.example", "tasks")
    at.selectbox(key="task-pick").set_value("search:hostile").run()
    assert not at.exception, at.exception
    texts = [t.value for t in at.text]
    assert f"Call {hostile}" in texts and f"Searched for: {hostile}" in texts
    assert not any("evil.example" in m.value for m in at.markdown)

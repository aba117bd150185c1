"""Tasks: the sales team's work list.

It opens on "my list for today": the ranked list the morning email shows (one query,
ga_intel/insights/sql/work_list.sql): today's new tasks first, then by score, at most the
tenant's daily cap per rep, with overdue tasks aged. A status or a note is set in the
table itself. Below it, every task in the dates, with filters.

Who sees what is decided by the person's role in the control plane and enforced in every
task query (lib/task_scope.py): a rep their own tasks, a manager their branch's, an admin
all of them. A status change and a note are written through
`ga_intel.insights.tasks.set_status` after the scope is checked again on the row;
re-computing tasks never overwrites them (docs/TASKS.md).
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import plotly.express as px
import streamlit as st

from ga_intel.insights.tasks import PERSON_STATUSES, STATUS_LABELS, TASK_TYPES
from streamlit_app.lib import context, labels, pagedata, task_scope, ui, widgets

ctx = context.current()
st.title("Tasks")

FLASH_KEY = "tasks-flash"
PICK_KEY = "task-pick"
UNASSIGNED = ""
TYPE_NAMES = {t: label.removesuffix("s").lower() for t, label in TASK_TYPES.items()}

if flash := st.session_state.pop(FLASH_KEY, None):
    st.success(flash, icon=":material/check_circle:")


def _rep_from_link() -> str | None:
    """`?rep=` of an email link: an email, or 'unassigned'."""
    value = st.query_params.get("rep")
    if value is None:
        return None
    return UNASSIGNED if value == "unassigned" else value.lower()


# ------------------------------------------------------------------ my list for today
st.subheader("My list for today")
if ctx.role == "rep":
    list_rep: str | None = ctx.email.lower()
else:
    linked = _rep_from_link()
    list_rep = st.selectbox(
        "Whose list",
        [None, linked] if linked is not None else [None],
        index=1 if linked is not None else 0,
        key="tasks-list-rep",
        format_func=lambda r: (
            "Every rep's top tasks" if r is None else ("Not assigned to a rep" if r == UNASSIGNED else r)
        ),
    )
with st.spinner("Loading today's list…"), ui.stop_on_error():
    daily = pagedata.daily_list(ctx, list_rep)

if daily.tasks.empty:
    st.info(
        "Nothing to do today: no open task within its actionable horizon"
        + (" is assigned to you." if ctx.role == "rep" else " in your scope."),
        icon=":material/task_alt:",
    )
else:
    listed = daily.tasks
    more = int((listed.drop_duplicates("assigned_rep_email")["list_size"]).sum()) - len(listed)
    st.caption(
        f"{len(listed)} task(s) ranked for {daily.today:%a %d %b}: today's new tasks first, then by score "
        f"(value, priority, the account's 90-day revenue, recency; docs/TASKS.md). At most {daily.cap} per rep"
        + (f"; {more} more in the full list below." if more > 0 else ".")
    )
    table = pd.DataFrame(
        {
            "Rank": listed["rank"],
            "New": listed["is_new"],
            "Type": [TYPE_NAMES.get(t, t) for t in listed["task_type"]],
            "Customer": [c or n or "Unknown customer" for c, n in zip(listed["company_name"], listed["contact_name"])],
            "What to do": listed["title"],
            "Value": listed["value"],
            "Due": listed["due_date"],
            "Days overdue": listed["days_overdue"],
            "Phone": listed["contact_phone"],
            "Email": listed["contact_email"],
            "Rep": [n or e or "unassigned" for n, e in zip(listed["assigned_rep_name"], listed["assigned_rep_email"])],
            "Status": listed["status"],
            "Note": listed["note"].fillna(""),
        }
    )
    edited = st.data_editor(
        table,
        hide_index=True,
        width="stretch",
        key="tasks-daily",
        disabled=[c for c in table.columns if c not in ("Status", "Note")],
        column_config={
            "Value": st.column_config.NumberColumn(format="%.2f"),
            "Days overdue": st.column_config.ProgressColumn(
                "Days overdue",
                help="Days past the due date; the task leaves the list at its horizon.",
                format="%d",
                min_value=0,
                max_value=7,
            ),
            "Status": st.column_config.SelectboxColumn("Status", options=list(PERSON_STATUSES), required=True),
            "Note": st.column_config.TextColumn("Note", max_chars=2000),
        },
    )
    changes = st.session_state.get("tasks-daily", {}).get("edited_rows", {})
    if changes:
        with ui.stop_on_error():
            for row, change in changes.items():
                key = listed["task_key"].iloc[int(row)]
                status = change.get("Status", listed["status"].iloc[int(row)])
                note = change.get("Note", listed["note"].iloc[int(row)])
                task_scope.change_status(ctx, key, status, (note or "").strip() or None)
        st.session_state[FLASH_KEY] = f"Saved {len(changes)} change(s)."
        st.session_state.pop("tasks-daily", None)
        st.rerun()
    widgets.download(table, "tasks_today")

# ------------------------------------------------------------------ every task
st.subheader("All tasks")
st.caption(
    f"Tasks created {ctx.start:%b %d, %Y} – {ctx.end:%b %d, %Y} · you see {task_scope.describe(ctx)}"
    + (f" · branch filter **{ctx.branch_filter}**" if ctx.branch_filter else "")
)
with st.spinner("Loading your tasks…"), ui.stop_on_error():
    summary = pagedata.task_summary(ctx)

if summary.empty:
    widgets.empty_state(
        f"No tasks for you in these dates ({task_scope.describe(ctx).replace('**', '')}). Tasks are made by the "
        "pipeline from each loaded GA4 day: purchases, abandoned carts, unhelpful searches and repeat visits of "
        "customers known from the master data. Check the **Data** page for loaded days, or pick other dates."
        + (" A rep sees only the tasks assigned to their email." if ctx.role == "rep" else "")
    )
    st.stop()

active = summary[summary["status"].isin(pagedata.ACTIVE_STATUSES)]
cells = st.columns(5)
widgets.metric(cells[0], "Open", int(summary.loc[summary["status"] == "open", "tasks"].sum()))
widgets.metric(cells[1], "In progress", int(summary.loc[summary["status"] == "in_progress", "tasks"].sum()))
widgets.metric(cells[2], "Overdue", int(active["overdue"].sum()), help="Open or in progress, past the due date.")
widgets.metric(cells[3], "Done", int(summary.loc[summary["status"] == "done", "tasks"].sum()))
widgets.metric(
    cells[4],
    "Stale",
    int(summary.loc[summary["status"] == "stale", "tasks"].sum()),
    help="Computed after their actionable horizon (a backfill, a late export): kept for the figures, "
    "never in a work list.",
)

# ------------------------------------------------------------------ filters
left, mid, right, far = st.columns(4)
types = left.multiselect(
    "Type",
    pagedata.TASK_TYPES,
    default=list(pagedata.TASK_TYPES),
    key="tasks-types",
    format_func=lambda t: TYPE_NAMES.get(t, t),
)
statuses = mid.multiselect(
    "Status",
    pagedata.TASK_STATUSES,
    default=list(pagedata.ACTIVE_STATUSES),
    key="tasks-statuses",
    format_func=lambda s: STATUS_LABELS.get(s, s),
)
if ctx.branch_filter:
    branch_choices = [ctx.branch_filter]
elif ctx.role == "manager" and ctx.branch:
    branch_choices = [ctx.branch]
else:
    branch_choices = [None, *sorted(summary["branch_code"].dropna().unique())]
branch = right.selectbox(
    "Branch",
    branch_choices,
    key="tasks-branch",
    format_func=lambda b: "All branches" if b is None else b,
    disabled=len(branch_choices) == 1,
)
if ctx.role == "rep":
    rep_choices: list[str | None] = [ctx.email]
else:
    reps = summary[["rep_email", "rep_name"]].drop_duplicates("rep_email")
    rep_names = {e: n for e, n in zip(reps["rep_email"], reps["rep_name"]) if isinstance(e, str)}
    rep_choices = [None, *sorted(rep_names)] + ([UNASSIGNED] if reps["rep_email"].isna().any() else [])
rep = far.selectbox(
    "Rep",
    rep_choices,
    key="tasks-rep",
    disabled=len(rep_choices) == 1,
    format_func=lambda r: "Anyone" if r is None else ("(unassigned)" if r == UNASSIGNED else r),
)

filters = pagedata.TaskFilters(types=tuple(types), statuses=tuple(statuses), branch=branch, rep=rep)
with st.spinner("Loading the work list…"), ui.stop_on_error():
    tasks = pagedata.task_list(ctx, filters)

# ------------------------------------------------------------------ the list
if tasks.empty:
    widgets.empty_state(
        "No task matches these filters. Widen the type or status filters (done, dismissed, "
        "recovered, expired and stale tasks are hidden by default)."
    )
    st.stop()
if len(tasks) >= pagedata.TASK_LIST_LIMIT:
    st.caption(f"The first {pagedata.TASK_LIST_LIMIT} tasks by priority and due date; narrow the filters for the rest.")
shown = tasks[
    [
        "priority",
        "due_date",
        "status",
        "task_type",
        "title",
        "value",
        "branch_code",
        "assigned_rep_name",
        "assigned_rep_email",
        "created_date",
        "note",
        "task_key",
    ]
].copy()
today = dt.date.today()
shown.insert(
    2,
    "overdue",
    [s in pagedata.ACTIVE_STATUSES and pd.notna(d) and d < today for s, d in zip(shown["status"], shown["due_date"])],
)
keys = list(tasks["task_key"])


def _picked_row() -> None:
    rows = st.session_state["tasks-table"].selection.rows
    if rows:
        st.session_state[PICK_KEY] = keys[rows[0]]


st.dataframe(
    shown,
    hide_index=True,
    width="stretch",
    key="tasks-table",
    on_select=_picked_row,
    selection_mode="single-row",
    column_config=labels.column_config(
        shown,
        {
            "priority": "Priority",
            "due_date": "Due",
            "overdue": "Overdue",
            "status": "Status",
            "task_type": "Type",
            "title": "What to do",
            "value": st.column_config.NumberColumn("Value", format="%.2f"),
            "branch_code": "Branch",
            "assigned_rep_name": "Rep",
            "assigned_rep_email": "Rep email",
            "created_date": "Created",
            "note": "Note",
            "task_key": "Task key",
        },
    ),
)
widgets.download(shown, "tasks_work_list")

by_type = tasks.groupby(["task_type", "status"], as_index=False).agg(
    tasks=("task_key", "count"), value=("value", "sum")
)
widgets.chart(
    px.bar(
        by_type,
        x="task_type",
        y="tasks",
        color="status",
        title="Listed tasks by type and status",
        labels={"task_type": "Type", "tasks": "Tasks", "status": "Status"},
    ),
    by_type,
    "tasks_by_type",
)

# ------------------------------------------------------------------ one task
st.subheader("Task")
if st.session_state.get(PICK_KEY) not in keys:
    st.session_state[PICK_KEY] = keys[0]  # only a key of this person's scoped list can be picked
titles = dict(zip(tasks["task_key"], tasks["title"]))
picked = st.selectbox(
    "Selected task (or click a row above)", keys, key=PICK_KEY, format_func=lambda k: f"{titles.get(k, k)} · {k}"
)
task = tasks.set_index("task_key").loc[picked].to_dict() | {"task_key": picked}

info, form_col = st.columns([3, 2])
with info:
    # Titles, names, notes and search terms come from master data, people and site visitors:
    # shown as plain text, never as Markdown (links, images, formatting).
    st.text(str(task["title"]))
    st.text(
        f"{TYPE_NAMES.get(task['task_type'], task['task_type'])} · status {task['status']} · priority "
        f"{task['priority']} · due {task['due_date']} · branch {task['branch_code']} · rep "
        f"{task['assigned_rep_name'] or task['assigned_rep_email'] or 'unassigned'}"
    )
    if task.get("status_set_by"):
        st.caption(widgets.plain(f"Status set by {task['status_set_by']} at {task['status_set_at']}"))
    if task.get("note"):
        st.info(widgets.plain(f"Note: {task['note']}"), icon=":material/sticky_note_2:")
    context_data = task.get("context") if isinstance(task.get("context"), dict) else {}
    items = context_data.get("items")
    if items:
        st.dataframe(pd.DataFrame(items), hide_index=True, width="stretch", key="task-items")
    if context_data.get("terms"):
        st.text("Searched for: " + ", ".join(map(str, context_data["terms"])))
with form_col:
    with st.form("task-status"):
        current = task["status"] if task["status"] in PERSON_STATUSES else "done"
        new_status = st.selectbox("Status", PERSON_STATUSES, index=PERSON_STATUSES.index(current), key="task-status")
        note = st.text_area(
            "Note", value=task.get("note") or "", key="task-note", placeholder="what happened, next step…"
        )
        if st.form_submit_button("Save", type="primary"):
            with ui.stop_on_error():
                task_scope.change_status(ctx, picked, new_status, note.strip() or None)
            st.session_state[FLASH_KEY] = f"Saved: {widgets.plain(titles.get(picked, picked))} is now {new_status}."
            st.rerun()

st.subheader("Customer activity")
with st.spinner("Loading the customer's activity…"), ui.stop_on_error():
    act = pagedata.activity(ctx, task)
st.caption(f"Newest first, at most {pagedata.ACTIVITY_LIMIT} of each, for {act.about}.")
if not act.customers.empty:
    widgets.table(act.customers, "task_customer", "")
tabs = st.tabs(["Sessions", "Cart adds", "Searches", "Purchases"])
for tab, frame, name, what in zip(
    tabs,
    (act.sessions, act.cart_adds, act.searches, act.purchases),
    ("task_sessions", "task_cart_adds", "task_searches", "task_purchases"),
    ("sessions", "add-to-cart events", "searches", "purchases"),
):
    with tab:
        widgets.table(frame, name, f"No {what} of this customer in the loaded GA4 data.")

"""Tasks: the sales team's work list.

Who sees what is decided by the person's role in the control plane and enforced in every
task query (lib/task_scope.py): a rep their own tasks, a manager their branch's, an admin
all of them. Filters narrow that list further. A status change and a note are written to
PostgreSQL through `ga_intel.insights.tasks.set_status` after the scope is checked again
on the row; re-computing tasks never overwrites them (docs/TASKS.md). The selected task's
customer activity comes from the GA4 tables, newest first.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import plotly.express as px
import streamlit as st

from ga_intel.insights.tasks import PERSON_STATUSES
from streamlit_app.lib import branch_filter, context, pagedata, task_scope, ui, widgets

ctx = context.current()
st.title("Tasks")
st.caption(f"Tasks created {ctx.start:%b %d, %Y} – {ctx.end:%b %d, %Y} · you see {task_scope.describe(ctx)}"
           + (f" · branch filter **{ctx.branch_filter}**" if ctx.branch_filter else ""))

FLASH_KEY = "tasks-flash"
PICK_KEY = "task-pick"
UNASSIGNED = ""
TYPE_NAMES = {"purchase_followup": "purchase follow-up", "cart_recovery": "cart recovery",
              "search_followup": "search follow-up", "repeat_visitor": "repeat visitor"}

if flash := st.session_state.pop(FLASH_KEY, None):
    st.success(flash, icon=":material/check_circle:")

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
cells[0].metric("Open", f"{int(summary.loc[summary['status'] == 'open', 'tasks'].sum()):,}")
cells[1].metric("In progress", f"{int(summary.loc[summary['status'] == 'in_progress', 'tasks'].sum()):,}")
cells[2].metric("Overdue", f"{int(active['overdue'].sum()):,}", help="Open or in progress, past the due date.")
cells[3].metric("Done", f"{int(summary.loc[summary['status'] == 'done', 'tasks'].sum()):,}")
cells[4].metric("Recovered", f"{int(summary.loc[summary['status'] == 'recovered', 'tasks'].sum()):,}",
                help="Cart-recovery tasks closed by a later order.")

# ------------------------------------------------------------------ filters
left, mid, right, far = st.columns(4)
types = left.multiselect("Type", pagedata.TASK_TYPES, default=list(pagedata.TASK_TYPES), key="tasks-types",
                         format_func=lambda t: TYPE_NAMES.get(t, t))
statuses = mid.multiselect("Status", pagedata.TASK_STATUSES, default=list(pagedata.ACTIVE_STATUSES),
                           key="tasks-statuses")
if ctx.branch_filter:
    branch_choices = [ctx.branch_filter]
elif ctx.role == "manager" and ctx.branch:
    branch_choices = [ctx.branch]
else:
    branch_choices = [None, *sorted(summary["branch_code"].dropna().unique())]
branch = right.selectbox("Branch", branch_choices, key="tasks-branch",
                         format_func=lambda b: "All branches" if b is None else b,
                         disabled=len(branch_choices) == 1)
if ctx.role == "rep":
    rep_choices: list[str | None] = [ctx.email]
else:
    reps = summary[["rep_email", "rep_name"]].drop_duplicates("rep_email")
    rep_names = {e: n for e, n in zip(reps["rep_email"], reps["rep_name"]) if isinstance(e, str)}
    rep_choices = [None, *sorted(rep_names)] + ([UNASSIGNED] if reps["rep_email"].isna().any() else [])
rep = far.selectbox("Rep", rep_choices, key="tasks-rep", disabled=len(rep_choices) == 1,
                    format_func=lambda r: "Anyone" if r is None else ("(unassigned)" if r == UNASSIGNED else r))

filters = pagedata.TaskFilters(types=tuple(types), statuses=tuple(statuses), branch=branch, rep=rep)
with st.spinner("Loading the work list…"), ui.stop_on_error():
    tasks = pagedata.task_list(ctx, filters)

# ------------------------------------------------------------------ the list
st.subheader("Work list")
if tasks.empty:
    widgets.empty_state("No task matches these filters. Widen the type or status filters (done, dismissed, "
                        "recovered and expired tasks are hidden by default).")
    st.stop()
if len(tasks) >= pagedata.TASK_LIST_LIMIT:
    st.caption(f"The first {pagedata.TASK_LIST_LIMIT} tasks by priority and due date; narrow the filters for the rest.")
shown = tasks[["priority", "due_date", "status", "task_type", "title", "value", "branch_code", "assigned_rep_name",
               "assigned_rep_email", "created_date", "note", "task_key"]].copy()
today = dt.date.today()
shown.insert(2, "overdue", [s in pagedata.ACTIVE_STATUSES and pd.notna(d) and d < today
                            for s, d in zip(shown["status"], shown["due_date"])])
keys = list(tasks["task_key"])


def _picked_row() -> None:
    rows = st.session_state["tasks-table"].selection.rows
    if rows:
        st.session_state[PICK_KEY] = keys[rows[0]]


st.dataframe(shown, hide_index=True, width="stretch", key="tasks-table", on_select=_picked_row,
             selection_mode="single-row",
             column_config={"value": st.column_config.NumberColumn(format="%.2f"),
                            "task_type": st.column_config.TextColumn("type"),
                            "assigned_rep_name": "rep", "assigned_rep_email": "rep email"})
widgets.download(shown, "tasks_work_list")

by_type = tasks.groupby(["task_type", "status"], as_index=False).agg(tasks=("task_key", "count"),
                                                                    value=("value", "sum"))
widgets.chart(px.bar(by_type, x="task_type", y="tasks", color="status", title="Listed tasks by type and status"),
              by_type, "tasks_by_type")

# ------------------------------------------------------------------ one task
st.subheader("Task")
if st.session_state.get(PICK_KEY) not in keys:
    st.session_state[PICK_KEY] = keys[0]  # only a key of this person's scoped list can be picked
titles = dict(zip(tasks["task_key"], tasks["title"]))
picked = st.selectbox("Selected task (or click a row above)", keys, key=PICK_KEY,
                      format_func=lambda k: f"{titles.get(k, k)} · {k}")
task = tasks.set_index("task_key").loc[picked].to_dict() | {"task_key": picked}

info, form_col = st.columns([3, 2])
with info:
    st.markdown(f"**{task['title']}**")
    st.write(f"{TYPE_NAMES.get(task['task_type'], task['task_type'])} · status **{task['status']}** · priority "
             f"{task['priority']} · due {task['due_date']} · branch {task['branch_code']} · rep "
             f"{task['assigned_rep_name'] or task['assigned_rep_email'] or 'unassigned'}")
    if task.get("status_set_by"):
        st.caption(f"Status set by {task['status_set_by']} at {task['status_set_at']}")
    if task.get("note"):
        st.info(f"Note: {task['note']}", icon=":material/sticky_note_2:")
    context_data = task.get("context") if isinstance(task.get("context"), dict) else {}
    items = context_data.get("items")
    if items:
        st.dataframe(pd.DataFrame(items), hide_index=True, width="stretch", key="task-items")
    if context_data.get("terms"):
        st.write("Searched for: " + ", ".join(map(str, context_data["terms"])))
with form_col:
    with st.form("task-status"):
        current = task["status"] if task["status"] in PERSON_STATUSES else "done"
        new_status = st.selectbox("Status", PERSON_STATUSES, index=PERSON_STATUSES.index(current), key="task-status")
        note = st.text_area("Note", value=task.get("note") or "", key="task-note",
                            placeholder="what happened, next step…")
        if st.form_submit_button("Save", type="primary"):
            with ui.stop_on_error():
                task_scope.change_status(ctx, picked, new_status, note.strip() or None)
            st.session_state[FLASH_KEY] = f"Saved: {titles.get(picked, picked)} is now {new_status}."
            st.rerun()

st.subheader("Customer activity")
with st.spinner("Loading the customer's activity…"), ui.stop_on_error():
    act = pagedata.activity(ctx, task)
st.caption(f"Newest first, at most {pagedata.ACTIVITY_LIMIT} of each, for {act.about}.")
if not act.customers.empty:
    widgets.table(act.customers, "task_customer", "")
tabs = st.tabs(["Sessions", "Cart adds", "Searches", "Purchases"])
for tab, frame, name, what in zip(tabs, (act.sessions, act.cart_adds, act.searches, act.purchases),
                                  ("task_sessions", "task_cart_adds", "task_searches", "task_purchases"),
                                  ("sessions", "add-to-cart events", "searches", "purchases")):
    with tab:
        widgets.table(frame, name, f"No {what} of this customer in the loaded GA4 data.")

"""Settings: a tenant admin views and edits the tenant's services and members.

Secrets never reach the browser: their inputs start empty, and an empty input keeps the
stored value. Every save is validated as a whole by the same model as the tenant file;
when anything is invalid nothing is written and each problem is shown at its field.

A save reruns the page (`st.rerun`) so that what is shown afterwards is what is stored:
on success the form's widgets get new keys, which also empties any secret just typed.
"""

from __future__ import annotations

import types
import typing

import pandas as pd
import streamlit as st
from pydantic import SecretStr
from pydantic_core import PydanticUndefined

from ga_intel.errors import GaIntelError, TenantFileError
from ga_intel.masterdata import reps as rep_store
from ga_intel.tenancy import store
from ga_intel.tenancy.tenant_file import SECTIONS, secret_fields
from streamlit_app.lib import context, ui

SERVICE_TITLES = {
    "bigquery": "BigQuery (GA4 export)",
    "postgres": "PostgreSQL (tenant database)",
    "sftp": "SFTP (master data)",
    "folder": "Local folder (master data)",
    "smtp": "SMTP (email reports)",
    "ga4": "GA4 identity fields",
    "rules": "Task rules",
    "master_data": "Master-data column mapping",
    "email": "Email reports",
}
CHECKABLE = ("bigquery", "postgres", "sftp", "folder", "smtp")
OPTIONAL = ()  # sections an admin may add here (none: the tenant database is the operator's)
# A PEM key pasted into a one-line input loses its line breaks, and with them its format.
MULTILINE_SECRETS = {"private_key"}
MULTILINE_FIELDS = {"intro", "branch_template", "summary_template"}  # email templates
STORED_PLACEHOLDER = "stored — leave blank to keep"
# Host paths only the operator sets (store.OPERATOR_FIELDS): shown, never editable.
OPERATOR_FIELDS = {(section, name) for section, names in store.OPERATOR_FIELDS.items() for name in names}

# Per "<tenant>:<form>": the outcome of the last save, and how often it succeeded.
_OUTCOMES = st.session_state.setdefault("settings_outcomes", {})
_VERSIONS = st.session_state.setdefault("settings_versions", {})

ctx = context.current()
st.title("Settings")
if not ctx.is_admin:
    st.warning("Settings are for tenant admins only.")
    st.stop()

with ui.stop_on_error():
    config = store.get(ctx.tenant_id)

st.caption(f"{config.name} · `{config.id}` · timezone {config.timezone}")


def _slot(form: str) -> str:
    return f"{ctx.tenant_id}:{form}"


def _key(form: str, name: str) -> str:
    version = _VERSIONS.get(_slot(form), 0)
    return f"{_slot(form)}:{name}" + (f":v{version}" if version else "")


def _base_type(annotation):
    """`int | None` -> int; Literal stays Literal."""
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType) and len(args) == 1:
        return args[0]
    return annotation


def _field_widget(key: str, name: str, field, current, secret: bool):
    label = name.replace("_", " ")
    help_text = field.description
    kind = _base_type(field.annotation)
    if secret or kind is SecretStr:
        # Only whether a value is stored is known here; the value itself is never rendered.
        placeholder = STORED_PLACEHOLDER if current is not None else "not set"
        if name in MULTILINE_SECRETS:
            return st.text_area(label, value="", placeholder=placeholder, key=key, help=help_text)
        return st.text_input(
            label,
            value="",
            type="password",
            placeholder=placeholder,
            key=key,
            help=help_text,
            autocomplete="new-password",
        )
    if typing.get_origin(kind) is typing.Literal:
        options = list(typing.get_args(kind))
        return st.selectbox(
            label, options, index=options.index(current) if current in options else 0, key=key, help=help_text
        )
    if kind is bool:
        return st.checkbox(label, value=bool(current), key=key, help=help_text)
    if typing.get_origin(kind) is dict:
        # A mapping (master-data headers): one "canonical: header" per line, YAML.
        text = "".join(f"{k}: {v}\n" for k, v in (current or {}).items())
        return st.text_area(
            label,
            value=text,
            key=key,
            placeholder="user_id: Web User ID",
            help="canonical column: header in the file, one per line (docs/MASTER_DATA.md)",
        )
    if name in MULTILINE_FIELDS:
        return st.text_area(
            label,
            value="" if current is None else str(current),
            key=key,
            height=160,
            help=(help_text or "") + " Checked by rendering a sample report when you save.",
        )
    # No min/max on numbers: the model's bounds apply, and its message names the field.
    if kind is int:
        return st.number_input(label, value=None if current is None else int(current), step=1, key=key, help=help_text)
    if kind is float:
        return st.number_input(label, value=None if current is None else float(current), key=key, help=help_text)
    return st.text_input(label, value="" if current is None else str(current), key=key, help=help_text)


def _split_problems(section: str, problems) -> tuple[dict[str, list[str]], list[tuple[str, str]]]:
    """Problems at a field of this section (shown under the field), and the rest."""
    at_field: dict[str, list[str]] = {}
    other = []
    for path, message in problems:
        head, _, field = path.partition(".")
        if head == section and field and field.split(".")[0].split("[")[0] in SECTIONS[section].model_fields:
            at_field.setdefault(field.split(".")[0].split("[")[0], []).append(f"`{path}`: {message}")
        else:
            other.append((path, message))
    return at_field, other


def _show_outcome(form: str, title: str) -> None:
    outcome = _OUTCOMES.get(_slot(form))
    if not outcome:
        return
    if outcome[0] == "saved":
        _OUTCOMES.pop(_slot(form))
        st.success("Saved.")
        st.toast(f"{title} saved", icon="✅")
    elif outcome[0] == "error":
        st.error(f"Nothing was saved: {outcome[1]}")
        if outcome[2]:
            st.caption(f"Hint: {outcome[2]}")


def _save(form: str, section: str, values: dict | list | None) -> None:
    """Write, remember the outcome for the rerun, rerun."""
    slot = _slot(form)
    try:
        store.update_section(ctx.tenant_id, section, values)
    except TenantFileError as exc:
        _OUTCOMES[slot] = ("problems", list(exc.problems))
    except Exception as exc:
        err = ui.user_error(exc)
        if err is None:
            raise
        _OUTCOMES[slot] = ("error", err.message, err.hint)
    else:
        _OUTCOMES[slot] = ("saved",)
        _VERSIONS[slot] = _VERSIONS.get(slot, 0) + 1
    st.rerun()


def section_form(section: str, model) -> None:
    """One form per section; `model` is None when the section is being added."""
    model_cls = SECTIONS[section]
    secrets = set(secret_fields(model_cls))
    outcome = _OUTCOMES.get(_slot(section))
    problems = outcome[1] if outcome and outcome[0] == "problems" else []
    at_field, other = _split_problems(section, problems)
    with st.form(f"form-{section}-{_VERSIONS.get(_slot(section), 0)}"):
        values = {}
        for name, field in model_cls.model_fields.items():
            if field.exclude:  # *_file helpers are read by `tenant add`, never stored
                continue
            if model is not None:
                current = getattr(model, name)
            else:
                current = None if field.default is PydanticUndefined else field.default
            if (section, name) in OPERATOR_FIELDS:
                _operator_field(section, name, current)
                continue
            values[name] = _field_widget(_key(section, name), name, field, current, name in secrets)
            for message in at_field.get(name, []):
                st.error(message)
        if problems:
            st.error(f"Nothing was saved: {len(problems)} problem(s)" + (":" if other else " (see the fields above)."))
            for path, message in other:
                st.markdown(f"- `{path}`: {message}")
        submitted = st.form_submit_button("Save" if model is not None else f"Add {section}", type="primary")
    _show_outcome(section, SERVICE_TITLES[section])
    if submitted:
        cleaned = {}
        for name, value in values.items():
            if typing.get_origin(_base_type(model_cls.model_fields[name].annotation)) is dict:
                value = _mapping(value)
            elif isinstance(value, str) and not value.strip():
                value = None  # blank: unset, or for a secret, keep the stored one
            cleaned[name] = value
        _save(section, section, cleaned)


def _operator_field(section: str, name: str, current) -> None:
    from ga_intel.tenancy import folders

    if section == "folder":
        try:
            shown = str(folders.resolve(ctx.tenant_id, current))
        except folders.FolderOutsideRoot:
            shown = f"{current} (outside this tenant's drop folder: the operator must fix it)"
        how = "`ga-intel tenant set-folder`"
    else:
        shown = "" if current is None else str(current)
        how = "the tenant file"
    st.text_input(
        name.replace("_", " "),
        value=shown,
        disabled=True,
        key=_key(section, name),
        placeholder="not set",
        help=f"Set by the platform operator ({how}); ask them to change it.",
    )


def _mapping(text: str):
    """The text area's YAML as a dict; anything else goes to validation as typed, which
    then names the field."""
    import yaml

    if not text or not text.strip():
        return {}
    try:
        parsed = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    return parsed if isinstance(parsed, dict) else text


def test_button(section: str) -> None:
    if not st.button("Test connection", key=f"test-{section}"):
        return
    from ga_intel.connectors import check_section

    with st.spinner(f"Connecting to {SERVICE_TITLES[section]} …"):
        try:
            result = check_section(section, store.get(ctx.tenant_id))
        except Exception as exc:
            err = ui.user_error(exc)
            if err is None:
                raise
            ui.show_error(err)
            return
    if result.ok:
        st.success(f"OK — {result.detail}")
    else:
        st.error(f"Failed — {result.detail}")


def _read_only(section: str, model) -> None:
    """A section only the platform operator changes: its values, secrets masked."""
    shown = store.redacted(config)[section]
    st.dataframe(
        pd.DataFrame([{"setting": k, "value": "" if v is None else str(v)} for k, v in shown.items()]),
        hide_index=True,
        width="stretch",
    )
    st.caption(
        "Where this tenant's data is kept: set by the platform operator (the tenant file, "
        "`ga-intel tenant move`), not here."
    )


for section in SECTIONS:
    model = getattr(config, section)
    if model is None:
        continue
    open_ = section in CHECKABLE or _slot(section) in _OUTCOMES
    with st.expander(SERVICE_TITLES[section], expanded=open_):
        if section in store.OPERATOR_SECTIONS:
            _read_only(section, model)
        else:
            section_form(section, model)
        if section in CHECKABLE:
            test_button(section)
            st.caption("Tests the saved settings, not unsaved edits in the form.")

for section in OPTIONAL:
    if getattr(config, section) is None:
        with st.expander(f"Add {SERVICE_TITLES[section]}", expanded=_slot(section) in _OUTCOMES):
            section_form(section, None)


# --- members -----------------------------------------------------------------------------

st.subheader("Members")
st.caption("Who may sign in to this tenant. Reps and managers may be limited to one branch.")
members = pd.DataFrame([m.model_dump() for m in config.members], columns=["email", "role", "branch"])
edited = st.data_editor(
    members,
    num_rows="dynamic",
    hide_index=True,
    key=_key("members", "editor"),
    width="stretch",
    column_config={
        "email": st.column_config.TextColumn("Email", required=True),
        "role": st.column_config.SelectboxColumn("Role", options=["admin", "manager", "rep"], required=True),
        "branch": st.column_config.TextColumn("Branch (optional)"),
    },
)
members_outcome = _OUTCOMES.get(_slot("members"))
if members_outcome and members_outcome[0] == "problems":
    st.error(f"Nothing was saved: {len(members_outcome[1])} problem(s):")
    for path, message in members_outcome[1]:
        st.markdown(f"- `{path}`: {message}")
_show_outcome("members", "Members")
if st.button("Save members", key="save-members", type="primary"):
    rows = [
        {
            k: (
                None if v is None or (not isinstance(v, str) and pd.isna(v)) or str(v).strip() == "" else str(v).strip()
            )
            for k, v in r.items()
        }
        for r in edited.to_dict("records")
    ]
    if not any((r.get("email") or "").lower() == ctx.email and r.get("role") == "admin" for r in rows):
        st.error("Nothing was saved: you would remove your own admin access. Ask another admin to do that.")
    else:
        _save("members", "members", rows)


# --- sales reps ----------------------------------------------------------------------------

st.subheader("Sales reps")
st.caption(
    "Branch → sales rep, for report recipients and task assignment. Rows saved here are "
    "manual: a master-data reload never overwrites or removes them."
)
REP_COLUMNS = ["branch_code", "rep_email", "rep_name", "role", "enabled", "source"]
stored_reps = pd.DataFrame(rep_store.list_reps(ctx.tenant_id), columns=REP_COLUMNS + ["updated_at"])[REP_COLUMNS]
edited_reps = st.data_editor(
    stored_reps,
    num_rows="dynamic",
    hide_index=True,
    key=_key("reps", "editor"),
    width="stretch",
    disabled=["source"],
    column_config={
        "branch_code": st.column_config.TextColumn("Branch", required=True),
        "rep_email": st.column_config.TextColumn("Rep email", required=True),
        "rep_name": st.column_config.TextColumn("Rep name", required=True),
        "role": st.column_config.SelectboxColumn(
            "Role",
            options=["rep", "manager"],
            default="rep",
            required=True,
            help="managers get the branch report but no tasks",
        ),
        "enabled": st.column_config.CheckboxColumn("Enabled", default=True),
        "source": st.column_config.TextColumn("Source"),
    },
)
_show_outcome("reps", "Sales reps")
if st.button("Save sales reps", key="save-reps", type="primary"):

    def _row(r):
        return {k: (None if v is None or (not isinstance(v, (str, bool)) and pd.isna(v)) else v) for k, v in r.items()}

    before = {(r["branch_code"], r["rep_email"]): r for r in map(_row, stored_reps.to_dict("records"))}
    after = [_row(r) for r in edited_reps.to_dict("records")]
    kept = {(r.get("branch_code"), (r.get("rep_email") or "").strip().lower()) for r in after}
    changed = [r for r in after if before.get((r.get("branch_code"), r.get("rep_email"))) != r]
    removed = [key for key in before if key not in kept]
    try:
        rep_store.apply_edits(ctx.tenant_id, changed, removed)
    except GaIntelError as exc:
        st.error(exc.message)
    else:
        _OUTCOMES[_slot("reps")] = ("saved",)
        _VERSIONS[_slot("reps")] = _VERSIONS.get(_slot("reps"), 0) + 1
        st.rerun()

"""Settings: a tenant admin views and edits the tenant's services and members.

Secrets are never sent to the browser: their inputs start empty, and an empty input
keeps the stored value. Every save is validated as a whole by the same model as the
tenant file; nothing is written when anything is invalid.
"""

from __future__ import annotations

import types
import typing

import pandas as pd
import streamlit as st
from pydantic import SecretStr

from ga_intel.errors import GaIntelError, TenantFileError
from ga_intel.tenancy import store
from ga_intel.tenancy.tenant_file import SECTIONS, secret_fields
from streamlit_app.lib import context

SERVICE_TITLES = {
    "bigquery": "BigQuery (GA4 export)",
    "postgres": "PostgreSQL (tenant database)",
    "sftp": "SFTP (master data)",
    "folder": "Local folder (master data)",
    "smtp": "SMTP (email reports)",
    "ga4": "GA4 identity fields",
    "rules": "Task rules",
}
CHECKABLE = {"bigquery", "postgres", "sftp", "folder", "smtp"}

ctx = context.current()
st.title("Settings")
if not ctx.is_admin:
    st.warning("Settings are for tenant admins only.")
    st.stop()

try:
    config = store.get(ctx.tenant_id)
except GaIntelError as exc:
    st.error(exc.message)
    if exc.hint:
        st.caption(exc.hint)
    st.stop()

st.caption(f"{config.name} · `{config.id}` · timezone {config.timezone}")


def _base_type(annotation):
    """`int | None` -> int; Literal stays Literal."""
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType) and len(args) == 1:
        return args[0]
    return annotation


def _field_widget(section: str, name: str, field, current, secret: bool):
    key = f"{ctx.tenant_id}:{section}:{name}"
    label = name.replace("_", " ")
    help_text = field.description
    kind = _base_type(field.annotation)
    if secret or kind is SecretStr:
        placeholder = "stored — leave blank to keep" if current is not None else "not set"
        return st.text_input(label, value="", type="password", placeholder=placeholder, key=key, help=help_text)
    if typing.get_origin(kind) is typing.Literal:
        options = list(typing.get_args(kind))
        return st.selectbox(label, options, index=options.index(current) if current in options else 0, key=key,
                            help=help_text)
    if kind is bool:
        return st.checkbox(label, value=bool(current), key=key, help=help_text)
    if kind is int:
        return st.number_input(label, value=int(current) if current is not None else 0, step=1, key=key,
                               help=help_text)
    if kind is float:
        return st.number_input(label, value=float(current) if current is not None else 0.0, key=key, help=help_text)
    return st.text_input(label, value="" if current is None else str(current), key=key, help=help_text)


def _show_problems(exc: TenantFileError) -> None:
    st.error("Nothing was saved. Fix these fields:")
    for path, message in exc.problems:
        st.markdown(f"- `{path}`: {message}")


def section_form(section: str, model) -> None:
    model_cls = SECTIONS[section]
    secrets = set(secret_fields(model_cls))
    with st.form(f"form-{section}"):
        values = {}
        for name, field in model_cls.model_fields.items():
            if field.exclude:  # *_file helpers are read at `tenant add`, not stored
                continue
            current = getattr(model, name) if model is not None else None
            values[name] = _field_widget(section, name, field, current, name in secrets)
        submitted = st.form_submit_button("Save", type="primary")
    if submitted:
        cleaned = {k: (None if v == "" else v) for k, v in values.items()}
        try:
            store.update_section(ctx.tenant_id, section, cleaned)
        except TenantFileError as exc:
            _show_problems(exc)
        except GaIntelError as exc:
            st.error(str(exc))
        else:
            st.toast(f"{SERVICE_TITLES[section]} saved")
            st.success("Saved.")


def test_button(section: str) -> None:
    if st.button("Test connection", key=f"test-{section}"):
        from ga_intel.connectors import check_section

        with st.spinner(f"Connecting to {SERVICE_TITLES[section]} ..."):
            result = check_section(section, store.get(ctx.tenant_id))
        (st.success if result.ok else st.error)(result.detail)


for section in SECTIONS:
    model = getattr(config, section)
    if model is None:
        continue
    with st.expander(SERVICE_TITLES[section], expanded=section in CHECKABLE):
        section_form(section, model)
        if section in CHECKABLE:
            test_button(section)

if config.postgres is None:
    with st.expander("Add a tenant PostgreSQL database"):
        section_form("postgres", None)

st.subheader("Members")
members = pd.DataFrame([m.model_dump() for m in config.members], columns=["email", "role", "branch"])
edited = st.data_editor(
    members, num_rows="dynamic", key=f"{ctx.tenant_id}:members", use_container_width=True,
    column_config={
        "email": st.column_config.TextColumn("Email", required=True),
        "role": st.column_config.SelectboxColumn("Role", options=["admin", "manager", "rep"], required=True),
        "branch": st.column_config.TextColumn("Branch (optional)"),
    },
)
if st.button("Save members"):
    rows = [{k: (None if pd.isna(v) or v == "" else v) for k, v in r.items()} for r in edited.to_dict("records")]
    if not any(r.get("role") == "admin" and r.get("email") == ctx.email for r in rows):
        st.error("Nothing was saved: you would remove your own admin access. Ask another admin to do that.")
    else:
        try:
            store.update_section(ctx.tenant_id, "members", rows)
        except TenantFileError as exc:
            _show_problems(exc)
        else:
            st.success("Members saved.")

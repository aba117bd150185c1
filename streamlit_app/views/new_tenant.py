"""New tenant: a platform operator sets up a tenant one service at a time.

Tenant, BigQuery, PostgreSQL (optional), SFTP or folder, SMTP, then Create. Each step is
validated by the tenant-file model and tested with `ga-intel tenant check`'s checks
(ga_intel/tenancy/setup.py) before the next one opens. Nothing is stored until Create,
which stores the tenant exactly as `ga-intel tenant add` does.

Secrets typed here never come back to the browser: a submitted form is re-keyed (its
inputs come back empty), the typed secrets are kept server-side in session state under a
key no widget uses, and the page shows only that one is kept. A blank secret input keeps
the kept one, unless the step's endpoint changed (then it must be typed again, as on
Settings).
"""

from __future__ import annotations

import zoneinfo

import pandas as pd
import streamlit as st
from pydantic_core import PydanticUndefined

from ga_intel.errors import TenantFileError
from ga_intel.tenancy import setup, store
from ga_intel.tenancy.tenant_file import SECTIONS
from streamlit_app.lib import operator, ui

KEPT = "•••• (kept, not shown)"
STATE_KEY = "_new_tenant"
SECRETS_KEY = "_new_tenant_secrets"  # never a widget key: its values are never rendered

TITLES = {
    "tenant": "Tenant",
    "bigquery": "BigQuery (GA4 export)",
    "postgres": "PostgreSQL (tenant database, optional)",
    "master_data": "Master data (SFTP or folder)",
    "smtp": "SMTP (email reports)",
}
# (field, label, kind): text, int, bool, secret, secret_area (multi-line), select:<a|b>
FIELDS: dict[str, list[tuple[str, str, str]]] = {
    "tenant": [
        ("id", "Tenant id", "text"),
        ("name", "Name", "text"),
        ("timezone", "Timezone (the GA4 property's)", "timezone"),
        ("admin", "First admin's email", "text"),
    ],
    "bigquery": [
        ("project_id", "GCP project id", "text"),
        ("dataset_id", "GA4 export dataset (analytics_<property id>)", "text"),
        ("service_account", "Service-account key (JSON)", "secret_area"),
        ("api_endpoint", "API endpoint (only for an emulator)", "text"),
        ("location", "Location (optional)", "text"),
    ],
    "postgres": [
        ("host", "Host", "text"),
        ("port", "Port", "int"),
        ("database", "Database", "text"),
        ("username", "User", "text"),
        ("password", "Password", "secret"),
        ("sslmode", "SSL mode", "select"),
    ],
    "sftp": [
        ("host", "Host", "text"),
        ("port", "Port", "int"),
        ("username", "User", "text"),
        ("password", "Password", "secret"),
        ("private_key", "Private key (instead of or with a password)", "secret_area"),
        ("private_key_passphrase", "Private key passphrase", "secret"),
        ("host_key", "Server host key ('ssh-ed25519 AAAA…')", "text"),
        ("remote_path", "Remote folder", "text"),
        ("user_file", "User report file", "text"),
        ("locations_file", "Locations file", "text"),
    ],
    "folder": [
        ("path", "Folder inside the tenant's drop folder (blank: the drop folder itself)", "text"),
        ("user_file", "User report file", "text"),
        ("locations_file", "Locations file", "text"),
    ],
    "smtp": [
        ("server", "Server", "text"),
        ("port", "Port", "int"),
        ("user_name", "User", "text"),
        ("password", "Password", "secret"),
        ("use_tls", "STARTTLS", "bool"),
        ("use_ssl", "Implicit TLS (port 465)", "bool"),
        ("tls_ca_file", "CA bundle on this host (optional)", "text"),
        ("from_name", "From name", "text"),
        ("from_address", "From address", "text"),
    ],
}
SECRET_KINDS = ("secret", "secret_area")

who = operator.current()
st.title("New tenant")
if who is None:
    # Not in a non-operator's navigation; this stops anyone who reaches the script otherwise.
    st.error("Only platform operators may create tenants.")
    st.caption("Hint: the deployment lists them in GA_INTEL_PLATFORM_OPERATORS (docs/DEPLOYMENT.md).")
    st.stop()

state = st.session_state.setdefault(
    STATE_KEY, {"values": {}, "results": {}, "version": 0, "source": "sftp", "created": None}
)
secrets: dict[str, dict[str, str]] = st.session_state.setdefault(SECRETS_KEY, {})


def _section(step: str) -> str:
    return state["source"] if step == "master_data" else step


def _key(step: str, name: str) -> str:
    return f"nt:{step}:{name}:v{state['version']}"


def _default(section: str, name: str):
    if section == "tenant":
        return {"timezone": "UTC"}.get(name)
    field = SECTIONS[section].model_fields[name]
    return None if field.default is PydanticUndefined else field.default


def tenant_data(upto: str) -> dict:
    """The tenant as the steps up to `upto` describe it (what the checks validate)."""
    values = state["values"].get("tenant", {})
    data: dict = {k: v for k, v in values.items() if k != "admin" and v is not None}
    if values.get("admin"):
        data["members"] = [{"email": values["admin"], "role": "admin"}]
    for step in setup.STEPS[1 : setup.STEPS.index(upto) + 1]:
        result = state["results"].get(step)
        if step == "postgres" and (result is None or result.skipped) and upto != "postgres":
            continue
        section = _section(step)
        section_values = {k: v for k, v in state["values"].get(section, {}).items() if v is not None}
        data[section] = {**section_values, **secrets.get(section, {})}
    return data


def _widget(step: str, section: str, name: str, label: str, kind: str, current):
    key = _key(step, name)
    if kind in SECRET_KINDS:
        kept = name in secrets.get(section, {})
        placeholder = f"{KEPT} — leave blank to keep" if kept else ""
        if kind == "secret_area":
            value = st.text_area(label, value="", key=key, placeholder=placeholder)
        else:
            value = st.text_input(
                label, value="", type="password", key=key, placeholder=placeholder, autocomplete="new-password"
            )
        if kept:
            st.caption(f"{label}: {KEPT}")
        return value
    if kind == "int":
        return st.number_input(label, value=None if current is None else int(current), step=1, key=key)
    if kind == "bool":
        return st.checkbox(label, value=bool(current), key=key)
    if kind == "select":
        options = list(SECTIONS[section].model_fields[name].annotation.__args__)
        return st.selectbox(label, options, index=options.index(current) if current in options else 0, key=key)
    if kind == "timezone":
        zones = sorted(zoneinfo.available_timezones())
        return st.selectbox(
            label, zones, index=zones.index(current) if current in zones else zones.index("UTC"), key=key
        )
    return st.text_input(label, value="" if current is None else str(current), key=key)


def _field_of(step: str, path: str) -> str | None:
    """The form field a validation problem's path points at, if any."""
    if step == "tenant":
        head = path.split(".")[0].split("[")[0]
        return "admin" if head == "members" else head
    section, _, rest = path.partition(".")
    return rest.split(".")[0].split("[")[0] or None if section == _section(step) else None


def form(step: str) -> tuple[bool, str | None]:
    """The step's form; returns (submitted, which button)."""
    section = _section(step)
    values = state["values"].get(section, {})
    result = state["results"].get(step)
    at_field: dict[str, list[str]] = {}
    other: list[tuple[str, str]] = []
    for path, message in result.problems if result and not result.ok else []:
        name = _field_of(step, path)
        if name and name in {f for f, _, _ in FIELDS[section]}:
            at_field.setdefault(name, []).append(message)
        else:
            other.append((path, message))
    typed = {}
    with st.form(f"nt-form-{step}-v{state['version']}"):
        for name, label, kind in FIELDS[section]:
            current = values.get(name, _default(section, name))
            typed[name] = _widget(step, section, name, label, kind, current)
            for message in at_field.get(name, []):
                st.error(f"{label} (`{name}`): {message}")
        if section == "folder":
            typed["_create"] = st.checkbox(
                "Create the folder if it does not exist (inside the tenant's drop folder)", key=_key(step, "_create")
            )
        if secrets.get(section):
            typed["_forget"] = st.checkbox("Forget the kept secret(s) of this step", key=_key(step, "_forget"))
        for path, message in other:
            st.error(f"`{path}`: {message}")
        if section in state.get("forgotten", {}):
            changed, forgotten = state["forgotten"][section]
            st.warning(
                f"{', '.join(changed)} changed, so the kept {', '.join(forgotten)} was forgotten: type it again "
                "(a secret is never sent to another endpoint than the one it was typed for)."
            )
        test = st.form_submit_button("Test and continue", type="primary")
        skip = step == "postgres" and st.form_submit_button("Skip: keep its data in the platform database")
    if skip:
        return True, "skip"
    if test:
        _remember(section, typed)
        return True, "create-folder" if typed.get("_create") else "test"
    return False, None


def _remember(section: str, typed: dict) -> None:
    """Keep what was typed: plain values as they are, secrets server-side only."""
    old = state["values"].get(section, {})
    plain = {}
    for name, _, kind in FIELDS[section]:
        value = typed[name]
        if isinstance(value, str):
            value = value.strip() if kind not in SECRET_KINDS else value
            value = value or None
        if kind not in SECRET_KINDS:
            plain[name] = value
    kept = secrets.setdefault(section, {}) if section != "tenant" else {}
    endpoint = store.ENDPOINT_FIELDS.get(section, ())
    changed = [f for f in endpoint if old and old.get(f) != plain.get(f)]
    forgotten = sorted(name for name in kept if not typed.get(name))
    state.setdefault("forgotten", {}).pop(section, None)
    if typed.get("_forget") or changed:
        kept.clear()  # and a new endpoint never gets a secret typed for another one
        if changed and forgotten:
            state["forgotten"][section] = (changed, forgotten)
    for name, _, kind in FIELDS[section]:
        if kind in SECRET_KINDS and typed[name]:
            kept[name] = typed[name].strip() if kind == "secret_area" else typed[name]
    state["values"][section] = plain


def _check(step: str, action: str | None) -> None:
    """Test the step, forget its own and later steps' results (they test again), rerun
    with new keys. Its own result goes first: the new values are already remembered, and
    a check interrupted by a rerun must not leave the old pass standing for them."""
    index = setup.STEPS.index(step)
    for this_or_later in setup.STEPS[index:]:
        state["results"].pop(this_or_later, None)
    if step == "postgres" and action == "skip":
        state["values"].pop("postgres", None)
        secrets.pop("postgres", None)
        result = setup.skip_postgres()
    else:
        if step == "master_data":  # one master-data source
            other = "folder" if state["source"] == "sftp" else "sftp"
            state["values"].pop(other, None)
            secrets.pop(other, None)
        data = tenant_data(step)
        with st.spinner(f"Testing {TITLES[step]} …"), ui.stop_on_error():
            if step == "tenant":
                result = setup.check_tenant(data)
            elif step == "bigquery":
                result = setup.check_bigquery(data)
            elif step == "postgres":
                result = setup.check_postgres(data)
            elif step == "master_data":
                result = setup.check_master_data(data, create_folder=action == "create-folder")
            else:
                result = setup.check_smtp(data, who)
    state["results"][step] = result
    state["last"] = step
    state["version"] += 1  # every input comes back under a new key: typed secrets are gone
    st.rerun()


def show_result(step: str) -> None:
    result = state["results"].get(step)
    if result is None:
        return
    if result.ok:
        st.success(f"OK — {result.detail}")
    elif not result.problems or step == "master_data":
        st.error(f"Failed — {result.detail}")
    else:
        st.error(f"Nothing was tested: {result.detail} (see the fields above).")
    if step == "master_data" and result.problems:
        for _, message in result.problems:
            st.markdown(f"- {message}")
    if result.facts:
        st.table(pd.DataFrame(result.facts, columns=["Found", "Value"]).set_index("Found"))


def created_panel(tenant_id: str) -> None:
    st.success(f"Tenant `{tenant_id}` created, its secrets stored encrypted (as `ga-intel tenant add` does).")
    days = state.get("export_days", 0)
    st.markdown(
        f"Its history now loads in the background: within 30 seconds `tenant_sync_sensor` adds its "
        f"partitions, then the export sensors (`ga4_export_sensor_<i>_of_<n>`, every 5 minutes) requests its **{days:,}** export day(s) "
        "as catch-up runs, newest first, behind every tenant's fresh days; the hourly `master_data` run "
        "loads its customers and branches. Its first admin signs in to see it."
    )
    st.link_button("Its runs in the Dagster UI", setup.runs_link(tenant_id))
    st.markdown(f"[Its Data page](/data?tenant={tenant_id}) (for its members)")
    with ui.stop_on_error():
        loaded = setup.days_loaded(tenant_id)
    done = sum(loaded.values())
    st.metric("Export days loaded", f"{done:,} of {days:,}")
    if loaded:
        st.caption(", ".join(f"{status}: {count:,}" for status, count in loaded.items()))
    cols = st.columns(2)
    if cols[0].button("Refresh", key="nt-refresh"):
        st.rerun()
    if cols[1].button("Set up another tenant", key="nt-another"):
        st.session_state.pop(STATE_KEY, None)
        st.session_state.pop(SECRETS_KEY, None)
        st.rerun()


st.caption(
    "Each step tests its service before the next opens; nothing is stored until **Create**. "
    "Secrets you type are kept on the server for this session and never shown again."
)

if state["created"]:
    created_panel(state["created"])
    st.stop()

for number, step in enumerate(setup.STEPS, 1):
    title = f"{number}. {TITLES[step]}"
    previous = setup.STEPS[number - 2] if number > 1 else None
    if previous and not (state["results"].get(previous) and state["results"][previous].ok):
        st.markdown(f"**{title}** — opens once *{TITLES[previous]}* passes.")
        continue
    result = state["results"].get(step)
    passed = bool(result and result.ok)
    # Open: the step to do, and the one just tested (to read what it found).
    with st.expander(
        title,
        expanded=not passed or state.get("last") == step,
        icon=":material/check_circle:" if passed else ":material/pending:",
    ):
        if step == "master_data":
            sources = {"sftp": "SFTP server", "folder": "Folder on this platform"}
            picked = st.radio(
                "Master data from",
                list(sources),
                index=list(sources).index(state["source"]),
                format_func=sources.get,
                horizontal=True,
                key=f"nt:source:v{state['version']}",
            )
            if picked != state["source"]:
                state["source"] = picked
                state["results"].pop("master_data", None)
                state["results"].pop("smtp", None)
                st.rerun()
        submitted, action = form(step)
        show_result(step)
    if submitted:
        _check(step, action)

last = setup.STEPS[-1]
st.subheader(f"{len(setup.STEPS) + 1}. Create")
if not (state["results"].get(last) and state["results"][last].ok):
    st.markdown(f"Opens once *{TITLES[last]}* passes.")
    st.stop()
problems = state.get("create_problems") or []
for path, message in problems:
    st.error(f"`{path}`: {message}")
if st.button("Create tenant", type="primary", key="nt-create"):
    data = tenant_data(last)
    try:
        config = setup.create(data)
    except TenantFileError as exc:  # each problem at its own line, naming the field
        state["create_problems"] = list(exc.problems)
        st.rerun()
    except Exception as exc:
        err = ui.user_error(exc)
        if err is None:
            raise
        ui.show_error(err)
        st.stop()
    state["created"] = config.id
    state["export_days"] = state["results"]["bigquery"].export_days
    state.pop("create_problems", None)
    st.session_state.pop(SECRETS_KEY, None)  # stored encrypted now; not kept in the session
    st.rerun()

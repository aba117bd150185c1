"""The HTTP API against a real uvicorn on 127.0.0.1 and the real database: tokens (CLI,
hash-only storage, scopes, revocation at once), every endpoint's tenant isolation, the
task list's scope, filters and cursor, PATCH with the Tasks page's rules and audit
fields, OIDC bearer JWTs from a real local provider, rate limits, structured errors, and
a refresh queued in a real Dagster webserver's run queue."""

from __future__ import annotations

import datetime as dt
import json
import threading
import urllib.parse

import httpx
import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from ga_intel.api import tokens
from ga_intel.api.app import create_app
from ga_intel.api.ratelimit import Buckets
from ga_intel.cli import main
from ga_intel.db import control
from ga_intel.devservices.api_server import serve_api
from ga_intel_tests.helpers.api import BETA_KEY, BETA_SECRETS, client, code, make_token
from ga_intel_tests.helpers.pages import BETA_BRANCH, BETA_TASK, D1, D2


# ------------------------------------------------------------------ tokens
def test_token_cli_shows_once_stores_a_hash_and_lists_and_revokes(tenants):
    plaintext = make_token(scopes="tasks:read,tasks:write")
    assert plaintext.startswith("gai_") and len(plaintext) == 4 + 8 + 1 + 43
    token_id = plaintext[:12]
    with control() as conn:
        row = conn.execute(sa.text("SELECT * FROM control.api_tokens")).mappings().one()
        dump = json.dumps({k: str(v) for k, v in row.items()})
    assert plaintext[13:] not in dump and bytes(row["token_sha256"]) == tokens.digest(plaintext)
    listed = CliRunner().invoke(main, ["token", "list"]).output
    assert token_id in listed and "crm" in listed and "tasks:read,tasks:write" in listed and plaintext not in listed
    assert CliRunner().invoke(main, ["token", "revoke", token_id]).exit_code == 0
    assert tokens.verify(plaintext) is None
    again = CliRunner().invoke(main, ["token", "revoke", token_id])
    assert again.exit_code == 2 and "no live token" in again.output
    bad = CliRunner().invoke(main, ["token", "create", "--tenant", "acme", "--name", "x", "--scope", "tasks:delete"])
    assert bad.exit_code == 2 and "unknown scope(s) tasks:delete" in bad.output


def test_health_needs_no_auth_and_shows_no_tenant_data(api_url, data):
    response = httpx.get(f"{api_url}/health")
    assert response.status_code == 200 and response.json() == {"status": "ok", "database": "ok"}
    docs = httpx.get(f"{api_url}/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()


def test_unknown_revoked_and_missing_scope(api_url, data):
    reader = make_token(scopes="tasks:read")
    with client(api_url) as anon:
        assert anon.get("/v1/tasks").status_code == 401 and code(anon.get("/v1/tasks")) == "unauthorized"
        fake = "gai_00000000_" + "A" * 43
        for value in (fake, "nonsense", "a.b.c"):
            response = anon.get("/v1/tasks", headers={"Authorization": f"Bearer {value}"})
            assert response.status_code == 401 and code(response) == "unauthorized"
            assert "acme" not in response.text and "tenant" not in response.json()["error"]["message"]
    with client(api_url, reader) as c:
        assert c.get("/v1/tasks").status_code == 200
        denied = c.patch("/v1/tasks/purchase:T1", json={"status": "done"})
        assert denied.status_code == 403 and code(denied) == "forbidden" and "tasks:write" in denied.text
        assert code(c.get("/v1/metrics/daily", params={"start": D2, "end": D1})) == "forbidden"
        assert tokens.revoke(reader[:12])
        gone = c.get("/v1/tasks")  # the very next request
        assert gone.status_code == 401 and code(gone) == "unauthorized"
    with control() as conn:
        assert (
            conn.execute(
                sa.text("SELECT last_used_at FROM control.api_tokens WHERE token_id = :i"), {"i": reader[:12]}
            ).scalar()
            is not None
        )


# ------------------------------------------------------------------ isolation
ENDPOINTS = [
    (
        "GET",
        "/v1/tasks",
        {
            "created_from": str(D2 - dt.timedelta(days=30)),
            "created_to": str(D1),
            "status": ["open", "in_progress", "done", "recovered"],
        },
    ),
    ("GET", f"/v1/tasks/{BETA_KEY}", None),
    ("GET", "/v1/tasks/today", None),
    ("GET", "/v1/tasks/today", {"branch": BETA_BRANCH}),
    ("GET", "/v1/metrics/daily", {"start": str(D2), "end": str(D1)}),
    ("GET", "/v1/metrics/daily", {"start": str(D2), "end": str(D1), "branch": BETA_BRANCH}),
    ("GET", "/v1/metrics/branches", {"start": str(D2), "end": str(D1)}),
    ("GET", "/v1/search-terms", {"start": str(D2), "end": str(D1)}),
    ("GET", "/v1/search-terms", {"start": str(D2), "end": str(D1), "branch": BETA_BRANCH}),
    ("GET", "/v1/data-availability", {"start": str(D2), "end": str(D1)}),
    ("GET", "/v1/email-deliveries", {"date": str(D1)}),
    ("GET", "/v1/webhooks", None),
]


def test_a_token_of_acme_never_reads_or_changes_beta(api_url, data):
    from ga_intel_tests.helpers.pages import db_task

    acme = make_token("acme")
    beta_before = db_task("beta", BETA_KEY)
    with client(api_url, acme) as c:
        for method, path, params in ENDPOINTS:
            response = c.request(method, path, params=params)
            assert response.status_code in (200, 404), (path, response.text)
            for secret in BETA_SECRETS:
                assert secret not in response.text, (path, secret)
        listed = c.get("/v1/tasks", params=ENDPOINTS[0][2]).json()["data"]
        assert {t["task_key"] for t in listed} == {
            "purchase:T1",
            "purchase:T2",
            "search:u3",
            "cart:user:u1:D1",
            "cart:user:u2:D2",
        }
        assert code(c.get(f"/v1/tasks/{BETA_KEY}")) == "task_not_found"
        patched = c.patch(f"/v1/tasks/{BETA_KEY}", json={"status": "dismissed", "note": "from acme"})
        assert patched.status_code == 404 and code(patched) == "task_not_found"
        # A tenant's figures are its own: acme's revenue, never beta's.
        days = c.get("/v1/metrics/daily", params={"start": str(D2), "end": str(D1)}).json()["data"]
        assert [d["revenue"] for d in days] == [100.0, 100.0]
        assert (
            c.get("/v1/email-deliveries", params={"date": str(D1)}).json()["data"][0]["recipient"]
            == "acme@rcpt.example"
        )
    with client(api_url, make_token("beta")) as b:  # and the other way round
        hook = b.post("/v1/webhooks", json={"url": "https://93.184.216.34/hook", "events": ["task.created"]}).json()
        assert code(b.get("/v1/tasks/purchase:T1")) == "task_not_found"
    with client(api_url, acme) as c:
        assert code(c.delete(f"/v1/webhooks/{hook['id']}")) == "webhook_not_found"
        assert c.get("/v1/webhooks").json() == {"data": []}
    assert db_task("beta", BETA_KEY) == beta_before


# ------------------------------------------------------------------ the task list
def test_task_list_filters_and_cursor_follow_the_dashboard_order(api_url, data):
    from ga_intel.reads import tasks as shared
    from streamlit_app.lib import context

    token = make_token()
    window = {"created_from": str(D2 - dt.timedelta(days=3)), "created_to": str(D1)}
    with client(api_url, token) as c:
        seen, cursor = [], None
        while True:
            page = c.get("/v1/tasks", params={**window, "limit": 2, **({"cursor": cursor} if cursor else {})}).json()
            assert len(page["data"]) <= 2
            seen += [t["task_key"] for t in page["data"]]
            cursor = page["next_cursor"]
            if not cursor:
                break
        admin = context.Context(
            email="admin@acme.example",
            tenant_id="acme",
            role="admin",
            branch=None,
            tenants=("acme",),
            start=D2 - dt.timedelta(days=3),
            end=D1,
        )
        from ga_intel.insights.tasks import STATUSES

        assert seen == list(shared.task_list(admin, admin.start, admin.end, statuses=STATUSES)["task_key"])
        assert len(seen) == 5 and len(set(seen)) == 5
        assert [t["task_key"] for t in c.get("/v1/tasks", params={**window, "status": "recovered"}).json()["data"]] == [
            "cart:user:u2:D2"
        ]
        only = c.get("/v1/tasks", params={**window, "branch": "MKE", "type": "purchase_followup"}).json()["data"]
        assert [t["task_key"] for t in only] == ["purchase:T2"]
        assert [t["task_key"] for t in c.get("/v1/tasks", params={**window, "rep": "unassigned"}).json()["data"]] == [
            "search:u3"
        ]
        everyone = c.get("/v1/tasks/today").json()["data"]  # the token acts as the tenant's admin
        assert {t["task_key"] for t in everyone} == {"purchase:T1", "purchase:T2", "search:u3", "cart:user:u1:D1"}
        assert BETA_TASK not in json.dumps(everyone)
        one = c.get("/v1/tasks/purchase:T1").json()
        assert (
            one["title"] == "Task purchase:T1"
            and one["value"] == 100.0
            and one["due_date"] == str(D1 + dt.timedelta(days=1))
        )
        for bad in (
            {"cursor": "not-a-cursor"},
            {"created_from": str(D1), "created_to": str(D2)},
            {"status": "nope"},
            {"limit": 0},
            {"created_from": "2020-01-01", "created_to": "2024-01-01"},
        ):
            response = c.get("/v1/tasks", params=bad)
            assert response.status_code in (400, 422) and code(response) in (
                "invalid_cursor",
                "invalid_range",
                "validation_error",
            ), (bad, response.text)


def test_patch_keeps_the_tasks_page_rules_and_audit_fields(api_url, data):
    from ga_intel.reads import task_scope
    from ga_intel_tests.helpers.pages import ctx_for, db_task
    from streamlit_app.lib import task_scope as page_scope

    token = make_token()
    with client(api_url, token) as c:
        answer = c.patch("/v1/tasks/purchase:T1", json={"status": "in_progress", "note": "called, call back Friday"})
        assert answer.status_code == 200, answer.text
        assert answer.json()["status"] == "in_progress" and answer.json()["note"] == "called, call back Friday"
        row = db_task("acme", "purchase:T1")
        assert row["status_set_by"] == f"api:{token[:12]} (crm)" and row["status_set_at"] is not None
        assert row["first_touched_at"] is not None
        # A note alone keeps the status; an empty note keeps the note (the page's rule).
        assert c.patch("/v1/tasks/purchase:T1", json={"note": "left a voicemail"}).json()["status"] == "in_progress"
        assert (
            c.patch("/v1/tasks/purchase:T1", json={"status": "done", "note": ""}).json()["note"] == "left a voicemail"
        )
        # Only what a person may set: the same refusal as the dashboard's.
        for status in ("recovered", "expired", "stale", "bogus"):
            refused = c.patch("/v1/tasks/purchase:T2", json={"status": status})
            assert refused.status_code == 422 and code(refused) == "validation_error"
            with pytest.raises(Exception, match="status must be one of"):
                page_scope.change_status(ctx_for("admin@acme.example", "admin"), "purchase:T2", status, None)
        assert code(c.patch("/v1/tasks/purchase:T2", json={})) == "nothing_to_change"
    # The dashboard then sets a status on the same task: same function, its own audit name.
    page_scope.change_status(ctx_for("manager@acme.example", "manager", "CHI"), "purchase:T1", "dismissed", None)
    row = db_task("acme", "purchase:T1")
    assert row["status"] == "dismissed" and row["status_set_by"] == "manager@acme.example"
    assert row["note"] == "left a voicemail"
    # A rep may not change another rep's task, through either door.
    with pytest.raises(task_scope.NotInScope):
        page_scope.change_status(ctx_for("rep@acme.example", "rep", "CHI"), "purchase:T2", "done", None)


def test_metrics_search_availability_and_deliveries(api_url, data):
    with client(api_url, make_token(scopes="metrics:read,data:read")) as c:
        window = {"start": str(D2), "end": str(D1)}
        days = c.get("/v1/metrics/daily", params=window).json()["data"]
        assert [d["event_date"] for d in days] == [str(D2), str(D1)]
        assert days[0]["conversion_rate"] == 0.5 and "users_sketch" not in days[0]
        chi = c.get("/v1/metrics/daily", params={**window, "branch": "CHI"}).json()["data"]
        assert sum(d["revenue"] for d in chi) == 100.0
        branches = {b["branch_code"]: b for b in c.get("/v1/metrics/branches", params=window).json()["data"]}
        assert branches["MKE"]["revenue"] == 100.0 and branches["CHI"]["branch_name"] == "Chicago"
        terms = {t["term"]: t for t in c.get("/v1/search-terms", params=window).json()["data"]}
        assert terms["drill"]["searches"] == 3 and terms["hammer"]["no_result_searches"] == 2
        avail = c.get("/v1/data-availability", params={"start": str(D2 - dt.timedelta(days=1)), "end": str(D1)})
        statuses = [(d["event_date"], d["status"]) for d in avail.json()["data"]]
        assert statuses == [(str(D2 - dt.timedelta(days=1)), "not loaded"), (str(D2), "failed"), (str(D1), "complete")]
        assert avail.json()["data"][2]["run_url"].endswith("/runs/run-acme-1")
        ledger = c.get("/v1/email-deliveries", params={"date": str(D1)}).json()["data"]
        assert [(r["recipient"], r["status"]) for r in ledger] == [("acme@rcpt.example", "queued")]
        assert code(c.get("/v1/metrics/daily", params={"start": str(D1), "end": str(D2)})) == "invalid_range"
        assert code(c.get("/v1/metrics/daily", params={"start": "yesterday", "end": str(D2)})) == "validation_error"


def test_rate_limit_answers_429_with_retry_after(tenants):
    token = make_token(scopes="tasks:read")
    with serve_api(create_app(Buckets(rate=0.01, burst=2))) as url, client(url, token) as c:
        assert [c.get("/v1/tasks").status_code for _ in range(2)] == [200, 200]
        limited = c.get("/v1/tasks")
        assert limited.status_code == 429 and code(limited) == "rate_limited"
        assert int(limited.headers["Retry-After"]) >= 1
        other = make_token(scopes="tasks:read", name="other")  # buckets are per token
        assert c.get("/v1/tasks", headers={"Authorization": f"Bearer {other}"}).status_code == 200


def test_refused_credentials_are_limited_per_address_without_locking_out_valid_ones(tenants):
    token = make_token(scopes="tasks:read")
    fake = "gai_00000000_" + "B" * 43
    with serve_api(create_app(failures=Buckets(rate=0.01, burst=2))) as url, client(url, fake) as c:
        assert [c.get("/v1/tasks").status_code for _ in range(2)] == [401, 401]
        guessing = c.get("/v1/tasks")
        assert guessing.status_code == 429 and code(guessing) == "rate_limited" and "Retry-After" in guessing.headers
        assert c.get("/v1/tasks", headers={"Authorization": f"Bearer {token}"}).status_code == 200


# ------------------------------------------------------------------ OIDC
@pytest.fixture(scope="module")
def provider():
    import werkzeug.serving
    from oidc_provider_mock import app

    from ga_intel import ports

    server = werkzeug.serving.make_server("127.0.0.1", ports.free_port(), app(require_nonce=False), threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(5)
    server.server_close()


CLIENT_ID = "ga-intel-dashboard"


def id_token(provider: str, email: str) -> str:
    """Sign in at the provider as `email` (its form, then the code exchange): the ID token."""
    redirect = "http://127.0.0.1/cb"
    query = {
        "client_id": CLIENT_ID,
        "redirect_uri": redirect,
        "response_type": "code",
        "scope": "openid email",
        "state": "s",
    }
    with httpx.Client(base_url=provider, timeout=30) as p:
        answer = p.post("/oauth2/authorize", params=query, data={"sub": email})
        assert answer.status_code == 302, answer.text
        code_ = urllib.parse.parse_qs(urllib.parse.urlsplit(answer.headers["location"]).query)["code"][0]
        tokens_ = p.post(
            "/oauth2/token",
            data={
                "grant_type": "authorization_code",
                "code": code_,
                "redirect_uri": redirect,
                "client_id": CLIENT_ID,
                "client_secret": "any",
            },
        ).json()
    return tokens_["id_token"]


def test_a_reps_jwt_sees_only_the_reps_tasks(api_url, data, provider, monkeypatch):
    monkeypatch.setenv("GA_INTEL_OIDC_ISSUER", provider)
    monkeypatch.setenv("GA_INTEL_OIDC_AUDIENCE", CLIENT_ID)
    window = {
        "created_from": str(D2 - dt.timedelta(days=3)),
        "created_to": str(D1),
        "status": ["open", "in_progress", "recovered"],
    }
    rep = id_token(provider, "rep@acme.example")
    with client(api_url, rep) as c:
        mine = [t["task_key"] for t in c.get("/v1/tasks", params=window).json()["data"]]
        # Beta's task is assigned to the same email; the rep is a member of acme only.
        assert mine == ["purchase:T1", "cart:user:u1:D1"]
        assert code(c.get("/v1/tasks/purchase:T2")) == "task_not_found"  # rep2's
        assert code(c.patch("/v1/tasks/purchase:T2", json={"status": "done"})) == "task_not_found"
        assert c.patch("/v1/tasks/purchase:T1", json={"status": "in_progress"}).status_code == 200
        today = c.get("/v1/tasks/today", params={"rep": "rep2@acme.example"}).json()  # a rep gets their own
        assert {t["task_key"] for t in today["data"]} == {"purchase:T1", "cart:user:u1:D1"}
        assert [t["rank"] for t in today["data"]] == [1, 2] and today["cap_per_rep"] >= 2
        assert code(c.post("/v1/refresh", json={"date": str(D1)})) == "forbidden"  # admins only
        # Naming a tenant the rep is not in, existing or not: one and the same answer.
        other = c.get("/v1/tasks", headers={"X-GA-Intel-Tenant": "beta"})
        missing = c.get("/v1/tasks", headers={"X-GA-Intel-Tenant": "no-such-tenant"})
        assert other.status_code == missing.status_code == 403 and other.json() == missing.json()
    from ga_intel_tests.helpers.pages import db_task

    assert db_task("acme", "purchase:T1")["status_set_by"] == "rep@acme.example"  # as on the Tasks page
    manager = id_token(provider, "manager@acme.example")
    with client(api_url, manager) as c:
        assert {t["task_key"] for t in c.get("/v1/tasks", params=window).json()["data"]} == {
            "purchase:T1",
            "cart:user:u1:D1",
            "search:u3",
        }  # CHI only
    stranger = id_token(provider, "someone@elsewhere.example")
    with client(api_url, stranger) as c:
        assert code(c.get("/v1/tasks")) == "forbidden"
    forged = rep[:-4] + ("AAAA" if not rep.endswith("AAAA") else "BBBB")
    with client(api_url, forged) as c:
        assert code(c.get("/v1/tasks")) == "unauthorized"
    monkeypatch.setenv("GA_INTEL_OIDC_AUDIENCE", "another-client")
    with client(api_url, rep) as c:
        assert code(c.get("/v1/tasks")) == "unauthorized"  # issued for someone else


# ------------------------------------------------------------------ refresh
def test_refresh_queues_a_dagster_run(api_url, data, tmp_path, monkeypatch):
    import shutil

    import dagster as dg

    from ga_intel import settings
    from ga_intel.devservices.dagster_ui import REPO, serve

    token = make_token()
    with client(api_url, token) as c:
        monkeypatch.setenv("GA_INTEL_DAGSTER_URL", "http://127.0.0.1:9")  # nothing listens
        down = c.post("/v1/refresh", json={"date": str(D1)})
        assert down.status_code == 503 and code(down) == "dagster_unavailable"
        assert code(c.post("/v1/refresh", json={"date": "1999-01-01"})) == "invalid_date"
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(REPO / "dagster.yaml", home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setenv(
        "GA_INTEL_DAGSTER_STORAGE_URL", settings.database_urls().dagster.render_as_string(hide_password=False)
    )
    with dg.DagsterInstance.get() as instance:
        instance.wipe()
        instance.add_dynamic_partitions("tenant", ["acme"])
        with serve(instance) as dagster_url, client(api_url, token) as c:
            monkeypatch.setenv("GA_INTEL_DAGSTER_URL", dagster_url)
            answer = c.post("/v1/refresh", json={"date": str(D1)})
            assert answer.status_code == 202, answer.text
            run_id = answer.json()["run_id"]
            assert answer.json()["url"] == f"{dagster_url}/runs/{run_id}"
            run = instance.get_run_by_id(run_id)
            assert run.job_name == "ga4_job" and run.status.value == "QUEUED"  # the run queue decides when
            assert run.tags["dagster/partition"] == f"{D1}|acme" and run.tags["ga_intel/trigger"] == "api"
        instance.wipe()

"""Webhooks end to end: endpoints registered through the real API (uvicorn on 127.0.0.1),
task events written by the database triggers whoever changes a task (the pipeline's
insert, the API's PATCH, the dashboard's status change), and the dispatcher POSTing them
to a local receiver that checks every signature, answers 503 once, and counts deliveries
per event id across a restart of the dispatcher."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import sqlalchemy as sa

from ga_intel import netguard
from ga_intel.api.app import create_app
from ga_intel.db import tenant_scope
from ga_intel.devservices.api_server import serve_api
from ga_intel.webhooks import deliver, signing
from ga_intel_tests.helpers.api import client, code, make_token
from ga_intel_tests.helpers.pages import D2, insert, task


class Receiver:
    """A CRM stand-in: records each POST; answers the queued statuses first, then 200."""

    def __init__(self) -> None:
        self.received: list[dict] = []
        self.answers: list[int] = []
        self.secret = ""
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                status = receiver.answers.pop(0) if receiver.answers else 200
                receiver.received.append(
                    {
                        "headers": {k.lower(): v for k, v in self.headers.items()},
                        "body": body,
                        "answered": status,
                        "valid": signing.verify(
                            receiver.secret,
                            self.headers["GA-Intel-Timestamp"],
                            body,
                            self.headers["GA-Intel-Signature"],
                        ),
                    }
                )
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/ga-intel"

    def delivered(self) -> dict[str, int]:
        """Successful deliveries per event id."""
        counts: dict[str, int] = {}
        for r in self.received:
            if r["answered"] == 200:
                counts[r["headers"]["ga-intel-event-id"]] = counts.get(r["headers"]["ga-intel-event-id"], 0) + 1
        return counts

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def ledger(tenant: str = "acme") -> list[dict]:
    with tenant_scope(tenant) as conn:
        return [
            dict(r)
            for r in conn.execute(
                sa.text(
                    "SELECT CAST(event_id AS text) AS event_id, event_type, status, attempts, response_code, error, payload "
                    "FROM tenant_data.webhook_deliveries ORDER BY created_at, event_type, payload #>> '{data,task,task_key}'"
                )
            ).mappings()
        ]


def test_netguard_refuses_loopback_and_private_unless_allowed(monkeypatch):
    monkeypatch.delenv(netguard.ENV_VAR, raising=False)
    for host in ("127.0.0.1", "10.1.2.3", "192.168.0.10", "169.254.169.254", "::1", "0.0.0.0", "localhost"):
        with pytest.raises(netguard.TargetRefused):
            netguard.check_target(host, 443)
    netguard.check_target("93.184.216.34", 443)  # a public address (a literal: no lookup, no traffic)
    monkeypatch.setenv(netguard.ENV_VAR, "127.0.0.1/32, 10.0.0.0/8")
    netguard.check_target("127.0.0.1", 8080)
    netguard.check_target("10.1.2.3", 443)
    with pytest.raises(netguard.TargetRefused):
        netguard.check_target("192.168.0.10", 443)
    monkeypatch.setenv(netguard.ENV_VAR, "not-a-network")
    with pytest.raises(Exception, match="GA_INTEL_ALLOWED_NETWORKS"):
        netguard.check_target("127.0.0.1", 80)


def test_signed_retried_and_delivered_once_per_event_across_a_restart(tenants, receiver, monkeypatch):
    from ga_intel_tests.helpers.pages import ctx_for
    from streamlit_app.lib import task_scope as page_scope

    monkeypatch.setenv("GA_INTEL_WEBHOOK_RETRY_SECONDS", "0")  # retry at the next pass
    monkeypatch.delenv(netguard.ENV_VAR, raising=False)
    token = make_token(scopes="tasks:write,tasks:read,webhooks:write")
    with serve_api(create_app()) as url, client(url, token) as c:
        refused = c.post("/v1/webhooks", json={"url": receiver.url, "events": ["task.created"]})
        assert refused.status_code == 422 and code(refused) == "invalid_webhook_url" and "127.0.0.1" in refused.text
        assert (
            code(c.post("/v1/webhooks", json={"url": "ftp://x.example/", "events": ["task.created"]}))
            == "invalid_webhook_url"
        )
        monkeypatch.setenv(netguard.ENV_VAR, "127.0.0.1/32")  # the operator allows the local receiver
        made = c.post("/v1/webhooks", json={"url": receiver.url, "events": ["task.created", "task.status_changed"]})
        assert made.status_code == 201, made.text
        receiver.secret = made.json()["secret"]
        assert receiver.secret.startswith("whsec_")
        listed = c.get("/v1/webhooks").json()["data"]
        assert listed == [{k: v for k, v in made.json().items() if k != "secret"}]
        with tenant_scope("acme") as conn:  # stored encrypted
            stored = conn.execute(sa.text("SELECT secret FROM tenant_data.webhook_endpoints")).scalar()
        assert receiver.secret not in stored

        # The pipeline creates two tasks; beta's task makes no acme event.
        insert(
            "acme",
            "tasks",
            [
                task("purchase:T1", "purchase_followup", "CHI", "rep@acme.example", value=100),
                task("purchase:T2", "purchase_followup", "MKE", "rep2@acme.example", day=D2),
            ],
        )
        insert("beta", "tasks", [task("purchase:B1", "purchase_followup", "HQ", None)])
        # A person changes one through the API, another through the dashboard.
        assert c.patch("/v1/tasks/purchase:T1", json={"status": "in_progress"}).status_code == 200
    page_scope.change_status(ctx_for("admin@acme.example", "admin"), "purchase:T2", "dismissed", "not now")
    events = ledger()
    assert [(e["event_type"], e["payload"]["data"]["task"]["task_key"]) for e in events] == [
        ("task.created", "purchase:T1"),
        ("task.created", "purchase:T2"),
        ("task.status_changed", "purchase:T1"),
        ("task.status_changed", "purchase:T2"),
    ]
    assert ledger("beta") == []
    changed = events[3]["payload"]["data"]
    assert changed["previous_status"] == "open" and changed["task"]["status"] == "dismissed"
    assert changed["task"]["status_set_by"] == "admin@acme.example" and changed["task"]["note"] == "not now"

    receiver.answers = [503]  # the CRM is briefly down for the first POST
    first = deliver.dispatch()
    assert first == {"delivered": 3, "retry": 1}
    second = deliver.dispatch()  # the retry (backoff 0 s here)
    assert second == {"delivered": 1}
    assert all(r["valid"] for r in receiver.received) and len(receiver.received) == 5
    retried = [
        r
        for r in receiver.received
        if r["headers"]["ga-intel-event-id"] == receiver.received[0]["headers"]["ga-intel-event-id"]
    ]
    assert [r["answered"] for r in retried] == [503, 200] and retried[0]["body"] == retried[1]["body"]
    body = json.loads(receiver.received[1]["body"])
    assert body["type"] == receiver.received[1]["headers"]["ga-intel-event-type"] and body["tenant_id"] == "acme"

    # A restart: a new dispatcher (the background loop of a fresh API process) finds nothing due.
    loop = deliver.Loop(every=0.05)
    loop.start()
    loop.stop()
    assert deliver.dispatch() == {}
    assert sorted(receiver.delivered().values()) == [1, 1, 1, 1]
    assert set(receiver.delivered()) == {e["event_id"] for e in events}
    assert all(e["status"] == "delivered" for e in ledger())
    assert sorted(e["attempts"] for e in ledger()) == [1, 1, 1, 2]

    # A tampered body fails the receiver's check.
    r = receiver.received[1]
    assert not signing.verify(
        receiver.secret, r["headers"]["ga-intel-timestamp"], r["body"] + b" ", r["headers"]["ga-intel-signature"]
    )


def test_failed_after_max_attempts_and_removed_endpoints_stop(tenants, receiver, monkeypatch):
    monkeypatch.setenv("GA_INTEL_WEBHOOK_RETRY_SECONDS", "0")
    monkeypatch.setenv("GA_INTEL_WEBHOOK_MAX_ATTEMPTS", "2")
    monkeypatch.setenv(netguard.ENV_VAR, "127.0.0.1/32")
    from ga_intel.webhooks import endpoints

    endpoint, receiver.secret = endpoints.add("acme", receiver.url, ("task.created",))
    receiver.answers = [500, 500]
    insert("acme", "tasks", [task("purchase:T1", "purchase_followup", "CHI", None)])
    assert deliver.dispatch() == {"retry": 1}
    assert deliver.dispatch() == {"failed": 1}
    [row] = ledger()
    assert row["status"] == "failed" and row["attempts"] == 2 and row["error"] == "HTTP 500"
    assert endpoints.remove("acme", endpoint.endpoint_id)
    insert("acme", "tasks", [task("purchase:T2", "purchase_followup", "CHI", None)])
    assert len(ledger()) == 1  # no endpoint, no event
    assert deliver.dispatch() == {}


def test_key_rotation_re_encrypts_webhook_secrets(tenants, monkeypatch):
    from cryptography.fernet import Fernet

    from ga_intel import crypto
    from ga_intel.tenancy import store
    from ga_intel.webhooks import endpoints

    monkeypatch.setenv(netguard.ENV_VAR, "127.0.0.1/32")
    old = crypto.load_keys()[0][0].decode()
    endpoints.add("acme", "http://127.0.0.1:9/hook", ("task.created",))
    new = Fernet.generate_key().decode()
    monkeypatch.setenv(crypto.ENV_VAR, f"{new},{old}")
    crypto.reset_keyring()
    assert store.rotate_keys() >= 1
    monkeypatch.setenv(crypto.ENV_VAR, new)  # the old key is gone
    crypto.reset_keyring()
    with tenant_scope("acme") as conn:
        token = conn.execute(sa.text("SELECT secret FROM tenant_data.webhook_endpoints")).scalar()
    assert crypto.keyring().decrypt(token)["secret"].startswith("whsec_")

"""The API tests' tokens, clients and the secrets of tenant beta that acme's callers must never see."""

from __future__ import annotations

import httpx
from click.testing import CliRunner

from ga_intel.api import tokens
from ga_intel.cli import main
from ga_intel_tests.helpers.pages import BETA_BRANCH, BETA_TASK, BETA_TERM

ALL_SCOPES = ",".join(tokens.SCOPES)
BETA_KEY = "cart:user:b1:D1"
BETA_SECRETS = (BETA_TASK, BETA_TERM, BETA_BRANCH, "9876.54", "run-beta-1", BETA_KEY, "beta@rcpt.example")


def make_token(tenant: str = "acme", scopes: str = ALL_SCOPES, name: str = "crm") -> str:
    result = CliRunner().invoke(main, ["token", "create", "--tenant", tenant, "--name", name, "--scope", scopes])
    assert result.exit_code == 0, result.output
    return result.stdout.strip().splitlines()[0]


def client(url: str, token: str | None = None, **headers) -> httpx.Client:
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return httpx.Client(base_url=url, headers=headers, timeout=30)


def code(response: httpx.Response) -> str:
    return response.json()["error"]["code"]

"""Schemathesis against the API's own OpenAPI spec, served by a real uvicorn over the real
database: generated requests (a few per operation, to stay under a minute) never get a
500. The one 5xx an endpoint may answer is POST /v1/refresh's 503 `dagster_unavailable`
(no Dagster webserver here), and that must be the structured error."""

from __future__ import annotations

import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase

from ga_intel.api.app import create_app
from ga_intel.api.ratelimit import Buckets
from ga_intel.devservices.api_server import serve_api
from ga_intel_tests.helpers.api import ALL_SCOPES, make_token

EXAMPLES_PER_OPERATION = 4


def test_no_generated_request_gets_a_server_error(data, monkeypatch):
    monkeypatch.setenv("GA_INTEL_DAGSTER_URL", "http://127.0.0.1:9")  # nothing listens: a 503, quickly
    token = make_token(scopes=ALL_SCOPES)
    with serve_api(create_app(Buckets(rate=1000, burst=1000))) as url:
        schema = schemathesis.openapi.from_url(f"{url}/openapi.json")
        operations = [result.ok() for result in schema.get_all_operations()]
        assert len(operations) >= 12
        failures = []
        for operation in operations:

            @hypothesis.settings(
                max_examples=EXAMPLES_PER_OPERATION,
                deadline=None,
                database=None,
                derandomize=True,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            @hypothesis.given(case=operation.as_strategy())
            def check(case):  # run at once, inside this iteration: the loop variable is current
                response = case.call(base_url=url, headers={"Authorization": f"Bearer {token}"})
                if response.status_code >= 500:
                    allowed = (
                        operation.path == "/v1/refresh"
                        and response.status_code == 503
                        and response.json()["error"]["code"] == "dagster_unavailable"
                    )
                    if not allowed:
                        failures.append(
                            (
                                operation.method,
                                operation.path,
                                case.path_parameters,
                                case.query,
                                response.status_code,
                                response.text[:300],
                            )
                        )

            check()
        assert not failures, failures
        # Every error answer is structured.
        assert schema is not None


@pytest.mark.parametrize("path", ["/v1/tasks", "/v1/nope"])
def test_errors_are_structured_without_auth(tenants, path):
    import httpx

    with serve_api(create_app()) as url:
        response = httpx.get(url + path)
    assert response.status_code in (401, 404)
    assert set(response.json()["error"]) >= {"code", "message"}

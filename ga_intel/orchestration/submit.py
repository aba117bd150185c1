"""Ask Dagster for a run of a tenant's day, as the UI's "Materialize" does: a `launchRun`
through the webserver's GraphQL API, so the run goes through the run queue (dagster.yaml:
per-tenant limits, priorities) like every scheduled run, and shows in the UI.

`GA_INTEL_DAGSTER_URL` is the webserver (default http://127.0.0.1:$DAGSTER_PORT, 3000);
the Data page links runs there too.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import urllib.error
import urllib.request

from ga_intel.errors import ServiceError

DAGSTER_URL_ENV = "GA_INTEL_DAGSTER_URL"
LOCATION = "ga_intel"  # workspace.yaml
REPOSITORY = "__repository__"  # a Definitions object's repository
JOB = "ga4_job"  # a day's GA4 tables, then its metrics and tasks

_LAUNCH = """
mutation Launch($params: ExecutionParams!) {
  launchRun(executionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message }
    ... on RunConfigValidationInvalid { errors { message } }
    ... on Error { message }
  }
}"""


def dagster_url() -> str:
    return os.environ.get(DAGSTER_URL_ENV, f"http://127.0.0.1:{os.environ.get('DAGSTER_PORT', '3000')}").rstrip("/")


def run_link(run_id: str) -> str:
    return f"{dagster_url()}/runs/{run_id}"


def refresh_day(tenant_id: str, day: dt.date, trigger: str = "api") -> str:
    """Queue a run of `ga4_job` for the tenant × day partition; returns its run id."""
    from ga_intel.ga4.automation import FRESH_TAGS, partition_key
    from ga_intel.orchestration.partitions import tenant_day_partitions

    key = partition_key(tenant_id, day)
    tags = {**tenant_day_partitions.get_tags_for_partition_key(key), "ga_intel/trigger": trigger, **FRESH_TAGS}
    params = {
        "selector": {"repositoryLocationName": LOCATION, "repositoryName": REPOSITORY, "jobName": JOB},
        "runConfigData": {},
        "mode": "default",
        "executionMetadata": {"tags": [{"key": k, "value": str(v)} for k, v in tags.items()]},
    }
    request = urllib.request.Request(
        f"{dagster_url()}/graphql",
        headers={"Content-Type": "application/json"},
        data=json.dumps({"query": _LAUNCH, "variables": {"params": params}}).encode(),
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            payload = json.loads(response.read())
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise ServiceError(
            "dagster",
            f"the webserver at {dagster_url()} did not take the run ({exc})",
            hint=f"start it (`make dev`) or set {DAGSTER_URL_ENV}",
            transient=True,
        ) from None
    result = (payload.get("data") or {}).get("launchRun") or {}
    if result.get("__typename") == "LaunchRunSuccess":
        return result["run"]["runId"]
    message = (
        result.get("message")
        or "; ".join(e["message"] for e in result.get("errors", []))
        or str(payload.get("errors") or result)
    )
    raise ServiceError("dagster", f"the run was refused: {message[:300]}")

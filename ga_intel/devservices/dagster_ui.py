"""The Dagster webserver (the UI's ASGI app) served in-process on a loopback port, for
tests and `ga-intel bench scale`: the same app `dagster-webserver` runs, over the code
location loaded in this process instead of a gRPC code server."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def in_process_target(module: str = "ga_intel.definitions", attribute: str = "defs", location: str = "ga_intel"):
    from dagster._core.remote_origin import InProcessCodeLocationOrigin
    from dagster._core.types.loadable_target_origin import LoadableTargetOrigin
    from dagster._core.workspace.load_target import InProcessWorkspaceLoadTarget

    return InProcessWorkspaceLoadTarget(
        InProcessCodeLocationOrigin(
            LoadableTargetOrigin(module_name=module, attribute=attribute, working_directory=str(REPO)),
            location_name=location,
        )
    )


@contextmanager
def serve(instance, port: int | None = None, target=None, timeout: float = 60) -> Iterator[str]:
    """Serve the Dagster UI for `instance`; yields its base URL."""
    from dagster._core.workspace.context import WorkspaceProcessContext
    from dagster_webserver.app import create_app_from_workspace_process_context

    from ga_intel import ports
    from ga_intel.devservices.uvicorn_thread import serve_in_thread

    port = port or ports.free_port()
    with WorkspaceProcessContext(instance, target or in_process_target()) as context:
        app = create_app_from_workspace_process_context(context)
        with serve_in_thread(app, port, "dagster-ui", timeout, lifespan="off") as url:
            yield url


def graphql(url: str, query: str, variables: dict | None = None, timeout: float = 120) -> dict:
    """POST a GraphQL query to the UI's /graphql, as the browser does; raises on errors."""
    import json
    import urllib.request

    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    request = urllib.request.Request(f"{url}/graphql", data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        payload = json.loads(response.read())
    if payload.get("errors"):
        raise RuntimeError(f"GraphQL errors: {payload['errors'][:2]}")
    return payload["data"]

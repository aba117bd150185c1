"""The HTTP API served by uvicorn on a free loopback port in a thread of this process, for
tests and `ga-intel bench api` (it shares the process's database and environment)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from ga_intel import ports
from ga_intel.devservices.uvicorn_thread import serve_in_thread


@contextmanager
def serve_api(app, timeout: float = 30) -> Iterator[str]:
    """Serve `app` (ga_intel.api.app.create_app(...)); yields its base URL."""
    with serve_in_thread(app, ports.free_port(), "api", timeout) as url:
        yield url

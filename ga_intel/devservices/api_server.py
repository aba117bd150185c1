"""The HTTP API served by uvicorn on a free loopback port in a thread of this process, for
tests and `ga-intel bench api` (it shares the process's database and environment)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn

from ga_intel import ports


@contextmanager
def serve_api(app, timeout: float = 30) -> Iterator[str]:
    """Serve `app` (ga_intel.api.app.create_app(...)); yields its base URL."""
    port = ports.free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="api", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError(f"the API did not start on port {port}")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)

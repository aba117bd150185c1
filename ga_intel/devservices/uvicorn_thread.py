"""An ASGI app served by uvicorn in a daemon thread of this process, on 127.0.0.1: the test
and bench stand-ins for the API and the Dagster UI share this start-and-wait loop."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn


@contextmanager
def serve_in_thread(app, port: int, name: str, timeout: float, **config) -> Iterator[str]:
    """Serve `app` on `port` until the block ends; yields its base URL. Raises if it has not
    started within `timeout` seconds."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", **config))
    thread = threading.Thread(target=server.run, name=name, daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError(f"the {name} server did not start on port {port}")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)

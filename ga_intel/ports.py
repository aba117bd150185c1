"""Loopback TCP ports for the servers ga-intel starts itself (embedded database, dev
services, test servers)."""

from __future__ import annotations

import socket


def is_free(port: int) -> bool:
    with socket.socket() as s:
        # As servers bind: a port whose last connections sit in TIME_WAIT is still free.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def free_port() -> int:
    """A port nothing listens on now (the OS's pick)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]

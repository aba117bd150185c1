"""Run a tenant template's render in a child process with a time and memory limit.

A tenant's template is code a tenant admin wrote. The bounded sandbox (email/sandbox.py)
refuses the obvious bombs, but loops nest and strings concatenate: only a process of
its own can be stopped without stopping the dashboard or the daemon that asked. The
children come from a fork server that has the renderer imported, so each one starts in
milliseconds; the caller only waits (the GIL is free) and kills a child that runs over.

Limits (operator settings) per render: GA_INTEL_TEMPLATE_TIMEOUT_SECONDS (default 10) of
CPU time, enforced by the kernel (RLIMIT_CPU), so a busy machine does not fail a fair
template; GA_INTEL_TEMPLATE_MEMORY_MB (default 256, RLIMIT_AS); and a wall-clock
backstop of five times the CPU limit plus 5 s for a child that stalls without
computing.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import resource
import signal
import threading
from collections.abc import Callable
from typing import Any

from ga_intel.errors import GaIntelError

TIMEOUT_VAR = "GA_INTEL_TEMPLATE_TIMEOUT_SECONDS"
MEMORY_VAR = "GA_INTEL_TEMPLATE_MEMORY_MB"
_lock = threading.Lock()
_context = None


class TemplateLimitError(GaIntelError):
    """A tenant template ran over its time or memory limit, or failed in its child."""


def limits() -> tuple[float, int]:
    try:
        timeout = float(os.environ.get(TIMEOUT_VAR, "10"))
        memory = int(os.environ.get(MEMORY_VAR, "256"))
    except ValueError:
        raise GaIntelError(
            f"{TIMEOUT_VAR} and {MEMORY_VAR} must be numbers",
            hint="e.g. GA_INTEL_TEMPLATE_TIMEOUT_SECONDS=10 GA_INTEL_TEMPLATE_MEMORY_MB=256",
        ) from None
    return timeout, memory


def _ctx():
    global _context
    with _lock:
        if _context is None:
            ctx = multiprocessing.get_context("forkserver")
            # Never '__main__' (for the dashboard it is the Streamlit app script): the
            # server imports the renderer, and tells its children to skip the main module.
            ctx.set_forkserver_preload(["ga_intel.email.template_server"])
            _context = ctx
        return _context


def _vm_bytes() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def _child(conn, fn: Callable, args: tuple, timeout: float, memory_mb: int) -> None:
    # The address space the fork server already has, plus the template's budget.
    budget = _vm_bytes() + memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (budget, budget))
    cpu = max(1, math.ceil(timeout))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))  # SIGXCPU at the soft limit ends it
    try:
        outcome = ("ok", fn(*args))
    except MemoryError:
        outcome = ("limit", f"the template needs more than {memory_mb} MB of memory")
    except BaseException as exc:  # the parent decides what a failure means
        outcome = ("error", exc)
    try:
        conn.send(outcome)
    except Exception:  # an exception that does not pickle
        conn.send(("error", RuntimeError(f"{type(outcome[1]).__name__}: {outcome[1]}"[:2000])))
    conn.close()


def run(fn: Callable, *args: Any) -> Any:
    """`fn(*args)` in a child; its exception is raised here. TemplateLimitError when
    the child runs out of CPU time, memory or (stalled) wall-clock time."""
    timeout, memory_mb = limits()
    ctx = _ctx()
    receiver, sender = ctx.Pipe(duplex=False)
    proc = ctx.Process(
        target=_child, args=(sender, fn, args, timeout, memory_mb), daemon=True, name="ga-intel-template"
    )
    proc.start()
    sender.close()
    cpu_limit = TemplateLimitError(
        f"the template needed more than {max(1, math.ceil(timeout))} s of CPU time to render (the limit)",
        hint=f"simplify its loops; the limit is the operator's {TIMEOUT_VAR}",
    )
    backstop = 5 * timeout + 5
    try:
        if not receiver.poll(backstop):
            raise TemplateLimitError(
                f"the template did not finish rendering within {backstop:g} s",
                hint=f"simplify it; the limit is the operator's {TIMEOUT_VAR}",
            )
        try:
            status, value = receiver.recv()
        except EOFError:
            proc.join(5)
            if proc.exitcode == -signal.SIGXCPU:
                raise cpu_limit from None
            raise TemplateLimitError(
                f"the template's render was stopped (exit {proc.exitcode}): it exceeded "
                f"{memory_mb} MB of memory or its CPU time",
                hint=f"the limits are the operator's {MEMORY_VAR} and {TIMEOUT_VAR}",
            ) from None
    finally:
        receiver.close()
        if proc.is_alive():
            proc.kill()
        proc.join(5)
    if status == "limit":
        raise TemplateLimitError(value, hint=f"the limit is the operator's {MEMORY_VAR}")
    if status == "error":
        raise value
    return value

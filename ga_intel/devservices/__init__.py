"""Local stand-ins for tenants' external services, for the tests and the demo:
an SMTP sink with STARTTLS and AUTH, and the BigQuery emulator."""

import subprocess


def stop_process(proc: subprocess.Popen | None, grace: float = 10) -> None:
    """SIGTERM, then SIGKILL after `grace` seconds: a local server never outlives us."""
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()

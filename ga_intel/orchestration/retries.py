"""Step retries for transient BigQuery and SFTP failures.

Two layers, both bounded:

- **in the call** (seconds): the BigQuery client's own `Retry(timeout=...)` and master
  data's `with_retries` (3 attempts, 2 s then 4 s) ride out a dropped connection;
- **the step** (minutes): `TRANSIENT_RETRY_POLICY` on the GA4 and master-data assets
  re-runs the whole step after 30 s, 60 s, 120 s (exponential, ±jitter so fifty tenants
  that failed together do not retry together), then the run fails for good.

Only transient errors are retried at the step level: `transient_only()` turns every other
error (bad credentials, a missing dataset, an invalid file, a bug) into a
`dg.Failure(allow_retries=False)`, so a wrong password fails at once instead of after
four attempts. `ServiceError.transient` marks what is transient (refused or reset
connections, timeouts, BigQuery 429/500/503).

`GA_INTEL_STEP_RETRIES` and `GA_INTEL_RETRY_DELAY_SECONDS` (read at import) change the
count and the first delay; the tests shorten the delay.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg

from ga_intel.errors import GaIntelError, ServiceError

STEP_RETRIES = int(os.environ.get("GA_INTEL_STEP_RETRIES", "3"))
RETRY_DELAY_SECONDS = float(os.environ.get("GA_INTEL_RETRY_DELAY_SECONDS", "30"))

TRANSIENT_RETRY_POLICY = dg.RetryPolicy(
    max_retries=STEP_RETRIES,
    delay=RETRY_DELAY_SECONDS,
    backoff=dg.Backoff.EXPONENTIAL,
    jitter=dg.Jitter.PLUS_MINUS,
)


def is_transient(exc: BaseException) -> bool:
    """Whether trying again later may work."""
    if isinstance(exc, ServiceError):
        return exc.transient
    if isinstance(exc, GaIntelError):
        return False
    try:
        from google.api_core import exceptions as gexc

        if isinstance(
            exc,
            (
                gexc.ServiceUnavailable,
                gexc.InternalServerError,
                gexc.TooManyRequests,
                gexc.DeadlineExceeded,
                gexc.RetryError,
            ),
        ):
            return True
    except ImportError:  # pragma: no cover - google-cloud is a dependency
        pass
    return isinstance(exc, (ConnectionError, TimeoutError))


@contextmanager
def transient_only() -> Iterator[None]:
    """Let transient errors through (the step's RetryPolicy retries them); make every
    other error final."""
    try:
        yield
    except dg.Failure as failure:
        if failure.allow_retries is False:
            raise
        raise dg.Failure(description=failure.description, metadata=failure.metadata, allow_retries=False) from failure
    except (dg.RetryRequested, GeneratorExit, KeyboardInterrupt):
        raise
    except Exception as exc:
        if is_transient(exc):
            raise
        message = exc.message if isinstance(exc, GaIntelError) else f"{type(exc).__name__}: {exc}"
        raise dg.Failure(description=message, allow_retries=False) from exc

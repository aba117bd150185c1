"""Showing errors the user can act on, the same way on every page.

A `GaIntelError` is shown as its message and hint. A failure to reach or use the platform
database surfaces from SQLAlchemy, not as a `GaIntelError`; it is translated here, so the
user reads "cannot reach the platform database" rather than a traceback (which could also
quote SQL).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy.exc as sa_exc
import streamlit as st

from ga_intel.errors import GaIntelError

# undefined_table, invalid_schema_name: the database exists but was never migrated.
_NOT_MIGRATED = {"42P01", "3F000"}


def _database_where() -> str:
    try:
        from ga_intel import settings

        url = settings.database_urls().platform
        return f" at {url.host}:{url.port}/{url.database}"
    except Exception:  # a malformed GA_INTEL_DATABASE_URL: the error below still helps
        return ""


def user_error(exc: BaseException) -> GaIntelError | None:
    """The error to show for `exc`, or None when it is a bug (let it raise)."""
    if isinstance(exc, GaIntelError):
        return exc
    if isinstance(exc, sa_exc.DBAPIError):
        orig = getattr(exc, "orig", None)
        if getattr(orig, "pgcode", None) in _NOT_MIGRATED:
            return GaIntelError(
                f"the platform database{_database_where()} is not set up", hint="run `ga-intel db upgrade`"
            )
        if isinstance(exc, (sa_exc.OperationalError, sa_exc.InterfaceError)):
            # The driver's first line names host and port and why; it never quotes a password.
            first = str(orig or exc).strip().splitlines()[0] if str(orig or exc).strip() else ""
            return GaIntelError(
                f"cannot reach the platform database{_database_where()}" + (f": {first}" if first else ""),
                hint="start it (`make services_start` or `ga-intel db start`), or fix GA_INTEL_DATABASE_URL",
            )
    return None


def show_error(err: GaIntelError) -> None:
    st.error(err.message)
    if err.hint:
        st.caption(f"Hint: {err.hint}")


@contextmanager
def stop_on_error() -> Iterator[None]:
    """Show a user-actionable error and end this run; anything else is a bug and raises."""
    try:
        yield
    except Exception as exc:
        err = user_error(exc)
        if err is None:
            raise
        show_error(err)
        st.stop()

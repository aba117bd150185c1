"""What every `ga-intel` command group shares: user-fixable errors as one clear message, and
a platform database that is up to date for the command. Kept apart from `ga_intel.cli` so
the subcommand groups (email, ga4, masterdata) import it without importing the CLI root."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable

import click

from ga_intel.errors import GaIntelError


def fail(exc: GaIntelError) -> None:
    click.secho(f"error: {exc.message}", fg="red", err=True)
    if exc.hint:
        click.echo(f"  hint: {exc.hint}", err=True)
    sys.exit(2)


def needs_database(fn: Callable) -> Callable:
    """Run `fn` against an up-to-date platform database.

    With no GA_INTEL_DATABASE_URL the embedded server is started for the command and
    stopped afterwards, unless it was already running (e.g. under `make dev`)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        from ga_intel import settings
        from ga_intel.db import embedded, migrate

        started = False
        if settings.database_urls().embedded and not embedded.is_running():
            embedded.start()
            started = True
        try:
            migrate.ensure_current()
            return fn(*args, **kwargs)
        finally:
            if started:
                from ga_intel.db.engine import dispose_all

                dispose_all()
                embedded.stop()

    return wrapper


class ErrorsAsMessages(click.Group):
    """A command group whose user-fixable errors print as one message (exit 2), not a traceback."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except GaIntelError as exc:
            fail(exc)

"""The one way ga-intel reads its SQL files.

SQL longer than a few lines lives in `.sql` files next to the code that runs it. Each file
is a Jinja template, so SQL that repeats (dbt-ga4's `unnest_key` is the model: the
`(SELECT … FROM UNNEST(event_params) …)` idiom) is written once as a macro in
`ga_intel/sql_macros/` and imported where it is used. Templates are rendered with options
known before the query runs (which optional export columns exist, say); every value from
a user, a tenant file or the data is a bound parameter (`@name` for BigQuery, `:name`
for PostgreSQL) and never passes through Jinja.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import jinja2

ROOT = Path(__file__).resolve().parents[2]  # the checkout / site-packages folder holding ga_intel/


def _fail(message: str):
    raise ValueError(message)


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(ROOT)),
        undefined=jinja2.StrictUndefined,  # a misspelt option fails loudly, never renders as ''
        autoescape=False,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["fail"] = _fail  # {{ fail('message') }}: a template's own error
    return env


@lru_cache(maxsize=256)
def _render(name: str, options: tuple) -> str:
    text = _environment().get_template(name).render(**dict(options))
    # Comments stay in the files for the reader; the server never needs them.
    return "\n".join(line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("--"))


def render(name: str, **options) -> str:
    """The SQL of `name` (a path from the repository root, e.g. 'ga_intel/ga4/sql/sessions.sql')."""
    return _render(name, tuple(sorted(options.items())))

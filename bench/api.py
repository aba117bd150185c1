"""API benchmark: `GET /v1/tasks` served by uvicorn over HTTP, p95, against a `SELECT 1`
round trip through `tenant_scope` (the floor of any tenant query) and `GET /health` (the
floor of any HTTP request), in the same run.

The data is `bench dashboard`'s generated history (bench/dashboard.py `_generate`: tasks,
figures and raw rows straight into the tables, server-side), by default small so the
bench runs in under a minute: 30 days at 50,000 events a day (~2,800 tasks).
`--history-days 365 --events-per-day 1000000` gives the dashboard bench's year (~675,000
tasks). The API runs in this process (a uvicorn thread), called over loopback HTTP with a
tenant API token, so the time includes authentication, the token lookup, the scoped
query and JSON.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable

import sqlalchemy as sa

from bench.common import Measurement, compare
from bench.dashboard import ROLLUPS, TENANT, _generate, _p95, _reset


def run(
    echo: Callable[[str], None], days: int = 30, raw_days: int = 2, events_per_day: int = 50_000, repeats: int = 40
) -> list[Measurement]:
    import httpx

    from ga_intel.api import tokens
    from ga_intel.api.app import create_app
    from ga_intel.api.ratelimit import Buckets
    from ga_intel.db import control, engine, tenant_scope
    from ga_intel.devservices.api_server import serve_api

    end = dt.date.today() - dt.timedelta(days=1)
    _reset(echo)
    with control() as conn:
        conn.execute(
            sa.text("INSERT INTO control.tenants (tenant_id, name, timezone) VALUES (:tenant, 'Bench', 'UTC')"),
            {"tenant": TENANT},
        )
    echo(f"generating {days} days at {events_per_day:,} events/day …")
    with tenant_scope(TENANT) as conn:
        counts = _generate(conn, end, days, raw_days, events_per_day, echo)
    with engine().connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for table in ("tasks", *ROLLUPS):
            conn.execute(sa.text(f"VACUUM ANALYZE tenant_data.{table}"))
    _, token = tokens.create(TENANT, "bench", ("tasks:read",))
    out: list[Measurement] = []
    try:
        floor_samples = []
        for _ in range(repeats * 5):
            t0 = time.perf_counter()
            with tenant_scope(TENANT) as conn:
                conn.execute(sa.text("SELECT 1")).scalar()
            floor_samples.append((time.perf_counter() - t0) * 1000)
        floor = _p95(floor_samples)
        params = {
            "created_from": str(end - dt.timedelta(days=days - 1)),
            "created_to": str(end),
            "limit": 100,
            "status": ["open", "in_progress"],
        }
        with (
            serve_api(create_app(Buckets(rate=1e6, burst=1e6))) as url,
            httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=60) as c,
        ):
            samples: dict[str, list[float]] = {"health": [], "tasks_first_page": [], "tasks_second_page": []}
            first = c.get("/v1/tasks", params=params)  # warm-up
            first.raise_for_status()
            cursor = first.json()["next_cursor"]
            for _ in range(repeats):
                for name, call in (
                    ("health", lambda: c.get("/health")),
                    ("tasks_first_page", lambda: c.get("/v1/tasks", params=params)),
                    (
                        "tasks_second_page",
                        lambda: c.get("/v1/tasks", params={**params, "cursor": cursor} if cursor else params),
                    ),
                ):
                    t0 = time.perf_counter()
                    call().raise_for_status()
                    samples[name].append((time.perf_counter() - t0) * 1000)
        note = (
            f"{days} days x {events_per_day:,} events/day: "
            + ", ".join(f"{k} {v:,}" for k, v in counts.items())
            + f"; p95 of {repeats} requests over loopback HTTP, 100 tasks a page"
        )
        for name in ("tasks_first_page", "tasks_second_page"):
            out.append(
                compare(
                    f"api.{name}_p95_ms",
                    _p95(samples[name]),
                    "ms",
                    "SELECT 1 through tenant_scope, p95 (ms)",
                    floor,
                    note=note,
                )
            )
        out.append(
            compare(
                "api.health_p95_ms",
                _p95(samples["health"]),
                "ms",
                "SELECT 1 through tenant_scope, p95 (ms)",
                floor,
                note="GET /health: the HTTP floor (uvicorn, FastAPI, one SELECT 1)",
            )
        )
    finally:
        _reset(echo)  # the tenant's rows, its token with it (ON DELETE CASCADE)
    return out

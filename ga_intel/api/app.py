"""The HTTP API: FastAPI, served by uvicorn (`ga-intel api serve`, `make dev`).

Every tenant read and write goes through the functions the dashboard uses
(ga_intel/reads, ga_intel/insights) inside `tenant_scope`, so row-level security and the
person's task scope apply whatever the request says. Versioned under /v1; /health has no
auth and shows no tenant data. docs/API.md is the reference.
"""

# No `from __future__ import annotations`: FastAPI reads the route signatures, whose
# annotations name closures (Caller, TaskKey).

import base64
import binascii
import datetime as dt
import decimal
import json
import math
from contextlib import asynccontextmanager
from typing import Annotated, Any, Literal

import numpy as np
import pandas as pd
from fastapi import Depends, FastAPI, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from ga_intel.api import errors
from ga_intel.api.auth import Principal, authenticate, require
from ga_intel.api.errors import ApiError
from ga_intel.api.ratelimit import Buckets
from ga_intel.insights.tasks import PERSON_STATUSES, STATUSES, TASK_TYPES

MAX_RANGE_DAYS = 731  # a range longer than two years is refused, not truncated
MAX_PAGE = 500
TASK_FIELDS = (
    "task_key",
    "task_type",
    "status",
    "priority",
    "due_date",
    "created_date",
    "horizon_date",
    "branch_code",
    "assigned_rep_email",
    "assigned_rep_name",
    "title",
    "value",
    "customer_id",
    "company_id",
    "account_key",
    "note",
    "status_set_by",
    "status_set_at",
    "recovered_revenue",
    "recovered_on",
    "context",
    "updated_at",
)

Day = Annotated[dt.date, Query(description="YYYY-MM-DD")]


# ---------------------------------------------------------------- JSON of frames
def _plain(value: Any) -> Any:
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, (float, np.floating, decimal.Decimal)):
        return None if math.isnan(value) or math.isinf(value) else float(value)
    if isinstance(value, pd.Timestamp) and value.tzinfo is None and value == value.normalize():
        return value.date().isoformat()  # a day (event_date) that pandas made a timestamp
    if isinstance(value, (pd.Timestamp, dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, (bytes, memoryview)):
        return None  # sketches and other binary columns are not part of any resource
    return value


def records(frame: pd.DataFrame, fields: tuple[str, ...] | None = None) -> list[dict]:
    columns = [c for c in (fields or frame.columns) if c in frame.columns]
    return [{c: _plain(v) for c, v in zip(columns, row)} for row in frame[columns].itertuples(index=False)]


def task_json(row: dict) -> dict:
    return {f: _plain(row.get(f)) for f in TASK_FIELDS}


def _range(start: dt.date, end: dt.date) -> None:
    if end < start:
        raise ApiError(422, "invalid_range", f"end {end} is before start {start}")
    if (end - start).days >= MAX_RANGE_DAYS:
        raise ApiError(
            422,
            "invalid_range",
            f"the range is longer than {MAX_RANGE_DAYS} days",
            hint="ask for a shorter range, in several requests",
        )


# ---------------------------------------------------------------- cursors
def encode_cursor(after) -> str:
    raw = json.dumps([after.priority, after.due_date.isoformat(), after.value, after.task_key])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str):
    from ga_intel.reads.tasks import After

    try:
        priority, due, value, key = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        return After(int(priority), dt.date.fromisoformat(due), None if value is None else float(value), str(key))
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError, OverflowError):
        raise ApiError(
            400,
            "invalid_cursor",
            "the cursor is not one this API returned",
            hint="pass next_cursor from the previous page unchanged",
        ) from None


# ---------------------------------------------------------------- request bodies
class TaskPatch(BaseModel):
    status: Literal[PERSON_STATUSES] | None = Field(  # type: ignore[valid-type]
        None, description="what a person may set: " + ", ".join(PERSON_STATUSES)
    )
    note: str | None = Field(None, max_length=2000, description="kept when omitted or empty, as on the Tasks page")


class RefreshRequest(BaseModel):
    date: dt.date = Field(description="the tenant's GA4 day to load again (YYYY-MM-DD)")


class WebhookRequest(BaseModel):
    url: str = Field(max_length=2000, description="https:// (or http://) URL receiving POSTed events")
    events: list[Literal["task.created", "task.status_changed"]] = Field(min_length=1, max_length=2)


def create_app(buckets: Buckets | None = None, dispatcher: bool = False, failures: Buckets | None = None) -> FastAPI:
    """The API app. `buckets`: requests per credential; `failures`: refused credentials per
    client address; `dispatcher`: also deliver webhooks from this process."""
    import os

    buckets = buckets or Buckets()
    failures = failures or Buckets(
        rate=float(os.environ.get("GA_INTEL_API_AUTH_FAILURE_RATE", "1")),
        burst=float(os.environ.get("GA_INTEL_API_AUTH_FAILURE_BURST", "30")),
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        from ga_intel.webhooks import deliver

        loop = deliver.Loop() if dispatcher else None
        if loop:
            loop.start()
        try:
            yield
        finally:
            if loop:
                loop.stop()

    app = FastAPI(
        title="ga-intel API",
        version="1",
        lifespan=lifespan,
        description="Tasks, metrics and data status of a ga-intel tenant. See docs/API.md.",
    )
    errors.install(app)

    def caller(request: Request) -> Principal:
        return authenticate(request, buckets, failures)

    Caller = Annotated[Principal, Depends(caller)]

    # ------------------------------------------------------------ health
    @app.get("/health", tags=["operations"], summary="Liveness and database reachability; no auth, no tenant data")
    def health():
        import sqlalchemy as sa

        from ga_intel.db import control

        try:
            with control() as conn:
                conn.execute(sa.text("SELECT 1"))
        except Exception:  # noqa: BLE001 - any failure is "unhealthy", and says no more
            return JSONResponse({"status": "unhealthy", "database": "unreachable"}, status_code=503)
        return {"status": "ok", "database": "ok"}

    # ------------------------------------------------------------ tasks
    @app.get("/v1/tasks", tags=["tasks"], summary="The caller's tasks, by priority, due date and value")
    def list_tasks(
        who: Caller,
        created_from: Annotated[dt.date | None, Query(description="first created day (default: 90 days ago)")] = None,
        created_to: Annotated[dt.date | None, Query(description="last created day (default: today)")] = None,
        status: Annotated[list[Literal[STATUSES]] | None, Query(description="repeatable; default: all")] = None,  # type: ignore[valid-type]
        type: Annotated[list[Literal[tuple(TASK_TYPES)]] | None, Query(description="repeatable; default: all")] = None,  # type: ignore[valid-type]  # noqa: A002
        branch: Annotated[str | None, Query(max_length=200)] = None,
        rep: Annotated[str | None, Query(max_length=320, description="an email; 'unassigned' for none")] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
        cursor: Annotated[str | None, Query(max_length=2000)] = None,
    ):
        from ga_intel.reads import tasks

        require(who, "tasks:read")
        end = created_to or dt.date.today()
        start = created_from or end - dt.timedelta(days=90)
        _range(start, end)
        frame = tasks.task_list(
            who,
            start,
            end,
            types=tuple(type or ()),
            statuses=tuple(status or STATUSES),
            branch=branch,
            rep="" if rep == "unassigned" else rep,
            limit=limit + 1,
            after=decode_cursor(cursor) if cursor else None,
        )
        rows = [r for r in frame.to_dict("records")]
        more = len(rows) > limit
        rows = rows[:limit]
        return {
            "data": [task_json(r) for r in rows],
            "next_cursor": encode_cursor(tasks.After.of(rows[-1])) if more else None,
        }

    @app.get(
        "/v1/tasks/today",
        tags=["tasks"],
        summary="Today's ranked work list (the Tasks page's and the morning email's): new first, then by score",
    )
    def today(
        who: Caller,
        rep: Annotated[
            str | None, Query(max_length=320, description="an email, or 'unassigned'; a rep always gets their own")
        ] = None,
        branch: Annotated[str | None, Query(max_length=200)] = None,
    ):
        from ga_intel.reads import tasks

        require(who, "tasks:read")
        if who.role == "rep":
            rep = who.email
        daily = tasks.daily_list(who, "" if rep == "unassigned" else rep, branch)
        fields = (
            *TASK_FIELDS,
            "rank",
            "is_new",
            "days_overdue",
            "score",
            "company_name",
            "contact_name",
            "contact_phone",
            "contact_email",
        )
        return {"date": daily.today.isoformat(), "cap_per_rep": daily.cap, "data": records(daily.tasks, fields)}

    def _task(who: Principal, task_key: str) -> dict:
        from ga_intel.reads import tasks

        row = tasks.one(who, task_key)
        if row is None:
            raise ApiError(404, "task_not_found", "no such task in your work list")
        return row

    TaskKey = Annotated[str, Path(max_length=500)]

    @app.get("/v1/tasks/{task_key}", tags=["tasks"], summary="One task")
    def get_task(who: Caller, task_key: TaskKey):
        require(who, "tasks:read")
        return task_json(_task(who, task_key))

    @app.patch(
        "/v1/tasks/{task_key}",
        tags=["tasks"],
        summary="Set a task's status and/or note, with the Tasks page's rules and audit fields",
    )
    def patch_task(who: Caller, task_key: TaskKey, change: TaskPatch):
        from ga_intel.reads import task_scope

        require(who, "tasks:write")
        if change.status is None and not (change.note or "").strip():
            raise ApiError(422, "nothing_to_change", "send a status, a note, or both")
        current = _task(who, task_key)
        status = change.status or current["status"]
        try:
            task_scope.change_status(who, task_key, status, (change.note or "").strip() or None, by=who.audit_name)
        except task_scope.NotInScope:
            raise ApiError(404, "task_not_found", "no such task in your work list") from None
        except Exception as exc:
            from ga_intel.errors import GaIntelError

            if isinstance(exc, GaIntelError):
                raise ApiError(422, "invalid_status", exc.message, exc.hint) from None
            raise
        return task_json(_task(who, task_key))

    # ------------------------------------------------------------ metrics
    @app.get(
        "/v1/metrics/daily",
        tags=["metrics"],
        summary="One row per day: the stored counts and their rates (docs/METRICS.md)",
    )
    def daily_metrics(who: Caller, start: Day, end: Day, branch: Annotated[str | None, Query(max_length=200)] = None):
        from ga_intel.reads import metrics

        require(who, "metrics:read")
        _range(start, end)
        return {"data": records(metrics.daily(who.tenant_id, start, end, branch))}

    @app.get("/v1/metrics/branches", tags=["metrics"], summary="One row per branch over the range, with rates")
    def branch_metrics(who: Caller, start: Day, end: Day):
        from ga_intel.reads import metrics

        require(who, "metrics:read")
        _range(start, end)
        return {"data": records(metrics.branches(who.tenant_id, start, end))}

    @app.get("/v1/search-terms", tags=["metrics"], summary="Search terms over the range (the Search page's table)")
    def search_terms(
        who: Caller,
        start: Day,
        end: Day,
        branch: Annotated[str | None, Query(max_length=200)] = None,
        top: Annotated[int, Query(ge=1, le=1000)] = 100,
    ):
        from ga_intel.reads import metrics

        require(who, "metrics:read")
        _range(start, end)
        return {"data": records(metrics.search_terms(who.tenant_id, start, end, branch, top=top))}

    # ------------------------------------------------------------ data
    @app.get("/v1/data-availability", tags=["data"], summary="Each day's GA4 load status ('not loaded' if none)")
    def data_availability(who: Caller, start: Day, end: Day):
        from ga_intel.orchestration.submit import run_link
        from ga_intel.reads import days

        require(who, "data:read")
        _range(start, end)
        rows = records(days.availability(who.tenant_id, start, end))
        for row in rows:
            row["run_url"] = run_link(row["run_id"]) if row.get("run_id") else None
        return {"data": rows}

    @app.get("/v1/email-deliveries", tags=["data"], summary="The email delivery ledger of one report day")
    def email_deliveries(who: Caller, date: Day, branch: Annotated[str | None, Query(max_length=200)] = None):
        from ga_intel import reads

        require(who, "data:read")
        return {"data": records(reads.fetch(who.tenant_id, "email_deliveries", start=date, end=date, branch=branch))}

    @app.post(
        "/v1/refresh",
        tags=["data"],
        status_code=202,
        summary="Load a tenant day again: queues a Dagster run; returns its id and link",
    )
    def refresh(who: Caller, body: RefreshRequest):
        from ga_intel.errors import ServiceError
        from ga_intel.orchestration import submit
        from ga_intel.orchestration.partitions import daily_partitions

        require(who, "runs:write")
        first = dt.date.fromisoformat(daily_partitions.start.strftime("%Y-%m-%d"))
        if not first <= body.date <= dt.date.today() + dt.timedelta(days=1):
            raise ApiError(
                422, "invalid_date", f"{body.date} is not a loadable day", hint=f"pick a day from {first} to today"
            )
        try:
            run_id = submit.refresh_day(who.tenant_id, body.date)
        except ServiceError as exc:
            raise ApiError(503, "dagster_unavailable", exc.message, exc.hint) from None
        return {
            "run_id": run_id,
            "url": submit.run_link(run_id),
            "tenant_id": who.tenant_id,
            "date": body.date.isoformat(),
        }

    # ------------------------------------------------------------ webhooks
    @app.get("/v1/webhooks", tags=["webhooks"], summary="The tenant's webhook endpoints (never their secrets)")
    def list_webhooks(who: Caller):
        from ga_intel.webhooks import endpoints

        require(who, "webhooks:write")
        return {"data": [e.as_dict() for e in endpoints.list_endpoints(who.tenant_id)]}

    @app.post(
        "/v1/webhooks",
        tags=["webhooks"],
        status_code=201,
        summary="Register a URL for task events; the signing secret is in this answer only",
    )
    def add_webhook(who: Caller, body: WebhookRequest):
        from ga_intel.errors import GaIntelError
        from ga_intel.webhooks import endpoints

        require(who, "webhooks:write")
        try:
            endpoint, secret = endpoints.add(who.tenant_id, body.url, tuple(body.events))
        except GaIntelError as exc:
            raise ApiError(422, "invalid_webhook_url", exc.message, exc.hint) from None
        return {**endpoint.as_dict(), "secret": secret}

    @app.delete("/v1/webhooks/{endpoint_id}", tags=["webhooks"], status_code=204, summary="Remove an endpoint")
    def remove_webhook(who: Caller, endpoint_id: Annotated[str, Path(max_length=100)]):
        from fastapi import Response

        from ga_intel.webhooks import endpoints

        require(who, "webhooks:write")
        if not endpoints.remove(who.tenant_id, endpoint_id):
            raise ApiError(404, "webhook_not_found", f"no webhook endpoint {endpoint_id!r}")
        return Response(status_code=204)

    return app


def app() -> FastAPI:
    """For `uvicorn --factory ga_intel.api.app:app`."""
    return create_app(dispatcher=True)

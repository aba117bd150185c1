"""Structured API errors: `{"error": {"code", "message", "hint"}}` with a stable `code`.

Clients branch on `code` (docs/API.md lists them); the message is for people and may
change. No error names another tenant, says whether one exists, or carries a secret; an
unexpected exception answers `internal_error` and is logged, never echoed.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ga_intel.errors import GaIntelError

log = logging.getLogger("ga_intel.api")


class ApiError(Exception):
    def __init__(
        self, status: int, code: str, message: str, hint: str | None = None, headers: dict[str, str] | None = None
    ):
        super().__init__(message)
        self.status, self.code, self.message, self.hint, self.headers = status, code, message, hint, headers


def unauthorized() -> ApiError:
    # One answer for a missing, malformed, unknown, revoked or expired credential.
    return ApiError(
        401,
        "unauthorized",
        "a valid API token or OpenID Connect bearer token is required",
        hint="send `Authorization: Bearer <token>`",
        headers={"WWW-Authenticate": "Bearer"},
    )


def body(code: str, message: str, hint: str | None = None, **extra) -> dict:
    error = {"code": code, "message": message, **extra}
    if hint:
        error["hint"] = hint
    return {"error": error}


_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 400: "bad_request", 415: "unsupported_media_type"}


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError):
        return JSONResponse(body(exc.code, exc.message, exc.hint), status_code=exc.status, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError):
        problems = [
            {"field": ".".join(str(p) for p in e.get("loc", ()) if p != "body"), "message": e.get("msg", "")}
            for e in exc.errors()
        ]
        return JSONResponse(
            body("validation_error", "the request is invalid; see `problems`", problems=problems), status_code=422
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        code = _HTTP_CODES.get(exc.status_code, f"http_{exc.status_code}")
        return JSONResponse(
            body(code, str(exc.detail)), status_code=exc.status_code, headers=getattr(exc, "headers", None)
        )

    @app.exception_handler(GaIntelError)
    async def _user_error(request: Request, exc: GaIntelError):
        return JSONResponse(body("invalid_request", exc.message, exc.hint), status_code=422)

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception):
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return JSONResponse(body("internal_error", "an unexpected error; it has been logged"), status_code=500)

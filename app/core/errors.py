"""Errors carry their HTTP status and code; one handler renders the one error shape."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("groundgame.errors")


class AppError(Exception):
    status_code = 400
    code = "bad_request"
    message = "Bad request."

    def __init__(
        self,
        message: str | None = None,
        *,
        details: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message or self.message)
        self.message = message or self.message
        self.details = details or []
        self.headers = headers


class NotFound(AppError):
    status_code = 404
    code = "not_found"
    message = "Not found."


class Unauthorized(AppError):
    status_code = 401
    code = "unauthorized"
    message = "Authentication required."


class Forbidden(AppError):
    status_code = 403
    code = "forbidden"
    message = "You are not allowed to do this."


class Conflict(AppError):
    status_code = 409
    code = "conflict"
    message = "Conflict."


class Unprocessable(AppError):
    status_code = 422
    code = "validation_error"
    message = "The request is invalid."


class TooManyRequests(AppError):
    status_code = 429
    code = "rate_limited"
    message = "Too many requests; slow down."

    def __init__(self, retry_after: int, message: str | None = None) -> None:
        super().__init__(message, headers={"Retry-After": str(max(1, retry_after))})
        self.retry_after = retry_after


class ServiceUnavailable(AppError):
    status_code = 503
    code = "service_unavailable"
    message = "A backing service is unavailable; try again shortly."


def error_body(code: str, message: str, details: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or []}}


def _loc_to_field(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in {"body", "query", "path", "header", "cookie"}:
        parts = parts[1:]
    return ".".join(parts) or "body"


def _status_codes() -> dict[int, str]:
    return {
        400: "bad_request",
        401: "unauthorized",
        403: "forbidden",
        404: "not_found",
        405: "method_not_allowed",
        406: "not_acceptable",
        409: "conflict",
        413: "payload_too_large",
        415: "unsupported_media_type",
        422: "validation_error",
        429: "rate_limited",
    }


# PostgreSQL refuses NUL in text and jsonb: invalid input, not a server error.
_BAD_TEXT = {"22021", "22P05"}
# The database is not there (yet): connection exceptions (class 08), shutting down, starting up or recovering
# (57P01 admin shutdown, 57P02 crash shutdown, 57P03 cannot connect now, 57P04 database dropped, 57P05 idle
# session timeout) and too many connections (53300). A retry shortly after can succeed: 503 + Retry-After.
_UNAVAILABLE_CLASSES = {"08"}
_UNAVAILABLE_STATES = {"57P01", "57P02", "57P03", "57P04", "57P05", "53300"}
RETRY_AFTER_S = 2


def _chain(exc: BaseException | None) -> list[BaseException]:
    """The exception, what SQLAlchemy wraps (`orig`) and what caused it, a few levels deep."""
    seen: list[BaseException] = []
    todo = [exc]
    while todo and len(seen) < 12:
        e = todo.pop(0)
        if e is None or any(e is s for s in seen):
            continue
        seen.append(e)
        todo += [getattr(e, "orig", None), e.__cause__]
    return seen


def sqlstate(exc: BaseException) -> str | None:
    for e in _chain(exc):
        code = getattr(e, "sqlstate", None) or getattr(e, "pgcode", None)
        if isinstance(code, str) and code:
            return code
    return None


def _pg_error(exc: BaseException) -> BaseException | None:
    orig = getattr(exc, "orig", None)
    return next((e for e in (orig, getattr(orig, "__cause__", None)) if hasattr(e, "constraint_name")), None)


def foreign_key_response(exc: BaseException) -> JSONResponse | None:
    """A foreign key refused a write. Writing a reference to nothing (or to another organization's object) is a
    422 naming the column; deleting what is still referenced is a 409. References are checked before writing
    (app/auth/references.py): this answers what gets past that (a race with a delete, a bug), never a 500."""
    if sqlstate(exc) != "23503":
        return None
    pg = _pg_error(exc)
    if str(getattr(pg, "message", "")).startswith("update or delete"):
        return JSONResponse(error_body("conflict", "This is still referenced by other records."), status_code=409)
    field = constraint_field(getattr(pg, "constraint_name", None))
    details = [{"field": field, "message": "not found"}] if field else []
    return JSONResponse(error_body("validation_error", "A referenced object does not exist.", details), status_code=422)


def is_unavailable(exc: BaseException) -> bool:
    """The one rule for "a backing service is unavailable" (503), whatever layer the error surfaced in."""
    code = sqlstate(exc)
    if code is not None and (code[:2] in _UNAVAILABLE_CLASSES or code in _UNAVAILABLE_STATES):
        return True
    for e in _chain(exc):
        if isinstance(e, (OperationalError, InterfaceError, PoolTimeout)):  # pool exhausted = overloaded
            return True
        if isinstance(e, DBAPIError) and e.connection_invalidated:
            return True
        if isinstance(e, (ConnectionError, OSError, TimeoutError, RedisConnectionError, RedisTimeoutError)):
            return True
    return False


def unavailable_response() -> JSONResponse:
    return JSONResponse(
        error_body("service_unavailable", ServiceUnavailable.message),
        status_code=503,
        headers={"Retry-After": str(RETRY_AFTER_S)},
    )


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def _app_error(_: Request, exc: AppError) -> JSONResponse:
        return JSONResponse(
            error_body(exc.code, exc.message, exc.details), status_code=exc.status_code, headers=exc.headers
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        details = []
        for e in exc.errors():
            loc = e.get("loc", ())
            msg = str(e.get("msg", "invalid"))
            if e.get("type") == "extra_forbidden":
                msg = "unknown field"
            if e.get("type") == "json_invalid":
                msg = "malformed JSON: " + str(e.get("ctx", {}).get("error", ""))
            details.append({"field": _loc_to_field(loc), "message": msg})
        names = ", ".join(d["field"] for d in details[:5])
        return JSONResponse(error_body("validation_error", f"Invalid request: {names}.", details), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _status_codes().get(exc.status_code, "error")
        message = exc.detail if isinstance(exc.detail, str) else code
        return JSONResponse(
            error_body(code, message), status_code=exc.status_code, headers=getattr(exc, "headers", None)
        )

    async def _backing_service(request: Request, exc: Exception) -> JSONResponse:
        # Registered per class so the 503 is a handled response (the generic handler re-raises after it).
        if (refused := foreign_key_response(exc)) is not None:
            return refused
        if sqlstate(exc) in _BAD_TEXT:
            return JSONResponse(
                error_body("validation_error", "Text may not contain NUL (\\u0000) characters."), status_code=422
            )
        if is_unavailable(exc):
            log.warning("backing service unavailable: %s (sqlstate %s)", type(exc).__name__, sqlstate(exc))
            return unavailable_response()
        log.exception("database error")
        return JSONResponse(error_body("internal_error", "Something went wrong on our side."), status_code=500)

    for cls in (DBAPIError, PoolTimeout, OSError, ConnectionError, TimeoutError):
        app.add_exception_handler(cls, _backing_service)

    @app.exception_handler(Exception)
    async def _unhandled(_: Request, exc: Exception) -> JSONResponse:
        if is_unavailable(exc):
            log.warning("backing service unavailable: %s (sqlstate %s)", type(exc).__name__, sqlstate(exc))
            return unavailable_response()
        log.exception("unhandled error")
        return JSONResponse(error_body("internal_error", "Something went wrong on our side."), status_code=500)


_FK_COLUMNS: dict[str, str] = {}


def constraint_field(name: str | None) -> str | None:
    """The referencing column of a tenant foreign key, by constraint name (to name the field when the database,
    not this module, refused a reference: a race, or a bug that skipped the check)."""
    if not _FK_COLUMNS:
        from app.models import Base  # the tables' foreign keys

        for table in Base.metadata.tables.values():
            for fk in table.foreign_key_constraints:
                cols = [c.name for c in fk.columns if c.name != "organization_id"]
                if isinstance(fk.name, str) and cols:
                    _FK_COLUMNS[fk.name] = cols[-1]
    return _FK_COLUMNS.get(name or "")

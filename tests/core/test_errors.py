"""The one mapping from database errors to responses: every "the database is not there (yet)" SQLSTATE is a 503
with Retry-After, as it reaches the handler in production (an asyncpg error translated and wrapped by SQLAlchemy)."""

from __future__ import annotations

import asyncpg
import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from sqlalchemy.dialects.postgresql.asyncpg import AsyncAdapt_asyncpg_connection, AsyncAdapt_asyncpg_dbapi
from sqlalchemy.exc import DBAPIError

from app.core.errors import install_error_handlers, is_unavailable

DBAPI = AsyncAdapt_asyncpg_dbapi(asyncpg)  # type: ignore[no-untyped-call]
UNAVAILABLE = ["57P01", "57P02", "57P03", "57P04", "57P05", "53300", "08000", "08001", "08003", "08004", "08006"]
UNAVAILABLE += ["08007", "08P01"]
NOT_UNAVAILABLE = ["42P01", "22P02", "40P01", "XX000"]


def as_sqlalchemy_raises(code: str) -> DBAPIError:
    """What SQLAlchemy hands the app when asyncpg reports `code` (same path as a failing execute or connect)."""
    pg = asyncpg.exceptions.PostgresError.new({"C": code, "M": f"server said {code}", "S": "FATAL"})
    try:
        AsyncAdapt_asyncpg_connection._handle_exception_no_connection(DBAPI, pg)
    except DBAPI.Error as translated:
        wrapped = DBAPIError.instance("SELECT 1", {}, translated, DBAPI.Error)
        assert isinstance(wrapped, DBAPIError)
        return wrapped
    raise AssertionError("not translated")


def app_raising(exc: BaseException) -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/boom")
    async def boom() -> None:
        raise exc

    return app


async def status_of(exc: BaseException) -> tuple[int, str | None, str]:
    transport = ASGITransport(app=app_raising(exc), raise_app_exceptions=False)
    async with AsyncClient(transport=transport, base_url="http://t") as c:
        r = await c.get("/boom")
    return r.status_code, r.headers.get("retry-after"), r.json()["error"]["code"]


@pytest.mark.parametrize("code", UNAVAILABLE)
async def test_database_unavailable_sqlstates_are_503_with_retry_after(code: str) -> None:
    exc = as_sqlalchemy_raises(code)
    assert is_unavailable(exc)
    assert await status_of(exc) == (503, "2", "service_unavailable")


@pytest.mark.parametrize("code", NOT_UNAVAILABLE)
async def test_other_database_errors_stay_server_errors(code: str) -> None:
    exc = as_sqlalchemy_raises(code)
    assert not is_unavailable(exc)
    assert (await status_of(exc))[0] == 500


@pytest.mark.parametrize(
    "exc",
    [ConnectionRefusedError(111, "Connect call failed"), OSError(113, "No route to host"), TimeoutError()],
    ids=["refused", "oserror", "timeout"],
)
async def test_connection_refused_and_socket_errors_are_503(exc: BaseException) -> None:
    assert await status_of(exc) == (503, "2", "service_unavailable")


async def test_nul_in_text_is_a_422_not_a_500() -> None:
    assert (await status_of(as_sqlalchemy_raises("22021")))[0] == 422

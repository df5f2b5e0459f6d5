"""Async engine, one session and one transaction per request, and the tenant setting."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import Connection, event, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import Session, SessionTransaction

from app.config import Settings

log = logging.getLogger("groundgame.db")


def make_engine(
    url: str, settings: Settings, *, pool_size: int | None = None, command_timeout: float | None = 60
) -> AsyncEngine:
    return create_async_engine(
        url,
        pool_size=pool_size or settings.db_pool_size,
        # No overflow: connections that are opened for a burst and closed after it churn PostgreSQL sessions
        # (10-14 ms of backend start each, under load) and then time out as 503s; a fixed pool queues instead.
        max_overflow=0,
        # No pre-ping (one statement per request saved): a dead connection fails its request with a 503 and
        # SQLAlchemy then invalidates the whole pool, so the next requests reconnect.
        pool_pre_ping=False,
        pool_recycle=1800,
        pool_timeout=settings.db_pool_timeout_s,
        connect_args={
            "command_timeout": command_timeout,
            "timeout": 5,
            "server_settings": {
                "application_name": "groundgame",
                "statement_timeout": str(settings.limits.statement_timeout_ms),
                "idle_in_transaction_session_timeout": "60000",
                # Short OLTP statements: JIT compilation costs more than it saves (seconds on spatial scans).
                "jit": "off",
            },
        },
    )


async def warm_pool(engine: AsyncEngine, n: int) -> None:
    """Open `n` of the pool's connections now (kept by the pool: it has no overflow to close them)."""
    n = min(n, engine.pool.size()) if hasattr(engine.pool, "size") else 0
    if n <= 0:
        return
    conns = await asyncio.gather(*(engine.connect() for _ in range(n)), return_exceptions=True)
    for c in conns:
        if isinstance(c, AsyncConnection):
            await c.close()
        else:  # the database is not up yet: the requests open their connections as before
            log.warning("database pool not warmed: %s", c)


def asyncpg_dsn(url: str) -> str:
    """The SQLAlchemy URL as asyncpg itself takes it (a raw connection: the auth change listener)."""
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


async def set_tenant(
    db: AsyncSession | AsyncConnection, organization_id: uuid.UUID | str | None, *, whole_connection: bool = False
) -> None:
    """Scope the current transaction to one organization (row-level security reads this); a raw connection
    that spans several transactions (the import job) scopes the whole connection. None clears the scope."""
    await db.execute(
        text("SELECT set_config('app.organization_id', :o, :local)"),
        {"o": "" if organization_id is None else str(organization_id), "local": not whole_connection},
    )


def set_tenant_on_first_statement(session: AsyncSession, organization_id: uuid.UUID) -> Awaitable[None] | None:
    """Scope the request's transaction to one organization without a statement of its own now: the setting goes
    out when the session first takes its connection (so work done before that, such as a Redis rate limit,
    holds no database connection). Returns the statement to await when the session already holds one."""
    tx = session.sync_session.get_transaction()
    if tx is not None and tx._connections:  # already connected: set it now
        return set_tenant(session, organization_id)
    session.info["tenant_on_begin"] = str(organization_id)
    return None


@event.listens_for(Session, "after_begin")
def _tenant_on_begin(session: Session, _tx: SessionTransaction, connection: Connection) -> None:
    org = session.info.pop("tenant_on_begin", None)
    if org is not None:
        connection.execute(text("SELECT set_config('app.organization_id', :o, true)"), {"o": org})


AfterCommit = Callable[[], Awaitable[None]]


def after_commit(session: AsyncSession, hook: AfterCommit) -> None:
    """Run `hook` once the request's transaction has committed (jobs are enqueued after commit)."""
    session.info.setdefault("after_commit", []).append(hook)


@contextlib.asynccontextmanager
async def request_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One session, one transaction per request: committed if the block ends, else rolled back; then the
    after-commit hooks. The SessionDep dependency, or a route that opens it itself (no dependency to solve)."""
    maker: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    async with maker() as session:
        async with session.begin():
            yield session
        # A change to what tokens grant (app/auth/cache.py `changed`): forgotten here once committed.
        cache = getattr(request.app.state, "principal_cache", None)
        if session.info.pop("auth_changed", False) and cache is not None:
            cache.forget_all()
        for hook in session.info.pop("after_commit", []):
            try:
                await hook()
            except Exception:  # the data is committed; a sweeper retries what a hook could not do
                log.warning("after-commit hook failed", exc_info=True)


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with request_session(request) as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]

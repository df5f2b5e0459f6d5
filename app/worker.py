"""arq worker: background jobs and cron. Jobs take ids, are safe to run twice, set the tenant themselves."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from arq import cron
from arq.connections import RedisSettings
from sqlalchemy import delete, or_

from app.config import get_settings
from app.core.db import make_engine, make_sessionmaker
from app.core.logging import configure_logging
from app.models import AuthToken

log = logging.getLogger("groundgame.worker")


async def startup(ctx: dict[str, Any]) -> None:
    settings = get_settings()
    configure_logging(settings.log_level)
    ctx["settings"] = settings
    ctx["engine"] = make_engine(settings.database_url, settings, pool_size=4)
    ctx["sessionmaker"] = make_sessionmaker(ctx["engine"])


async def shutdown(ctx: dict[str, Any]) -> None:
    await ctx["engine"].dispose()


async def purge_expired_tokens(ctx: dict[str, Any]) -> int:
    """Delete tokens expired or revoked more than a day ago (auth_tokens is a global table)."""
    cutoff = datetime.now(UTC) - timedelta(days=1)
    async with ctx["sessionmaker"]() as session, session.begin():
        res = await session.execute(
            delete(AuthToken).where(or_(AuthToken.expires_at < cutoff, AuthToken.revoked_at < cutoff))
        )
    n = int(res.rowcount or 0)  # type: ignore[attr-defined]
    log.info("purged expired tokens", extra={"job": "purge_expired_tokens"})
    return n


def redis_settings() -> RedisSettings:
    return RedisSettings.from_dsn(get_settings().redis_url or "redis://127.0.0.1:6379/0")


FUNCTIONS: list[Any] = [purge_expired_tokens]


class WorkerSettings:
    functions = FUNCTIONS
    cron_jobs = [cron(purge_expired_tokens, hour={3}, minute={17})]
    on_startup = startup
    on_shutdown = shutdown
    redis_settings = redis_settings()
    max_jobs = 4
    job_timeout = 3600
    keep_result = 3600
    allow_abort_jobs = True

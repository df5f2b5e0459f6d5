"""Enqueue arq jobs from the API (after commit). Jobs take ids and are safe to run twice.

If Redis is unreachable the enqueue is kept in this process and retried with backoff until Redis is back
(`retry_pending`, run by the app's lifespan); if the process dies first, the worker's sweeper finds the work
in the database later (e.g. `requeue_stale_imports`)."""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from datetime import datetime
from typing import Any

from arq import ArqRedis, create_pool
from arq.connections import RedisSettings
from redis.exceptions import RedisError
from starlette.datastructures import State

from app.core.metrics import JOBS_ENQUEUED

log = logging.getLogger("groundgame.jobs")
MAX_PENDING = 10_000  # beyond this the sweeper's later pass is the safety net
Pending = OrderedDict[tuple[str, str | None], tuple[Any, ...]]


async def pool(state: State) -> ArqRedis:
    if getattr(state, "arq", None) is None:
        # No connection retries here: a request must not wait on Redis (a failed enqueue is kept, see above).
        settings = RedisSettings.from_dsn(state.settings.redis_url)
        settings.conn_retries = 0
        state.arq = await create_pool(settings)
    p: ArqRedis = state.arq
    return p


def _pending(state: State) -> Pending:
    if getattr(state, "pending_jobs", None) is None:
        state.pending_jobs = OrderedDict()
    p: Pending = state.pending_jobs
    return p


async def _send(
    state: State, function: str, args: tuple[Any, ...], job_id: str | None, defer_until: datetime | None = None
) -> None:
    p = await pool(state)
    await p.enqueue_job(function, *args, _job_id=job_id, _defer_until=defer_until)


async def enqueue(
    state: State, function: str, *args: Any, job_id: str | None = None, defer_until: datetime | None = None
) -> None:
    """Never raises for an unreachable Redis: the job is kept and sent again when Redis is back (then at once)."""
    JOBS_ENQUEUED.labels(function).inc()
    try:
        await _send(state, function, args, job_id, defer_until)
    except (RedisError, OSError) as e:
        pending = _pending(state)
        if len(pending) < MAX_PENDING:
            pending[(function, job_id)] = args
        log.warning("redis unavailable, job kept for retry: %s (%s)", function, type(e).__name__)


async def flush_pending(state: State) -> int:
    """Send what is pending, oldest first; stops at the first failure. Returns how many were sent."""
    pending = _pending(state)
    sent = 0
    while pending:
        (function, job_id), args = next(iter(pending.items()))
        await _send(state, function, args, job_id)
        pending.pop((function, job_id))
        sent += 1
    return sent


async def retry_pending(state: State, *, every_s: float = 1.0, max_s: float = 30.0) -> None:
    """Background task: retry kept enqueues with backoff while Redis is down."""
    delay = every_s
    while True:
        await asyncio.sleep(delay)
        if not _pending(state):
            delay = every_s
            continue
        try:
            n = await flush_pending(state)
            log.info("redis is back: %d kept jobs sent", n)
            delay = every_s
        except (RedisError, OSError):
            delay = min(delay * 2, max_s)

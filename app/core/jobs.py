"""Enqueue arq jobs from the API (after commit). Jobs take ids and are safe to run twice."""

from __future__ import annotations

from typing import Any

from arq import ArqRedis, create_pool
from arq.connections import RedisSettings
from starlette.datastructures import State


async def pool(state: State) -> ArqRedis:
    if getattr(state, "arq", None) is None:
        state.arq = await create_pool(RedisSettings.from_dsn(state.settings.redis_url), retry=0)
    p: ArqRedis = state.arq
    return p


async def enqueue(state: State, function: str, *args: Any, job_id: str | None = None) -> None:
    p = await pool(state)
    await p.enqueue_job(function, *args, _job_id=job_id)

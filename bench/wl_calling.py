"""Calling: 200 concurrent simulated volunteers looping next → start → report against uvicorn with several workers
(as in production), vs a bare Starlette + asyncpg app doing the same statements: throughput, p50/p99, errors,
statements per step."""

from __future__ import annotations

from bench.context import Ctx, has_route
from bench.report import Row, unavailable

PATHS = [("POST", "/api/v1/actions/{action_id}/calls/next"), ("POST", "/api/v1/calls/{target_id}/start"),
         ("POST", "/api/v1/calls/{target_id}/report")]


async def run(ctx: Ctx) -> list[Row]:
    metric = "calling loop, 200 volunteers (next → start → report)"
    bar = ">= 0.6x bare throughput; p99 <= 150 ms; 0 errors; <= 6 SQL/step"
    async with ctx.asgi_client() as (app, _client):
        missing = [p for m, p in PATHS if not has_route(app, p, m)]
    if missing:
        return [unavailable("calling", metric, f"{', '.join(missing)} not in the API", bar=bar)]
    return [unavailable("calling", metric, "calling endpoints exist: bench adapter not written yet", bar=bar)]

"""Dashboard: stats of an action with 200k targets and 100k outcomes while the calling load runs, vs the same
aggregates as a bare GROUP BY over the raw tables."""

from __future__ import annotations

from bench.context import Ctx, has_route
from bench.report import Row, unavailable


async def run(ctx: Ctx) -> list[Row]:
    metric = "action stats (200k targets, 100k outcomes) under calling load"
    bar = "<= 0.1x bare GROUP BY; fresh within 2 s"
    async with ctx.asgi_client() as (app, _client):
        if not has_route(app, "/api/v1/actions/{action_id}/stats", "GET"):
            return [unavailable("dashboard", metric, "GET /api/v1/actions/{id}/stats does not exist", bar=bar)]
    return [unavailable("dashboard", metric, "stats endpoint exists: bench adapter not written yet", bar=bar)]

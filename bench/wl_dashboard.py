"""Dashboard: stats of an action with 200k targets and 100k outcomes (GET /api/v1/actions/{id}/stats) polled while
the calling load runs on that very action, vs the same aggregates recomputed by a bare GROUP BY over the raw tables
(polled side by side); then how long until the endpoint agrees with the recount once the load stops.
The measurement happens inside the calling workload (same servers, same load); this reports it."""

from __future__ import annotations

from typing import Any

from bench.context import Ctx, has_route
from bench.report import Row, median, unavailable


def load_note(d: dict[str, Any]) -> str:
    """How many of each were polled, and the calling load they ran under (its rate and its p99)."""
    load = d.get("load") or {}
    return (
        f"{len(d['app_ms'])} endpoint polls, then {len(d['bare_ms'])} recounts, each once a second, under calling at "
        f"{load.get('rate', 0):.0f} steps/s (p99 {load.get('p99_ms', float('nan')):.0f} ms, "
        f"{load.get('errors', 0)} errors)"
    )


async def run(ctx: Ctx) -> list[Row]:
    d = ctx.extra.get("dashboard")
    metric = "action stats under calling load"
    bar = "<= 0.1x bare GROUP BY; fresh within 2 s"
    if d is None:
        async with ctx.asgi_client() as (app, _client):
            if not has_route(app, "/api/v1/actions/{action_id}/stats", "get"):
                return [unavailable("dashboard", metric, "GET /api/v1/actions/{id}/stats does not exist", bar=bar)]
        return [unavailable("dashboard", metric, "the calling workload did not run against the API", bar=bar)]
    metric = f"action stats ({d['targets']:,} targets, {d['outcomes']:,} outcomes) under calling load"
    if not d["app_ms"]:
        return [
            Row(
                "dashboard",
                metric,
                None,
                median(d["bare_ms"]),
                "ms",
                None,
                bar,
                False,
                f"stats endpoint errors: {d['errors'][:1]}",
            )
        ]
    a, b = median(d["app_ms"]), median(d["bare_ms"])
    fresh = d["fresh_s"]
    ok_fresh = fresh is not None and fresh <= 2
    return [
        Row(
            "dashboard",
            metric,
            a,
            b,
            "ms",
            a / b if b else None,
            bar,
            a <= 0.1 * b and ok_fresh,
            f"{load_note(d)}; agrees with the recount {fresh:.1f}s after the load stops"
            if fresh is not None
            else f"{load_note(d)}; still differs from the recount 5 s after the load stops: {d['last']}",
            d,
            correct=ok_fresh,
        )
    ]

"""Push latency: N viewers of one organization connected to GET /api/v1/stream while 100 volunteers report through
the calling loop, under uvicorn with several workers (events cross processes through Redis). p99 from the report's
write (the event's `at`, stamped just before commit) to its arrival at each client; every client's received
report ids checked against the reports committed meanwhile (0 lost); calling throughput with the viewers connected
vs without them, same run."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from datetime import datetime
from typing import Any

import httpx

from bench.context import Ctx, has_route
from bench.loadgen import Server, run_load
from bench.report import Row, percentile, unavailable
from bench.wl_calling import WORKERS, setup_calling


class Viewer:
    def __init__(self) -> None:
        self.ids: set[str] = set()
        self.latency_ms: list[float] = []
        self.ready = asyncio.Event()
        self.error = ""

    async def run(self, client: httpx.AsyncClient, token: str) -> None:
        headers = {"Authorization": f"Bearer {token}", "Accept": "text/event-stream"}
        try:
            async with client.stream("GET", "/api/v1/stream", headers=headers, timeout=None) as resp:
                if resp.status_code != 200:
                    self.error = f"{resp.status_code}"
                    self.ready.set()
                    return
                event, data = "", ""
                async for line in resp.aiter_lines():
                    if line.startswith("event:"):
                        event = line[6:].strip()
                    elif line.startswith("data:"):
                        data = line[5:].strip()
                    elif line == "" and data:
                        if event == "status":
                            self.ready.set()
                        elif event == "report":
                            ev = json.loads(data)
                            self.ids.add(ev["report_id"])
                            at = datetime.fromisoformat(ev["at"]).timestamp()
                            self.latency_ms.append((time.time() - at) * 1000)
                        event, data = "", ""
        except (httpx.HTTPError, asyncio.CancelledError) as e:
            if not isinstance(e, asyncio.CancelledError):
                self.error = f"{e.__class__.__name__}: {e}"
            self.ready.set()


async def committed_since(ctx: Ctx, since: float) -> set[str]:
    conn = await ctx.su()
    try:
        rows = await conn.fetch(
            "SELECT id::text FROM field_reports WHERE organization_id = $1 AND created_at >= to_timestamp($2)",
            ctx.org_id,
            since,
        )
    finally:
        await conn.close()
    return {r["id"] for r in rows}


async def run(ctx: Ctx) -> list[Row]:
    n_viewers = 20 if ctx.smoke else 500
    n_vol = 10 if ctx.smoke else 100
    seconds = 2.0 if ctx.smoke else 20.0
    workers = 2 if ctx.smoke else WORKERS
    metric = f"push: {n_viewers} SSE viewers, {n_vol} volunteers reporting, {workers} uvicorn workers"
    bar = "p99 commit → event <= 1 s; 0 lost; throughput with viewers >= 0.9x without"
    async with ctx.asgi_client() as (app, _client):
        if not has_route(app, "/api/v1/stream", "get"):
            return [unavailable("push", metric, "GET /api/v1/stream does not exist", bar=bar)]
    setup = await setup_calling(ctx, n_vol, 2_000 if ctx.smoke else 200_000)
    env = {**ctx.services.env(ctx.db), "LIMITS__PHONE_REVEALS_PER_MINUTE": "1000000"}
    server = Server("app.main:create_app", env, workers, factory=True)
    action = setup["actions"]["app"]
    manager = ctx.users("manager")[0]["token"] if ctx.users("manager") else ctx.admin_token
    await server.start()
    try:
        kw: dict[str, Any] = {"survey": setup["survey"], "opp_type": setup["opp_type"]}
        await run_load(server.url, setup["tokens"], action, 0.5 if ctx.smoke else 3.0, seed=5, **kw)  # warm-up
        alone = (await run_load(server.url, setup["tokens"], action, seconds, seed=7, **kw)).summary()
        viewers = [Viewer() for _ in range(n_viewers)]
        limits = httpx.Limits(max_connections=n_viewers + 10, max_keepalive_connections=n_viewers + 10)
        async with httpx.AsyncClient(base_url=server.url, limits=limits) as client:
            tasks = [asyncio.create_task(v.run(client, manager)) for v in viewers]
            await asyncio.wait_for(asyncio.gather(*(v.ready.wait() for v in viewers)), 60)
            t0 = time.time()
            watched = (await run_load(server.url, setup["tokens"], action, seconds, seed=11, **kw)).summary()
            t1 = time.time()
            await asyncio.sleep(2)  # the last events in flight
            for t in tasks:
                t.cancel()
            for t in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await t
        committed = await committed_since(ctx, t0 - 0.5)
    finally:
        await server.stop()
    errors = [v.error for v in viewers if v.error]
    lost = sum(len(committed - v.ids) for v in viewers)
    lat = [ms for v in viewers for ms in v.latency_ms]
    p99 = percentile(lat, 99) if lat else None
    ratio = watched["steps_per_s"] / alone["steps_per_s"] if alone["steps_per_s"] else None
    ok = bool(p99 is not None and p99 <= 1000 and lost == 0 and not errors and ratio is not None and ratio >= 0.9)
    return [
        Row(
            "push",
            f"{metric}: p99 commit → event",
            p99,
            None,
            "ms",
            None,
            "<= 1000 ms",
            p99 is not None and p99 <= 1000,
            f"{len(lat):,} deliveries of {len(committed):,} reports in {t1 - t0:.0f}s; p50 "
            f"{percentile(lat, 50) if lat else 0:.0f} ms; {lost} lost; {len(errors)} viewer errors {errors[:1]}",
            {"lost": lost, "committed": len(committed), "errors": errors[:5]},
            correct=lost == 0 and not errors,
        ),
        Row(
            "push",
            f"{metric}: calling throughput with viewers",
            watched["steps_per_s"],
            alone["steps_per_s"],
            "steps/s",
            ratio,
            ">= 0.9x without viewers",
            ok,
            f"p99 {watched['p99_ms']:.0f} ms with viewers, {alone['p99_ms']:.0f} ms without",
            {"with": watched, "without": alone},
        ),
    ]

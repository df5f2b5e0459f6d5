"""Push latency: N viewers (HQ) of one organization connected to GET /api/v1/stream while 100 volunteers report,
under uvicorn with several workers (events cross processes through Redis).

- Throughput under the calling bar's conditions: the calling capacity (bench/capacity.py: open-loop Poisson steps
  from the load generator's own process, highest rate with p99 <= 150 ms and 0 errors) searched without viewers,
  with the viewers connected, and without them again (A-B-A: the reference is the mean of the two searches
  without, so drift over the run weighs on both sides), same server, same run (the searches with and without
  viewers each on its own identical action).
- Latency: at the capacity found with the viewers connected, p99 from the report's write (the event's `at`,
  stamped at flush, just before commit) to its arrival at each client.
- Loss: every report committed during that phase must reach every viewer (all HQ: they may see all of them), and
  nothing else of the organization's reports may arrive twice or be invented.

The viewers are raw asyncio sockets in the bench process (a light client: a few µs per event, where httpx's line
iterator cost far more), reading the chunked SSE body line by line. BENCH_PUSH_VIEWERS sets their number (a smoke
run with 500 checks the fan-out at the bar's count)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import resource
import time
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from bench import capacity, quiesce
from bench.context import Ctx, has_route
from bench.loadgen import Server
from bench.report import Row, percentile, unavailable
from bench.wl_calling import WORKERS, phase_seconds, setup_calling


def log(msg: str) -> None:
    print(f"[push] {msg}", flush=True)


class Viewer:
    """One SSE client over a raw socket: records each report event's id and its latency from `at`."""

    def __init__(self) -> None:
        self.ids: list[str] = []
        self.latency_ms: list[float] = []
        self.ready = asyncio.Event()
        self.error = ""
        self.recording = False

    async def run(self, url: str, token: str) -> None:
        u = urlsplit(url)
        try:
            reader, writer = await asyncio.open_connection(u.hostname, u.port)
        except OSError as e:
            self.error = f"connect: {e}"
            self.ready.set()
            return
        try:
            writer.write(
                (
                    f"GET /api/v1/stream HTTP/1.1\r\nHost: {u.netloc}\r\nAuthorization: Bearer {token}\r\n"
                    "Accept: text/event-stream\r\n\r\n"
                ).encode()
            )
            await writer.drain()
            status = await reader.readline()
            if b" 200 " not in status:
                self.error = status.decode(errors="replace").strip()
                self.ready.set()
                return
            while (await reader.readline()) not in (b"\r\n", b""):
                pass  # headers
            event = b""
            while line := await reader.readline():
                # chunk-size lines and the CRLF closing each chunk are not SSE fields: ignored
                if line.startswith(b"event:"):
                    event = line[6:].strip()
                elif line.startswith(b"data:"):
                    if event == b"status":
                        self.ready.set()
                    elif event == b"report" and self.recording:
                        ev = json.loads(line[5:])
                        self.latency_ms.append((time.time() - datetime.fromisoformat(ev["at"]).timestamp()) * 1000)
                        self.ids.append(ev["report_id"])
                    event = b""
        except (OSError, asyncio.IncompleteReadError) as e:
            self.error = f"{e.__class__.__name__}: {e}"
        finally:
            self.ready.set()
            writer.close()


async def committed_between(ctx: Ctx, action_id: str, since: float, until: float) -> set[str]:
    conn = await ctx.su()
    try:
        rows = await conn.fetch(
            "SELECT id::text FROM field_reports WHERE organization_id = $1 AND action_id = $2 "
            "AND created_at >= to_timestamp($3) AND created_at < to_timestamp($4)",
            ctx.org_id,
            action_id,
            since,
            until,
        )
    finally:
        await conn.close()
    return {r["id"] for r in rows}


async def run(ctx: Ctx) -> list[Row]:
    n_viewers = int(os.environ.get("BENCH_PUSH_VIEWERS", 20 if ctx.smoke else 500))
    n_vol = 10 if ctx.smoke else 100
    workers = 2 if ctx.smoke else WORKERS
    metric = f"push: {n_viewers} SSE viewers, {n_vol} volunteers reporting, {workers} uvicorn workers"
    bar = "p99 commit → event <= 1 s; 0 lost; capacity with viewers >= 0.9x without"
    async with ctx.asgi_client() as (app, _client):
        if not has_route(app, "/api/v1/stream", "get"):
            return [unavailable("push", metric, "GET /api/v1/stream does not exist", bar=bar)]
    setup = await setup_calling(ctx, n_vol, 2_000 if ctx.smoke else 200_000)
    await quiesce.settle(ctx)  # the 400k targets just written are flushed before anything is measured
    env = {**ctx.services.env(ctx.db), "LIMITS__PHONE_REVEALS_PER_MINUTE": "1000000"}
    server = Server("app.main:create_app", env, workers, factory=True)
    manager = ctx.users("manager")[0]["token"] if ctx.users("manager") else ctx.admin_token
    phase_s = phase_seconds(ctx)
    measure_s = 3.0 if ctx.smoke else 20.0
    # Each search calls its own identical action, so neither leaves the other fewer people to call.
    plans = {
        side: {
            "url": "",
            "action_id": setup["actions"][label],
            "tokens": setup["tokens"],
            "survey": setup["survey"],
            "opp_type": setup["opp_type"],
        }
        for side, label in (("alone", "bare"), ("watched", "app"))
    }
    viewers = [Viewer() for _ in range(n_viewers)]
    tasks: list[asyncio.Task[None]] = []
    viewers_cpu = 0.0
    await server.start()
    try:
        for p in plans.values():
            p["url"] = server.url
        # Warm-up, not measured: connections, statements, and both actions' targets read into the cache (a fresh
        # clone of the bench database starts cold; without it the first search step measured the disk).
        for p in plans.values():
            await capacity.drive({**p, "phases": [{"rate": 10, "seconds": 0.5 if ctx.smoke else 10.0}], "seed": 0})
        log("capacity without viewers")
        alone = await capacity.search(plans["alone"], phase_s, log)
        tasks = [asyncio.create_task(v.run(server.url, manager)) for v in viewers]
        await asyncio.wait_for(asyncio.gather(*(v.ready.wait() for v in viewers)), 60)
        log(f"capacity with {n_viewers} viewers connected")
        cpu0, wall0 = _cpu_s(), time.perf_counter()
        watched = await capacity.search(plans["watched"], phase_s, log)
        viewers_cpu = (_cpu_s() - cpu0) / (time.perf_counter() - wall0)  # the viewers share the server's cores
        rate = max(watched["capacity"], capacity.START_RATE)
        log(f"latency and loss at {rate:.0f} steps/s")
        for v in viewers:
            v.recording = True
        t0 = time.time()
        measured = {**plans["watched"], "phases": [{"rate": rate, "seconds": measure_s}], "seed": 123}
        (load,) = await capacity.drive(measured)
        t1 = time.time()
        await asyncio.sleep(2)  # the last events in flight
        await _disconnect(tasks)
        # A-B-A: the search without viewers again, after the one with them, so that what the first two searches
        # left in the database (dead rows, a busier cache) weighs on both sides of the comparison alike.
        log("capacity without viewers, again")
        again = await capacity.search(plans["alone"], phase_s, log)
    finally:
        await _disconnect(tasks)
        await server.stop()
    committed = await committed_between(ctx, plans["watched"]["action_id"], t0, t1 + 1)
    errors = [v.error for v in viewers if v.error and "CancelledError" not in v.error]
    lost = sum(len(committed - set(v.ids)) for v in viewers)
    dup = sum(len(v.ids) - len(set(v.ids)) for v in viewers)
    lat = [ms for v in viewers for ms in v.latency_ms]
    p99 = percentile(lat, 99) if lat else None
    a, b = watched["capacity"], (alone["capacity"] + again["capacity"]) / 2
    ratio = a / b if b else None
    ok_lat = bool(p99 is not None and p99 <= 1000 and committed)
    correct = lost == 0 and dup == 0 and not errors
    return [
        Row(
            "push",
            f"{metric}: p99 commit → event",
            p99,
            None,
            "ms",
            None,
            "<= 1000 ms, 0 lost",
            ok_lat and correct,
            f"{len(lat):,} deliveries of {len(committed):,} reports at {rate:.0f} steps/s for {t1 - t0:.0f}s; p50 "
            f"{percentile(lat, 50) if lat else 0:.0f} ms; {lost} lost, {dup} duplicated; "
            f"{len(errors)} viewer errors {errors[:1]}; load p99 {load['p99_ms']:.0f} ms, {load['errors']} errors",
            {"lost": lost, "duplicated": dup, "committed": len(committed), "errors": errors[:5], "load": load},
            correct=correct,
        ),
        Row(
            "push",
            f"{metric}: calling capacity with viewers connected",
            a,
            b,
            "steps/s",
            ratio,
            ">= 0.9x without viewers",
            bool(ratio is not None and ratio >= 0.9 and watched["at_capacity"] is not None),
            f"with viewers: {capacity_note(watched)}; without (the mean of before and after): "
            f"{capacity_note(alone)}, then {capacity_note(again)}; the viewers' client took {viewers_cpu:.0%} of a "
            "core meanwhile (same machine)",
            {"with": watched, "without": alone, "without_after": again},
        ),
    ]


async def _disconnect(tasks: list[asyncio.Task[None]]) -> None:
    for t in tasks:
        t.cancel()
    for t in tasks:
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await t
    tasks.clear()


def _cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def capacity_note(found: dict[str, Any]) -> str:
    ph = found["at_capacity"]
    if ph is None:
        return "no rate held"
    return f"{ph['rate']:.0f} steps/s at p99 {ph['p99_ms']:.0f} ms, {ph['errors']} errors"

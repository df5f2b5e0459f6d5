"""Webhook delivery: 10,000 contact.created events (contacts created through the API open loop at a steady rate,
under uvicorn) delivered by real arq workers to a local receiver that fails 5% of first attempts (503, then accepts the
retry). Every event must reach the endpoint exactly once (accepted once per webhook-id, none missing); p99 from
the commit to its first attempt at the receiver (one clock: same machine). The commit lies between the event's
timestamp (stamped just before COMMIT, in the committing transaction's before-commit step) and the API's answer
(sent after COMMIT): the figure is measured from the timestamp (never flattering), the details also give it from
the answer (a lower bound).

The bar is about delivery, not about how many creates a second the contacts API serves: offered faster than the
API sustains, commits queue behind it and the workers starve. So the producer's rate is set from the API's
measured create capacity (a closed-loop probe of PROBE_S with the workers delivering its events): two thirds of
it, at most 200/s. The row states the rate; every create offered must be answered (0 errors, 0 timeouts). The
details split the latency at the fan-out (the delivery row's creation): window + job pickup, then delivery."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import signal
import sys
import time
import uuid
from datetime import datetime

import aiohttp

from bench.context import Ctx, has_route
from bench.loadgen import Server
from bench.report import Row, percentile, unavailable
from bench.wl_calling import WORKERS

FAIL_SHARE = 0.05
PROBE_S = 6.0
PROBE_CONCURRENCY = 8
LOAD_SHARE = 2 / 3  # of the measured create capacity
MAX_RATE = 200


class Receiver:
    """A minimal HTTP/1.1 server on asyncio: records each attempt, fails the first try of 5% of the ids."""

    def __init__(self) -> None:
        self.first_attempt: dict[str, float] = {}
        self.committed_at: dict[str, float] = {}
        self.contact_of: dict[str, str] = {}
        self.accepted: dict[str, int] = {}
        self.attempts = 0
        self.ignored: set[str] = set()
        self.server: asyncio.Server | None = None
        self.port = 0

    def reset(self) -> None:
        """Forget the warm-up: its ids are ignored from now on (a retry of one would count as an extra)."""
        self.ignored |= set(self.first_attempt)
        self.first_attempt.clear()
        self.committed_at.clear()
        self.contact_of.clear()
        self.accepted.clear()
        self.attempts = 0

    def fails_first(self, msg_id: str) -> bool:
        return int(hashlib.sha256(msg_id.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF < FAIL_SHARE

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                headers = {}
                for line in head.decode("latin-1").split("\r\n")[1:]:
                    if ":" in line:
                        k, v = line.split(":", 1)
                        headers[k.strip().lower()] = v.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                now = time.time()
                msg_id = headers.get("webhook-id", "")
                if msg_id in self.ignored:
                    writer.write(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n")
                    await writer.drain()
                    continue
                self.attempts += 1
                first = msg_id not in self.first_attempt
                if first:
                    self.first_attempt[msg_id] = now
                    with contextlib.suppress(ValueError, KeyError):
                        event = json.loads(body)
                        self.committed_at[msg_id] = datetime.fromisoformat(event["timestamp"]).timestamp()
                        self.contact_of[msg_id] = str(event["data"]["contact_id"])
                status = b"503 Service Unavailable" if first and self.fails_first(msg_id) else b"204 No Content"
                if status.startswith(b"204"):
                    self.accepted[msg_id] = self.accepted.get(msg_id, 0) + 1
                writer.write(b"HTTP/1.1 " + status + b"\r\ncontent-length: 0\r\n\r\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def start(self) -> None:
        self.server = await asyncio.start_server(self.handle, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()


async def _workers(env: dict[str, str], n: int) -> list[asyncio.subprocess.Process]:
    return [
        await asyncio.create_subprocess_exec(
            sys.executable, "-m", "app.worker", env=env, start_new_session=True, stdout=asyncio.subprocess.DEVNULL
        )
        for _ in range(n)
    ]


async def _stop(procs: list[asyncio.subprocess.Process]) -> None:
    for p in procs:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(p.pid, signal.SIGTERM)
    for p in procs:
        try:
            await asyncio.wait_for(p.wait(), 20)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGKILL)


async def run(ctx: Ctx) -> list[Row]:
    n = int(os.environ.get("BENCH_WEBHOOKS_EVENTS", 40 if ctx.smoke else 10_000))
    probe_s = 2.0 if ctx.smoke else PROBE_S
    metric = f"webhooks: {n} events, {FAIL_SHARE:.0%} transient failures, one endpoint"
    bar = "each event accepted exactly once per webhook-id; p99 commit → first attempt <= 2 s"
    receiver = Receiver()
    await receiver.start()
    tag = uuid.uuid4().hex[:8]
    async with ctx.asgi_client(webhooks={"allow_private_targets": True}) as (app, client):
        if not has_route(app, "/api/v1/webhooks"):
            return [unavailable("webhooks", metric, "POST /api/v1/webhooks does not exist", bar=bar)]
        r = await client.post(
            "/api/v1/webhooks",
            json={"url": f"http://127.0.0.1:{receiver.port}/hook-{tag}", "events": ["contact.created"]},
        )
        assert r.status_code == 201, r.text
    env = {
        **ctx.services.env(ctx.db),
        "WEBHOOKS__ALLOW_PRIVATE_TARGETS": "true",
        "WEBHOOKS__BACKOFF_BASE_S": "0.5",
        "WEBHOOKS__DISABLE_AFTER_FAILURES": "100000",
    }
    server = Server("app.main:create_app", env, 2 if ctx.smoke else WORKERS, factory=True)
    await server.start()
    workers = await _workers(env, 1 if ctx.smoke else 2)
    errors: list[str] = []
    answered: dict[str, float] = {}  # contact id → when the API's 201 (sent after COMMIT) arrived
    create_ms: list[float] = []
    rate, capacity, achieved, probe_errors = 0, 0.0, 0.0, 0
    try:
        headers = {"Authorization": f"Bearer {ctx.admin_token}"}
        # A light client (aiohttp): httpx's pool spends CPU per waiting request and could become the bottleneck.
        connector = aiohttp.TCPConnector(limit=200, keepalive_timeout=30)
        async with aiohttp.ClientSession(
            base_url=server.url, headers=headers, connector=connector, timeout=aiohttp.ClientTimeout(total=30)
        ) as http:

            async def create(i: int) -> bool:
                t0 = time.perf_counter()
                try:
                    async with http.post("/api/v1/contacts", json={"first_name": f"Hook{tag}{i}"}) as res:
                        status, raw = res.status, await res.read()
                except (aiohttp.ClientError, TimeoutError) as e:
                    errors.append(f"{e.__class__.__name__}: {e}")
                    return False
                if status != 201:
                    errors.append(f"{status}: {raw[:200].decode(errors='replace')}")
                    return False
                answered[str(json.loads(raw)["id"])] = time.time()
                create_ms.append((time.perf_counter() - t0) * 1000)
                return True

            # The workers are up once a first event has gone through (not measured).
            await create(-1)
            ready = time.monotonic() + 60
            while not receiver.accepted and time.monotonic() < ready:  # noqa: ASYNC110
                await asyncio.sleep(0.1)

            # The API's create capacity, closed loop, with the workers delivering (not measured): a warm-up (each
            # uvicorn worker's first requests), then the probe. Every event of both is first attempted before the
            # reset, so none is counted.
            async def creators(seconds: float) -> float:
                end, done = time.perf_counter() + seconds, [0]

                async def creator(k: int) -> None:
                    i = 0
                    while time.perf_counter() < end:
                        i += 1
                        ok = await create(-(k * 1_000_000 + i + 1))  # awaited first: `+=` would read before it
                        done[0] += ok

                t = time.perf_counter()
                await asyncio.gather(*(creator(k) for k in range(PROBE_CONCURRENCY)))
                return done[0] / (time.perf_counter() - t)

            await creators(probe_s / 2)
            capacity = await creators(probe_s)
            rate = max(5, min(MAX_RATE, int(capacity * LOAD_SHARE)))
            settle = time.monotonic() + 120
            while (  # noqa: ASYNC110
                not set(answered) <= set(receiver.contact_of.values()) and time.monotonic() < settle
            ):
                await asyncio.sleep(0.2)
            probe_errors = len(errors)
            del errors[:]
            del create_ms[:]
            answered.clear()
            receiver.reset()
            started = time.perf_counter()
            tasks = []
            for i in range(n):
                delay = started + i / rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                tasks.append(asyncio.create_task(create(i)))
            await asyncio.gather(*tasks)
            achieved = n / (time.perf_counter() - started)
            deadline = time.monotonic() + (30 if ctx.smoke else 120)
            while len(receiver.accepted) < n - len(errors) and time.monotonic() < deadline:  # noqa: ASYNC110
                await asyncio.sleep(0.2)
            await asyncio.sleep(1.0)  # a late duplicate would show now
    finally:
        await _stop(workers)
        await server.stop()
        await receiver.stop()
    lag_ms = [
        (receiver.first_attempt[k] - receiver.committed_at[k]) * 1000
        for k in receiver.first_attempt
        if k in receiver.committed_at
    ]
    from_answer_ms = [
        (receiver.first_attempt[k] - answered[c]) * 1000
        for k, c in receiver.contact_of.items()
        if c in answered and k in receiver.first_attempt
    ]
    stamp_to_answer_ms = [
        (answered[c] - receiver.committed_at[k]) * 1000
        for k, c in receiver.contact_of.items()
        if c in answered and k in receiver.committed_at
    ]
    # Where the time goes: commit stamp → fan-out (the delivery row, made by the dispatch job after its window)
    # → first attempt (the delivery job).
    conn = await ctx.su()
    try:
        fanned = {
            str(r["id"]): r["at"]
            for r in await conn.fetch(
                "SELECT id, extract(epoch FROM created_at)::float8 AS at FROM webhook_deliveries"
                " WHERE id = ANY($1::uuid[])",
                list(receiver.first_attempt),
            )
        }
    finally:
        await conn.close()
    to_fanout_ms = [(fanned[k] - receiver.committed_at[k]) * 1000 for k in fanned if k in receiver.committed_at]
    fanout_to_attempt_ms = [(receiver.first_attempt[k] - fanned[k]) * 1000 for k in fanned]
    twice = sum(1 for v in receiver.accepted.values() if v > 1)
    exact = len(receiver.accepted) == n and twice == 0 and not errors
    p99 = percentile(lag_ms, 99) if lag_ms else None
    return [
        Row(
            "webhooks",
            f"{metric}, created at {rate}/s",
            p99,
            None,
            "ms p99 commit → first attempt",
            None,
            bar,
            bool(exact and p99 is not None and p99 <= 2000),
            f"producer {rate}/s open loop ({LOAD_SHARE:.0%} of the {capacity:.0f}/s the API sustained), "
            + (
                "0 create errors"
                if exact
                else f"accepted {len(receiver.accepted)} of {n}, {twice} twice, {len(errors)} errors"
            ),
            details={
                "events": n,
                "producer_rate": rate,
                "create_capacity_per_s": round(capacity, 1),
                "achieved_create_rate": round(achieved, 1),
                "create_p99_ms": percentile(create_ms, 99) if create_ms else None,
                "create_errors": len(errors),
                "probe_errors": probe_errors,
                "p50_to_fanout_ms": percentile(to_fanout_ms, 50) if to_fanout_ms else None,
                "p99_to_fanout_ms": percentile(to_fanout_ms, 99) if to_fanout_ms else None,
                "p50_fanout_to_attempt_ms": percentile(fanout_to_attempt_ms, 50) if fanout_to_attempt_ms else None,
                "p99_fanout_to_attempt_ms": percentile(fanout_to_attempt_ms, 99) if fanout_to_attempt_ms else None,
                "attempts": receiver.attempts,
                "accepted_ids": len(receiver.accepted),
                "accepted_twice": twice,
                "p50_ms": percentile(lag_ms, 50) if lag_ms else None,
                "p99_from_answer_ms": percentile(from_answer_ms, 99) if from_answer_ms else None,
                "p50_stamp_to_answer_ms": percentile(stamp_to_answer_ms, 50) if stamp_to_answer_ms else None,
                "errors": errors[:3],
            },
            correct=exact,
        )
    ]

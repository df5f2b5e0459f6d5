"""The calling load generator, in its own process: open-loop Poisson arrivals of steps (one simulated volunteer
doing next → start → report) at a fixed rate, over aiohttp (a light client: ~1 ms of CPU per step, where httpx
with a big pool cost tens). Arrivals do not wait for earlier steps to finish, so a slow server shows up as
latency (and errors), never as a lower offered rate.

    python -m bench.driver < plan.json > result.json

The plan: {"url", "action_id", "tokens", "survey", "opp_type", "phases": [{"rate": steps/s, "seconds": s}],
"seed"}. The result: one entry per phase (offered and achieved rate, latencies per call, errors) with the
driver's own CPU time, so a saturated client can be told from a saturated server.
"""

from __future__ import annotations

import asyncio
import json
import random
import resource
import sys
import time
from collections import deque
from typing import Any

import aiohttp

from bench.loadgen import report_body
from bench.report import percentile

TIMEOUT_S = 10.0


def _cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


class Phase:
    def __init__(self, rate: float, seconds: float) -> None:
        self.rate, self.seconds = rate, seconds
        self.lat: dict[str, list[float]] = {"next": [], "start": [], "report": []}
        self.step_ms: list[float] = []
        self.errors: list[str] = []
        self.exhausted = 0
        self.no_volunteer = 0
        self.offered = 0
        self.steps = 0

    def summary(self, wall_s: float, cpu_s: float) -> dict[str, Any]:
        allv = [x for v in self.lat.values() for x in v]
        return {
            "rate": self.rate,
            "seconds": round(wall_s, 2),
            "offered": self.offered,
            "steps": self.steps,
            "steps_per_s": self.steps / self.seconds,
            "requests": len(allv),
            "p50_ms": percentile(allv, 50),
            "p99_ms": percentile(allv, 99),
            "max_ms": max(allv) if allv else None,
            "step_p99_ms": percentile(self.step_ms, 99),
            "per_call": {
                k: {"n": len(v), "p50_ms": percentile(v, 50), "p99_ms": percentile(v, 99)} for k, v in self.lat.items()
            },
            "errors": len(self.errors) + self.no_volunteer,
            "error_samples": self.errors[:5] or (["no idle volunteer (all busy)"] if self.no_volunteer else []),
            "no_idle_volunteer": self.no_volunteer,
            "out_of_targets": self.exhausted,
            "client_cpu_s": round(cpu_s, 3),
            "client_cpu_ms_per_step": round(cpu_s * 1000 / max(1, self.steps), 3),
        }


async def _call(
    http: aiohttp.ClientSession, ph: Phase, kind: str, url: str, token: str, body: dict[str, Any] | None = None
) -> tuple[int, Any] | None:
    t = time.perf_counter()
    try:
        async with http.post(url, json=body, headers={"Authorization": f"Bearer {token}"}) as r:
            raw = await r.read()
            status = r.status
    except (aiohttp.ClientError, TimeoutError) as e:
        ph.errors.append(f"{kind}: {e.__class__.__name__}: {e}")
        return None
    ph.lat[kind].append((time.perf_counter() - t) * 1000)
    try:
        data = json.loads(raw) if raw else None
    except ValueError:
        data = raw[:200].decode(errors="replace")
    return status, data


async def _step(http: aiohttp.ClientSession, plan: dict[str, Any], ph: Phase, token: str, rng: random.Random) -> None:
    t0 = time.perf_counter()
    base = plan["url"]
    r = await _call(http, ph, "next", f"{base}/api/v1/actions/{plan['action_id']}/calls/next", token)
    if r is None:
        return
    status, data = r
    if status in (204, 404):
        ph.exhausted += 1
        return
    if status >= 300 or not isinstance(data, dict):
        ph.errors.append(f"next {status}: {str(data)[:200]}")
        return
    tid = data.get("target_id") or data.get("id")
    r = await _call(http, ph, "start", f"{base}/api/v1/calls/{tid}/start", token)
    if r is None:
        return
    if r[0] >= 300:
        ph.errors.append(f"start {r[0]}: {str(r[1])[:200]}")
        return
    body = report_body(rng, plan.get("survey"), plan.get("opp_type"))
    r = await _call(http, ph, "report", f"{base}/api/v1/calls/{tid}/report", token, body)
    if r is None:
        return
    if r[0] >= 300:
        ph.errors.append(f"report {r[0]}: {str(r[1])[:200]}")
        return
    ph.steps += 1
    ph.step_ms.append((time.perf_counter() - t0) * 1000)


async def run_phase(http: aiohttp.ClientSession, plan: dict[str, Any], ph: Phase, idle: deque[str], seed: int) -> None:
    """Arrivals at exponential intervals; each takes an idle volunteer (a volunteer does one step at a time)."""
    rng = random.Random(seed)
    tasks: set[asyncio.Task[None]] = set()

    async def one(token: str, step_rng: random.Random) -> None:
        try:
            await _step(http, plan, ph, token, step_rng)
        finally:
            idle.append(token)

    t = time.perf_counter()
    end = t + ph.seconds
    nxt = t
    while True:
        nxt += rng.expovariate(ph.rate)
        if nxt >= end:
            break
        delay = nxt - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        ph.offered += 1
        if not idle:
            ph.no_volunteer += 1  # every simulated volunteer already busy: the server is far behind
            continue
        task = asyncio.create_task(one(idle.popleft(), random.Random(rng.getrandbits(32))))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    if tasks:
        await asyncio.wait(tasks, timeout=TIMEOUT_S * 3 + 5)


async def main_async(plan: dict[str, Any]) -> list[dict[str, Any]]:
    idle: deque[str] = deque(plan["tokens"])
    connector = aiohttp.TCPConnector(limit=0, ttl_dns_cache=None, keepalive_timeout=30)
    timeout = aiohttp.ClientTimeout(total=TIMEOUT_S)
    out = []
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
        for i, p in enumerate(plan["phases"]):
            ph = Phase(float(p["rate"]), float(p["seconds"]))
            cpu0, t0 = _cpu_s(), time.perf_counter()
            await run_phase(http, plan, ph, idle, plan.get("seed", 1) * 1000 + i)
            out.append(ph.summary(time.perf_counter() - t0, _cpu_s() - cpu0))
            if p.get("stop_on_fail") and (out[-1]["errors"] or (out[-1]["p99_ms"] or 0) > p["stop_on_fail"]):
                break
    return out


def main() -> None:
    plan = json.load(sys.stdin)
    json.dump(asyncio.run(main_async(plan)), sys.stdout)


if __name__ == "__main__":
    main()

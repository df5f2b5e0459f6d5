"""HQ's reads on a hot standby while volunteers call on the primary (issue 20's first bar): the bench cluster gets
a streaming standby (pg_basebackup), the API under uvicorn is started with it as its read replica, and the
calling capacity is searched without HQ reads (bench/capacity.py). Then, at 0.95x that capacity (fixed rate,
open loop, bench/driver.py), phases without and with HQ reads alternate: dashboard viewers polling the
organization dashboard once a second each and an exporter downloading a segment's CSV export again and again
(both lag-tolerant: served by the standby). The bar "capacity falls by <= 5%" is judged at that point: the rate
0.95x the capacity without HQ reads must still hold with them (p99 <= 150 ms, 0 errors). The standby's own
transaction count proves the HQ reads were served there.

Both servers share this machine's cores, so on a small machine the standby's work is not free as it is on a
machine of its own: the figure is indicative here.

Alone: `python -m bench.run --only replica_reads` (--smoke for the harness)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import time
from typing import Any

import httpx

from app.core.embedded import EmbeddedStandby, free_port
from bench import capacity, wl_calling
from bench.context import Ctx
from bench.env import APP_PASSWORD, APP_ROLE
from bench.loadgen import Server
from bench.report import Row, percentile

FRACTION = 0.95  # the bar: capacity with HQ reads >= 0.95x capacity without
EXPORT_FILTER = {"support_levels": [1]}  # strong supporters: a segment HQ exports for a mobilization


def log(msg: str) -> None:
    print(f"[replica_reads] {msg}", flush=True)


class HQReads:
    """Dashboard viewers (one GET /dashboard a second each) and an exporter (one download after another, a pause
    of a second between them), until stopped."""

    def __init__(self, url: str, token: str, download_path: str, viewers: int) -> None:
        self.url, self.token, self.download_path, self.viewers = url, token, download_path, viewers
        self.stop = asyncio.Event()
        self.ms: dict[str, list[float]] = {"dashboard": [], "export": []}
        self.errors: list[str] = []
        self.export_rows = 0

    async def _one(self, client: httpx.AsyncClient, kind: str, path: str) -> httpx.Response | None:
        t = time.perf_counter()
        try:
            r = await client.get(path)
        except httpx.HTTPError as e:
            self.errors.append(f"{kind}: {e.__class__.__name__}: {e}")
            return None
        if r.status_code != 200:
            self.errors.append(f"{kind} {r.status_code}: {r.text[:200]}")
            return None
        self.ms[kind].append((time.perf_counter() - t) * 1000)
        return r

    async def _loop(self, kind: str, path: str, pause_s: float, offset_s: float) -> None:
        async with httpx.AsyncClient(
            base_url=self.url, timeout=60, headers={"Authorization": f"Bearer {self.token}"}
        ) as client:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stop.wait(), offset_s)
            while not self.stop.is_set():
                r = await self._one(client, kind, path)
                if r is not None and kind == "export":
                    self.export_rows = max(0, r.text.count("\n") - 1)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.stop.wait(), pause_s)

    async def run(self) -> None:
        loops = [self._loop("dashboard", "/api/v1/dashboard", 1.0, i / self.viewers) for i in range(self.viewers)]
        loops.append(self._loop("export", self.download_path, 1.0, 0.5))
        await asyncio.gather(*loops)

    @property
    def reads(self) -> int:
        return sum(len(v) for v in self.ms.values())


def tree_cpu_s(root: int | None) -> float:
    """CPU seconds (user + system) a process and its descendants have used so far, the exited ones its children
    waited for included (/proc: a postmaster reaps its backends, uvicorn its workers)."""
    if root is None:
        return 0.0
    used: dict[int, int] = {}
    kids: dict[int, list[int]] = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                raw = f.read()
        except OSError:
            continue
        rest = raw[raw.rindex(")") + 2 :].split()
        used[int(d)] = sum(int(x) for x in rest[11:15])  # utime, stime, cutime, cstime
        kids.setdefault(int(rest[1]), []).append(int(d))
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += used.get(pid, 0)
        todo.extend(kids.get(pid, []))
    return total / os.sysconf("SC_CLK_TCK")


class Cores:
    """Cores used over one phase by the API (uvicorn and its workers), the primary and the standby: where the
    time of the HQ reads goes on a machine that runs all three."""

    def __init__(self, api: int | None, primary: int | None, standby: int | None) -> None:
        self.pids = {"api": api, "primary": primary, "standby": standby}
        self.t0 = time.monotonic()
        self.at0 = {k: tree_cpu_s(p) for k, p in self.pids.items()}

    def done(self) -> dict[str, float]:
        dt = max(1e-6, time.monotonic() - self.t0)
        used = {k: round((tree_cpu_s(p) - self.at0[k]) / dt, 2) for k, p in self.pids.items()}
        return used | {"load1": round(os.getloadavg()[0], 1)}  # the machine's, all of it (others' work too)


def fmt_cores(c: dict[str, float]) -> str:
    return ", ".join(f"{k} {v:.2f}" for k, v in c.items())


async def standby_commits(sb: EmbeddedStandby, database: str) -> int:
    """Transactions committed on the standby in the run database (read-only ones count): where HQ read."""
    out = await asyncio.to_thread(
        sb.psql,
        f"SELECT xact_commit FROM pg_stat_database WHERE datname = '{database}'",
    )
    return int(out or 0)


async def create_export(url: str, token: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=url, timeout=120, headers={"Authorization": f"Bearer {token}"}) as c:
        r = await c.post("/api/v1/exports", json={"filter": EXPORT_FILTER, "columns": ["id", "first_name", "city"]})
        r.raise_for_status()
        return dict(r.json())


async def run(ctx: Ctx) -> list[Row]:
    metric = f"calling at {FRACTION:g}x its capacity with HQ's dashboard and export reads on a standby"
    bar = f"capacity with HQ reads >= {FRACTION:g}x without (the rate {FRACTION:g}x capacity still holds)"
    sb_dir = ctx.services.data_dir / "standby"
    shutil.rmtree(sb_dir, ignore_errors=True)
    sb = EmbeddedStandby(sb_dir, free_port(), database=ctx.db, shared_buffers_mb=256, primary_port=ctx.services.pg.port)
    log(f"streaming standby of the bench cluster on :{sb.port}")
    await asyncio.to_thread(sb.start)
    n_vol = 20 if ctx.smoke else 200
    workers = 2 if ctx.smoke else wl_calling.WORKERS
    viewers = 2 if ctx.smoke else 4
    phase_s = wl_calling.phase_seconds(ctx)
    try:
        setup = await wl_calling.setup_calling(ctx, n_vol, 2_000 if ctx.smoke else min(200_000, ctx.size))
        env = {
            **ctx.services.env(ctx.db),
            "LIMITS__PHONE_REVEALS_PER_MINUTE": "1000000",
            "REPLICAS__URLS": json.dumps([sb.app_url(APP_ROLE, APP_PASSWORD)]),
            "REPLICAS__MAX_LAG_S": "30",
        }
        server = Server("app.main:create_app", env, workers, factory=True)
        await server.start()
        try:
            base = {
                "url": server.url,
                "action_id": setup["actions"]["app"],
                "tokens": setup["tokens"],
                "survey": setup["survey"],
                "opp_type": setup["opp_type"],
            }
            await capacity.drive({**base, "phases": [{"rate": 20, "seconds": 0.5 if ctx.smoke else 3.0}], "seed": 0})
            export = await create_export(server.url, ctx.admin_token)
            log(f"capacity without HQ reads, {phase_s:.0f}s per rate")
            found = await capacity.search(base, phase_s, log)
            cap = found["capacity"]
            rate = max(capacity.START_RATE, cap * FRACTION)
            seconds = 3.0 if ctx.smoke else max(10.0, 2 * phase_s)
            without: list[dict[str, Any]] = []
            with_reads: list[dict[str, Any]] = []
            hq_all: list[HQReads] = []
            commits = 0
            pids = (
                server.proc.pid if server.proc else None,
                ctx.services.pg._postmaster_pid(),
                sb._postmaster_pid(),
            )
            cores_without: list[dict[str, float]] = []
            cores_with: list[dict[str, float]] = []
            for rep in range(1 if ctx.smoke else 2):
                cores = Cores(*pids)
                (ph,) = await capacity.drive({**base, "phases": [{"rate": rate, "seconds": seconds}], "seed": 10 + rep})
                cores_without.append(cores.done())
                without.append(ph)
                hq = HQReads(server.url, ctx.admin_token, export["download_path"], viewers)
                before = await standby_commits(sb, ctx.db)
                cores = Cores(*pids)
                task = asyncio.create_task(hq.run())
                try:
                    (ph,) = await capacity.drive(
                        {**base, "phases": [{"rate": rate, "seconds": seconds}], "seed": 20 + rep}
                    )
                finally:
                    hq.stop.set()
                    await task
                cores_with.append(cores.done())
                commits += await standby_commits(sb, ctx.db) - before
                with_reads.append(ph)
                hq_all.append(hq)
                log(
                    f"  {rate:.1f} steps/s: p99 {without[-1]['p99_ms']:.0f} ms without HQ reads, "
                    f"{ph['p99_ms']:.0f} ms with {hq.reads} ({ph['errors']} errors, {len(hq.errors)} HQ errors); "
                    f"cores used without: {fmt_cores(cores_without[-1])}; with: {fmt_cores(cores_with[-1])}"
                )
        finally:
            await server.stop()
    finally:
        await asyncio.to_thread(sb.stop, "immediate")
        shutil.rmtree(sb_dir, ignore_errors=True)

    reads = sum(h.reads for h in hq_all)
    hq_errors = [e for h in hq_all for e in h.errors]
    on_standby = reads > 0 and commits >= reads
    held = bool(cap) and all(capacity.holds(p) for p in with_reads)
    held_without = all(capacity.holds(p) for p in without)
    p99_with = max((p["p99_ms"] or 0.0) for p in with_reads)
    p99_without = max((p["p99_ms"] or 0.0) for p in without)
    dash = [x for h in hq_all for x in h.ms["dashboard"]]
    exp = [x for h in hq_all for x in h.ms["export"]]
    note = (
        f"capacity without HQ reads {cap:.0f} steps/s; at {rate:.0f} steps/s for {seconds:.0f}s: p99 {p99_with:.0f} ms "
        f"with HQ reads ({reads} reads: dashboard p50 {percentile(dash, 50) or 0:.0f} ms, export of "
        f"{max(h.export_rows for h in hq_all):,} rows p50 {percentile(exp, 50) or 0:.0f} ms; {len(hq_errors)} errors), "
        f"{p99_without:.0f} ms without; standby committed {commits} transactions; cores used (of {os.cpu_count()}) "
        f"without HQ reads: {fmt_cores(cores_without[-1])}; with: {fmt_cores(cores_with[-1])}"
        + ("" if held_without else "; the rate failed even without HQ reads (noisy machine)")
        + ("" if on_standby else "; HQ reads NOT seen on the standby")
    )
    return [
        Row(
            "replica_reads",
            "calling capacity before the HQ reads (the reference of the bar)",
            cap,
            None,
            "steps/s",
            None,
            "informational",
            None,
            wl_calling.describe(found),
            {"phases": found["phases"]},
        ),
        Row(
            "replica_reads",
            metric,
            p99_with,
            p99_without,
            "ms p99",
            p99_with / p99_without if p99_without else None,
            bar,
            held and on_standby and not hq_errors,
            note,
            {
                "rate": rate,
                "without": without,
                "with": with_reads,
                "hq_ms": {"dashboard": dash, "export": exp},
                "hq_errors": hq_errors[:10],
                "standby_commits": commits,
                "cores_without": cores_without,
                "cores_with": cores_with,
                "hq_reads": reads,
            },
            correct=on_standby and not hq_errors,
        ),
    ]

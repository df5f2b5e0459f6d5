"""`make bench`: every workload of shared/docs/performance.md against its reference, measured in the same run.

    python -m bench.run                    # SIZE=1000000 by default (SIZE=200k, SIZE=5M… scale)
    python -m bench.run --smoke            # SIZE=2000, short loads: proves the harness works (< 60 s)
    python -m bench.run --only count,pwa   # a subset
    python -m bench.run --keep-running     # leave the bench cluster and Redis up afterwards

Data: generated once per (size, seed) into a template database of the bench cluster (.data/bench/), then each
run works on a fresh clone, so what a run writes never leaks into the next. Prints a table and writes
bench/results.json. A workload whose feature does not exist yet prints "not available yet: <reason>".
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import time
import traceback
from collections.abc import Awaitable, Callable
from typing import Any

from bench import generate, quiesce
from bench.context import Ctx
from bench.env import BENCH_DATA_DIR, BenchServices, migrate, template_name
from bench.report import RESULTS, Row, markdown, table, write

SMOKE_SIZE = 2000
Workload = Callable[[Ctx], Awaitable[list[Row]]]


def workloads() -> list[tuple[str, Workload]]:
    from bench import (
        wl_calling,
        wl_campaign,
        wl_count,
        wl_dashboard,
        wl_failover,
        wl_import,
        wl_org_dashboard,
        wl_petitions,
        wl_push,
        wl_pwa,
        wl_replica_reads,
        wl_table,
        wl_targeting,
        wl_tiles,
        wl_webhooks,
    )

    return [
        ("pwa", wl_pwa.run),
        ("count", wl_count.run),
        ("tiles", wl_tiles.run),
        ("table", wl_table.run),
        ("targeting", wl_targeting.run),
        ("calling", wl_calling.run),
        ("dashboard", wl_dashboard.run),
        ("org_dashboard", wl_org_dashboard.run),
        ("push", wl_push.run),
        ("petitions", wl_petitions.run),
        ("webhooks", wl_webhooks.run),
        ("campaign", wl_campaign.run),
        ("replica_reads", wl_replica_reads.run),
        ("failover", wl_failover.run),
        ("import", wl_import.run),  # last: it adds ~1M contacts and leaves autovacuum busy
    ]


def log(msg: str) -> None:
    print(f"[bench] {msg}", flush=True)


async def prepare(services: BenchServices, size: int, seed: int, smoke: bool) -> Ctx:
    t = time.perf_counter()
    marker = await generate.generate_database(services, size, seed)
    t_gen = time.perf_counter() - t
    t = time.perf_counter()
    manifest = await asyncio.to_thread(generate.write_csvs, size, seed)
    t_csv = time.perf_counter() - t
    run_db = f"bench_run_{size}"
    t = time.perf_counter()
    await services.create_database(run_db, template=template_name(size, seed))
    await asyncio.to_thread(migrate, services, run_db)  # a no-op unless migrations landed since the template
    t_clone = time.perf_counter() - t
    log(
        f"data ready: template {template_name(size, seed)} ({t_gen:.1f}s), CSV ({t_csv:.1f}s), "
        f"clone {run_db} ({t_clone:.1f}s)"
    )
    return Ctx(
        services=services,
        db=run_db,
        marker=marker,
        manifest=manifest,
        size=size,
        seed=seed,
        smoke=smoke,
        timings={"template_s": round(t_gen, 1), "csv_s": round(t_csv, 1), "clone_s": round(t_clone, 1)},
    )


async def main_async(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    size = SMOKE_SIZE if args.smoke else args.size
    # The smoke run has its own small cluster, so the test suite never touches (or waits for) the real bench data.
    services = BenchServices(BENCH_DATA_DIR / "smoke" if args.smoke else BENCH_DATA_DIR)
    services.lock()
    services.start()
    log(
        f"bench cluster on 127.0.0.1:{services.pg.port} ({services.pg.data_dir}), redis :{services.redis.port}; "
        f"size {size:,}, seed {args.seed}"
    )
    rows: list[Row] = []
    ctx: Ctx | None = None
    try:
        ctx = await prepare(services, size, args.seed, args.smoke)
        selected = [w for w in workloads() if not args.only or w[0] in args.only]
        for name, fn in selected:
            settled = await quiesce.settle(ctx)  # the first too: a fresh clone's pages are still being written
            log(f"settled in {settled:.1f}s before {name}")
            t = time.perf_counter()
            try:
                out = await fn(ctx)
            except Exception as e:
                traceback.print_exc()
                out = [Row(name, name, None, None, "", None, "", False, f"harness error: {e.__class__.__name__}: {e}")]
            for r in out:
                r.details.setdefault("workload_seconds", round(time.perf_counter() - t, 1))
                r.details.setdefault("settled_before_s", round(settled, 1))
                if args.smoke and r.passed is not None:  # tiny data: timings mean nothing, correctness does
                    r.passed = r.correct
                    r.note = (r.note + "; " if r.note else "") + "smoke: timing not judged"
            rows.extend(out)
            log(f"{name}: done in {time.perf_counter() - t:.1f}s")
    finally:
        if ctx is not None and not args.keep_db:
            await services.drop_database(ctx.db)
        if not args.keep_running:
            services.stop()
    elapsed = time.perf_counter() - started
    print()
    print(table(rows))
    print()
    meta: dict[str, Any] = {
        "size": size,
        "seed": args.seed,
        "smoke": args.smoke,
        "seconds": round(elapsed, 1),
        "setup": ctx.timings if ctx else {},
        "generation": (ctx.marker.get("timings"), ctx.marker.get("seconds")) if ctx else None,
    }
    out_path = args.output or (RESULTS if not args.smoke else RESULTS.with_name("results.smoke.json"))
    write(rows, meta, out_path)
    if args.markdown:
        print(markdown(rows))
        print()
    log(f"{len(rows)} rows in {elapsed:.0f}s; results in {out_path}")
    failed = [r for r in rows if r.passed is False]
    return 1 if (failed and args.strict) else 0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=generate.size_from_env())
    ap.add_argument("--seed", type=int, default=int(os.environ.get("SEED", generate.DEFAULT_SEED)))
    ap.add_argument("--smoke", action="store_true", help=f"SIZE={SMOKE_SIZE}, short loads")
    ap.add_argument("--only", type=lambda s: [x.strip() for x in s.split(",") if x.strip()], default=None)
    ap.add_argument("--keep-running", action="store_true", help="leave the bench cluster and Redis running")
    ap.add_argument("--keep-db", action="store_true", help="keep the run database (bench_run_<size>) for inspection")
    ap.add_argument("--markdown", action="store_true", help="also print the table as Markdown (for the README)")
    ap.add_argument("--strict", action="store_true", help="exit 1 when a workload fails its bar")
    ap.add_argument("--output", type=lambda s: __import__("pathlib").Path(s), default=None)
    args = ap.parse_args()
    # SIGTERM behaves like Ctrl-C: the workloads' finally blocks stop the servers they started, the run db goes.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    sys.exit(asyncio.run(main_async(args)))


if __name__ == "__main__":
    main()

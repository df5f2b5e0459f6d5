"""Runs one import job exactly as the arq worker does (its startup, the job function, its shutdown), in its own
process so the bench can measure the job's peak memory. Prints one JSON line.

    python -m bench.import_worker <organization_id> <import_id>     (env: DATABASE_URL, REDIS_URL, …)
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys
import time
from typing import Any


def _hwm_mb() -> float:
    """Peak RSS of this process image (VmHWM). Unlike ru_maxrss, Linux does not carry it over from the parent
    across execve, so it measures the job and not the bench process that started it."""
    for line in open("/proc/self/status").read().splitlines():  # noqa: SIM115
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def main(org: str, iid: str) -> dict[str, Any]:
    from app import worker

    ctx: dict[str, Any] = {}
    await worker.startup(ctx)
    rss_before = _hwm_mb()
    t = time.perf_counter()
    try:
        result = await worker.run_import_job(ctx, org, iid)
    finally:
        seconds = time.perf_counter() - t
        await worker.shutdown(ctx)
    return {"result": str(result), "seconds": seconds, "rss_before_mb": rss_before, "maxrss_mb": _hwm_mb()}


if __name__ == "__main__":
    out = asyncio.run(main(sys.argv[1], sys.argv[2]))
    print(json.dumps(out), flush=True)

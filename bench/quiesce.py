"""Between two workloads: let the database settle, so a workload is not measured in the wake of the one before
(the calling and push loads leave hundreds of thousands of dead rows, a checkpoint due and autovacuum busy on the
tables the next workload reads and writes). A checkpoint, then a wait (bounded) until no autovacuum worker and no
other client of the bench database is active. The time it took is logged and kept in the run's results."""

from __future__ import annotations

import asyncio
import time

from bench.context import Ctx

LIMIT_S = 180.0


async def settle(ctx: Ctx, limit_s: float = LIMIT_S) -> float:
    t0 = time.monotonic()
    conn = await ctx.su()
    try:
        await conn.execute("CHECKPOINT")
        while time.monotonic() - t0 < limit_s:
            busy = await conn.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND state IS DISTINCT FROM 'idle' "
                "AND (backend_type = 'autovacuum worker' OR (datname = current_database() "
                "AND backend_type = 'client backend'))"
            )
            if not busy:
                break
            await asyncio.sleep(1.0)
    finally:
        await conn.close()
    return time.monotonic() - t0

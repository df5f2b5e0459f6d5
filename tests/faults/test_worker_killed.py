"""R4: the worker killed mid-import leaves nothing half-written, and the import resumes when the job runs again
(what the sweeper's re-enqueue does once the heartbeat is stale)."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.core.db import set_tenant
from app.imports.job import run_import
from tests.fixtures.factories import make_org

RUNNER = textwrap.dedent("""
    import asyncio, sys
    from app import worker

    async def main():
        ctx = {}
        await worker.startup(ctx)
        await worker.run_import_job(ctx, sys.argv[1], sys.argv[2])

    asyncio.run(main())
""")


def _big_csv(path: Path, rows: int) -> None:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["first_name", "last_name", "mobile", "city", "lat", "lon", "tags"])
    for i in range(rows):
        w.writerow([f"P{i}", f"N{i}", f"07{22000000 + i}", "București", "44.43", "26.10", "pensions|x"])
    path.write_text(buf.getvalue())


async def test_killed_worker_writes_nothing_and_the_rerun_completes(
    live_db: AsyncSession, engine: AsyncEngine, tmp_path: Path
) -> None:
    org = await make_org(live_db)
    iid = uuid.uuid4()
    path = tmp_path / "big.csv"
    rows = 120_000
    _big_csv(path, rows)
    headers = ["first_name", "last_name", "mobile", "city", "lat", "lon", "tags"]
    mapping = {"columns": {h: i for i, h in enumerate(headers)}, "headers": headers, "width": len(headers)}
    await live_db.execute(
        text("""
        INSERT INTO imports (organization_id, id, filename, file_path, size_bytes, encoding, delimiter, mapping)
        VALUES (:o, :i, 'big.csv', :p, :s, 'utf-8', ',', CAST(:m AS jsonb))"""),
        {"o": org.id, "i": iid, "p": str(path), "s": path.stat().st_size, "m": json.dumps(mapping)},
    )
    await live_db.commit()

    async def status() -> tuple[str, int]:
        async with engine.begin() as c:
            await set_tenant(c, org.id)
            st = (await c.execute(text("SELECT status FROM imports WHERE id = :i"), {"i": iid})).scalar()
            n = (
                await c.execute(text("SELECT count(*) FROM contacts WHERE organization_id = :o"), {"o": org.id})
            ).scalar()
        return str(st), int(n or 0)

    proc = subprocess.Popen(
        [sys.executable, "-c", RUNNER, str(org.id), str(iid)], env=os.environ.copy(), start_new_session=True
    )
    for _ in range(1200):
        if (await status())[0] == "running":
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.5)  # mid-job: staging or merging
    assert proc.poll() is None, "the job finished before it could be killed; make the file bigger"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    st, n = await status()
    assert st == "running"  # what the sweeper looks for (stale heartbeat)
    assert n == 0  # nothing half-written
    # The re-enqueued job. The dead worker's database session may still be finishing its statement (holding the
    # import's advisory lock) until PostgreSQL notices the client is gone and rolls it back: "busy" until then.
    result = "busy"
    deadline = time.monotonic() + 90
    while result == "busy" and time.monotonic() < deadline:
        result = await run_import(engine, str(org.id), str(iid))
        if result == "busy":
            await asyncio.sleep(1)
    assert result.startswith("done"), result
    st, n = await status()
    assert (st, n) == ("done", rows)

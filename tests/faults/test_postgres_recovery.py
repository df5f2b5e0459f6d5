"""R3: the postmaster SIGKILLed while requests run, then restarted (crash recovery replays WAL, during which
PostgreSQL answers 57P03 "not yet accepting connections"): every response is a 2xx or a 503 with Retry-After,
never a 500, and every acknowledged write is stored exactly once."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
import uuid
from collections import Counter

from httpx import ASGITransport, AsyncClient
from sqlalchemy import text

from app.config import Settings
from app.core.db import make_engine, make_sessionmaker
from app.core.embedded import EmbeddedPostgres
from app.main import create_app
from tests.fixtures.factories import make_actor, make_org


def _kill_postmaster(pg: EmbeddedPostgres) -> None:
    pid = int((pg.data_dir / "postmaster.pid").read_text().split()[0])
    os.kill(pid, signal.SIGKILL)


def _restart(pg: EmbeddedPostgres) -> None:
    """Start again as soon as the orphaned backends have let go of the shared memory (crash recovery runs now)."""
    deadline = time.monotonic() + 30
    while True:
        try:
            pg.start()
            return
        except subprocess.CalledProcessError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


async def test_postmaster_killed_and_restarted_gives_503s_never_500s_and_loses_no_acknowledged_write(
    own_cluster: EmbeddedPostgres, settings: Settings
) -> None:
    pg = own_cluster
    s = settings.model_copy(update={"database_url": pg.app_url("groundgame_app", "groundgame_app")})
    setup = make_engine(s.database_url, s, pool_size=1)
    async with make_sessionmaker(setup)() as session, session.begin():
        org = await make_org(session)
        manager = await make_actor(session, org, "manager")
    await setup.dispose()

    application = create_app(s)
    statuses: Counter[int] = Counter()
    bad_responses: list[str] = []
    acknowledged: list[str] = []
    marker = uuid.uuid4().hex[:8]
    stop = asyncio.Event()

    async def volunteer(c: AsyncClient, n: int) -> None:
        i = 0
        while not stop.is_set():
            i += 1
            if i % 2:
                r = await c.get("/api/v1/me", headers=manager.headers)
            else:
                body = {"first_name": f"w{n}-{i}", "last_name": marker}
                r = await c.post("/api/v1/contacts", json=body, headers=manager.headers)
                if r.status_code == 201:
                    acknowledged.append(r.json()["id"])
            statuses[r.status_code] += 1
            if r.status_code == 503 and "retry-after" not in r.headers:
                bad_responses.append(r.text)
            if r.status_code >= 500 and r.status_code != 503:
                bad_responses.append(f"{r.status_code} {r.text}")
            await asyncio.sleep(0.01)

    async with (
        application.router.lifespan_context(application),
        AsyncClient(transport=ASGITransport(app=application), base_url="http://t", timeout=30) as c,
    ):
        tasks = [asyncio.create_task(volunteer(c, n)) for n in range(6)]
        await asyncio.sleep(0.5)
        _kill_postmaster(pg)
        await asyncio.sleep(1.0)
        await asyncio.to_thread(_restart, pg)
        # Back to normal by itself: a run of successes after the restart.
        deadline = time.monotonic() + 15
        before = statuses.copy()
        while time.monotonic() < deadline:
            await asyncio.sleep(0.5)
            if statuses[200] + statuses[201] - before[200] - before[201] >= 20:
                break
        stop.set()
        await asyncio.gather(*tasks)
    assert not bad_responses, bad_responses[:3]
    assert set(statuses) <= {200, 201, 503}, statuses
    assert statuses[503] > 0, f"the outage was not seen: {statuses}"
    assert statuses[200] + statuses[201] - before[200] - before[201] >= 20, f"not back within 15 s: {statuses}"

    check = make_engine(pg.superuser_url, s, pool_size=1)
    async with check.connect() as conn:
        stored = Counter(
            str(i)
            for i in (await conn.execute(text("SELECT id FROM contacts WHERE last_name = :m"), {"m": marker})).scalars()
        )
    await check.dispose()
    assert all(stored[i] == 1 for i in acknowledged), "an acknowledged contact is missing or doubled"

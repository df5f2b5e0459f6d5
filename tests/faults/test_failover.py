"""Failover (issue 20, line 2) with real servers: a primary and a synchronous hot standby, the app connected
through a multi-host URL with `target_session_attrs=read-write`. The primary's postmaster is SIGKILLed while
writes go on and the standby is promoted (here by `pg_ctl promote`, what pg_auto_failover's monitor does in
production). Every answer during the switch is 201 or 503 with Retry-After (never a 500, never a hang), the app
writes again on the new primary without a restart, and every acknowledged write is there."""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
from httpx import ASGITransport, AsyncClient
from sqlalchemy import text

from app.config import Settings
from app.core.db import make_engine
from app.core.embedded import PG_BIN, EmbeddedPostgres, EmbeddedStandby, _as_pg_user, free_port
from app.core.migrate import migrate_and_grant
from tests.conftest import ServicesUnderTest
from tests.fixtures.factories import make_actor, make_org

ROLE, PASSWORD = "groundgame_app", "groundgame_app"


@pytest.fixture
def pair(services: ServicesUnderTest) -> Iterator[tuple[EmbeddedPostgres, EmbeddedStandby]]:
    base = services.tmp / f"failover-{uuid.uuid4().hex[:6]}"
    primary = EmbeddedPostgres(base / "primary", free_port(), shared_buffers_mb=128)
    primary.start()
    migrate_and_grant(primary.superuser_url, ROLE, PASSWORD)
    standby = EmbeddedStandby(base / "standby", free_port(), shared_buffers_mb=128, primary_port=primary.port)
    standby.start()
    # Synchronous: a commit is acknowledged only once the standby has it (what matters for reports).
    primary.psql("ALTER SYSTEM SET synchronous_standby_names = '*'")
    primary.psql("SELECT pg_reload_conf()")
    try:
        yield primary, standby
    finally:
        standby.stop("immediate")
        primary.stop("immediate")


def _promote(standby: EmbeddedStandby) -> None:
    subprocess.run(
        _as_pg_user([str(PG_BIN / "pg_ctl"), "-D", str(standby.data_dir), "-w", "-t", "60", "promote"]),
        check=True,
        stdout=subprocess.DEVNULL,
    )


@pytest.fixture
async def app_on_pair(
    pair: tuple[EmbeddedPostgres, EmbeddedStandby], settings: Settings
) -> AsyncIterator[tuple[object, AsyncClient]]:
    from app.main import create_app

    primary, standby = pair
    url = (
        f"postgresql+asyncpg://{ROLE}:{PASSWORD}@/{primary.database}"
        f"?host=127.0.0.1:{primary.port}&host=127.0.0.1:{standby.port}&target_session_attrs=read-write"
    )
    application = create_app(settings.model_copy(update={"database_url": url}))
    transport = ASGITransport(app=application)
    async with (
        application.router.lifespan_context(application),
        AsyncClient(transport=transport, base_url="http://test") as c,
    ):
        yield application, c


async def test_the_standby_takes_over_and_no_acknowledged_write_is_lost(
    app_on_pair: tuple[object, AsyncClient], pair: tuple[EmbeddedPostgres, EmbeddedStandby], settings: Settings
) -> None:
    application, client = app_on_pair
    primary, standby = pair
    async with application.state.sessionmaker() as s:  # type: ignore[attr-defined]
        org = await make_org(s)
        staff = await make_actor(s, org, "manager")
        org_id = org.id
        await s.commit()
    auth = {"Authorization": f"Bearer {staff.token}"}
    acked: list[str] = []
    statuses: list[int] = []

    async def write(n: int) -> int:
        body = {"first_name": f"Ack{n}", "last_name": "Failover"}
        r = await asyncio.wait_for(client.post("/api/v1/contacts", json=body, headers=auth), 20)
        if r.status_code == 201:
            acked.append(r.json()["id"])
        else:
            assert r.status_code == 503 and r.headers.get("retry-after"), (r.status_code, r.text)
        statuses.append(r.status_code)
        return r.status_code

    for n in range(20):
        assert await write(n) == 201
    pid = int((primary.data_dir / "postmaster.pid").read_text().split()[0])
    os.kill(pid, 9)
    killed = time.monotonic()
    promotion = asyncio.create_task(asyncio.to_thread(_promote, standby))
    first_ack_after: float | None = None
    n = 20
    while time.monotonic() - killed < 60:
        if await write(n) == 201 and promotion.done():
            first_ack_after = first_ack_after or time.monotonic() - killed
            if len(acked) >= 30:
                break
        else:
            await asyncio.sleep(0.2)
        n += 1
    await promotion
    assert first_ack_after is not None and first_ack_after <= 30, statuses
    assert 500 not in statuses

    # Every acknowledged write is on the new primary, once.
    engine = make_engine(standby.superuser_url, settings, pool_size=1)
    try:
        async with engine.connect() as c:
            assert (await c.execute(text("SELECT NOT pg_is_in_recovery()"))).scalar()
            rows = (
                (
                    await c.execute(
                        text("SELECT id::text FROM contacts WHERE organization_id = :o AND last_name = 'Failover'"),
                        {"o": org_id},
                    )
                )
                .scalars()
                .all()
            )
    finally:
        await engine.dispose()
    assert set(acked) <= set(rows) and len(rows) == len(set(rows))

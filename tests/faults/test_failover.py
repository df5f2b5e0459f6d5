"""Failover (issue 20, lines 2 and 4) with real servers, the app connected through a multi-host URL with
`target_session_attrs=read-write`. Writes go on while the primary's postmaster is SIGKILLed and a standby takes
over: by pg_auto_failover's monitor (a real formation: monitor, primary and synchronous secondary, each node run
by its keeper), and, without a monitor, a synchronous streaming standby promoted by `pg_ctl promote`. Every answer
during the switch is 201 or 503 with Retry-After (never a 500, never a hang), the app writes again on the new
primary without a restart within 30 s, and every acknowledged write is there, once."""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator

import pytest
from httpx import ASGITransport, AsyncClient
from sqlalchemy import text

from app.config import Settings
from app.core import autofailover
from app.core.db import make_engine
from app.core.embedded import PG_BIN, EmbeddedPostgres, EmbeddedStandby, _as_pg_user, free_port
from app.core.migrate import migrate_and_grant
from tests.conftest import ServicesUnderTest
from tests.fixtures.factories import make_actor, make_org

ROLE, PASSWORD = "groundgame_app", "groundgame_app"


async def drill(
    settings: Settings,
    database_url: str,
    new_primary_url: Callable[[], str],
    kill: Callable[[], None],
    promote: Callable[[], None],
) -> None:
    """Twenty writes, the kill, writes until ten more are acknowledged on the new primary; then the checks."""
    from app.main import create_app

    application = create_app(settings.model_copy(update={"database_url": database_url}))
    transport = ASGITransport(app=application)
    async with (
        application.router.lifespan_context(application),
        AsyncClient(transport=transport, base_url="http://test") as client,
    ):
        async with application.state.sessionmaker() as s:
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
            statuses.append(r.status_code)
            if r.status_code == 201:
                acked.append(r.json()["id"])
            else:
                assert r.status_code == 503 and r.headers.get("retry-after"), (r.status_code, r.text)
            return r.status_code

        for n in range(20):
            assert await write(n) == 201
        kill()
        killed = time.monotonic()
        promotion = asyncio.create_task(asyncio.to_thread(promote))
        first_ack_after: float | None = None
        n = 20
        while time.monotonic() - killed < 60 and len(acked) < 30:
            ok = await write(n) == 201
            if ok and first_ack_after is None:
                first_ack_after = time.monotonic() - killed
            if not ok:
                await asyncio.sleep(0.2)
            n += 1
        await promotion
    print(f"failover drill: first write acknowledged {first_ack_after} s after the kill; {statuses.count(503)} 503s")
    assert first_ack_after is not None and first_ack_after <= 30, statuses
    assert 500 not in statuses and len(acked) >= 30, statuses

    engine = make_engine(new_primary_url(), settings, pool_size=1)
    try:
        async with engine.connect() as c:
            assert (await c.execute(text("SELECT NOT pg_is_in_recovery()"))).scalar()
            q = text("SELECT id::text FROM contacts WHERE organization_id = :o AND last_name = 'Failover'")
            rows = (await c.execute(q, {"o": org_id})).scalars().all()
    finally:
        await engine.dispose()
    assert set(acked) <= set(rows), "an acknowledged write is missing on the new primary"
    assert len(rows) == len(set(rows))


@pytest.fixture
def formation(services: ServicesUnderTest) -> Iterator[autofailover.Formation]:
    if not autofailover.available():
        pytest.skip("pg_auto_failover is not installed (scripts/bootstrap.sh installs it)")
    f = autofailover.Formation(services.tmp / f"pgaf-{uuid.uuid4().hex[:6]}", free_port(), (free_port(), free_port()))
    try:
        f.start()
        yield f
    finally:
        f.stop()


async def test_pg_auto_failover_promotes_the_secondary_and_the_app_follows_without_losing_a_write(
    formation: autofailover.Formation, settings: Settings
) -> None:
    old = formation.primary_port()
    assert old == formation.node_ports[0]
    await asyncio.to_thread(migrate_and_grant, formation.superuser_url(old), ROLE, PASSWORD)

    def promoted() -> None:  # the monitor does it: wait until the other node is the primary
        deadline = time.monotonic() + 60
        while formation.primary_port() in (None, old):
            assert time.monotonic() < deadline, formation.states()
            time.sleep(0.5)

    def new_primary() -> str:
        port = formation.primary_port()
        assert port is not None and port != old
        return formation.superuser_url(port)

    await drill(
        settings,
        formation.app_url(ROLE, PASSWORD),
        new_primary,
        kill=lambda: os.kill(formation.postmaster_pid(old), 9),
        promote=promoted,
    )


async def test_a_promoted_synchronous_standby_takes_over_and_no_acknowledged_write_is_lost(
    services: ServicesUnderTest, settings: Settings
) -> None:
    base = services.tmp / f"failover-{uuid.uuid4().hex[:6]}"
    primary = EmbeddedPostgres(base / "primary", free_port(), shared_buffers_mb=128)
    primary.start()
    standby = EmbeddedStandby(base / "standby", free_port(), shared_buffers_mb=128, primary_port=primary.port)
    try:
        await asyncio.to_thread(migrate_and_grant, primary.superuser_url, ROLE, PASSWORD)
        await asyncio.to_thread(standby.start)
        # Synchronous: a commit is acknowledged only once the standby has it (what matters for reports).
        primary.psql("ALTER SYSTEM SET synchronous_standby_names = '*'")
        primary.psql("SELECT pg_reload_conf()")
        url = (
            f"postgresql+asyncpg://{ROLE}:{PASSWORD}@/{primary.database}"
            f"?host=127.0.0.1:{primary.port}&host=127.0.0.1:{standby.port}&target_session_attrs=read-write"
        )

        def promote() -> None:
            cmd = [str(PG_BIN / "pg_ctl"), "-D", str(standby.data_dir), "-w", "-t", "60", "promote"]
            subprocess.run(_as_pg_user(cmd), check=True, stdout=subprocess.DEVNULL)

        await drill(
            settings,
            url,
            lambda: standby.superuser_url,
            kill=lambda: os.kill(int((primary.data_dir / "postmaster.pid").read_text().split()[0]), 9),
            promote=promote,
        )
    finally:
        standby.stop("immediate")
        primary.stop("immediate")

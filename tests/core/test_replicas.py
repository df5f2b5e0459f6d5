"""Read routing (issue 20, line 1) against a real hot standby of the test cluster (pg_basebackup, streaming):
lag-tolerant reads are served by the standby, within the caller's organization (row-level security and the tenant
setting work there as on the primary); a standby too far behind, or down, is skipped and the primary answers; a
write followed by a read of one's own write is consistent (those reads stay on the primary)."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
from httpx import ASGITransport, AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.config import ReplicaSettings, Settings
from app.core.db import make_engine
from app.core.embedded import PG_BIN, EmbeddedStandby, _as_pg_user, free_port
from app.core.replicas import PrimaryTransactionOpen, ReadRouter, reader
from tests.conftest import ServicesUnderTest
from tests.fixtures.contacts import insert_contacts
from tests.fixtures.factories import make_actor, make_org
from tests.fixtures.standby import contacts_locked, waiting_on_standby


@pytest.fixture(scope="module")
def standby(services: ServicesUnderTest) -> Iterator[EmbeddedStandby]:
    if services.pg is None:
        pytest.skip("needs the embedded test cluster (TEST_DATABASE_URL points elsewhere)")
    sb = EmbeddedStandby(services.tmp / "standby", free_port(), shared_buffers_mb=128, primary_port=services.pg.port)
    sb.start()
    try:
        yield sb
    finally:
        sb.stop("immediate")


@pytest.fixture
async def standby_su(standby: EmbeddedStandby, settings: Settings) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(standby.superuser_url, settings, pool_size=1)
    yield engine
    await engine.dispose()


@pytest.fixture
async def routed(
    standby: EmbeddedStandby, services: ServicesUnderTest, settings: Settings
) -> AsyncIterator[tuple[object, AsyncClient]]:
    """The app with the standby configured as its read replica (checked every 0.2 s, 30 s of lag allowed)."""
    from app.main import create_app

    url = standby.app_url(services.app_role, services.app_password)
    cfg = settings.model_copy(update={"replicas": ReplicaSettings(urls=[url], max_lag_s=30, check_interval_s=0.2)})
    application = create_app(cfg)
    async with application.router.lifespan_context(application):
        transport = ASGITransport(app=application)
        async with AsyncClient(transport=transport, base_url="http://test") as c:
            yield application, c


async def _replayed(primary: AsyncSession, standby_su: AsyncEngine, within_s: float = 30) -> None:
    """Until the standby has replayed everything the primary has written so far."""
    lsn = (await primary.execute(text("SELECT pg_current_wal_lsn()::text"))).scalar_one()
    deadline = asyncio.get_running_loop().time() + within_s
    async with standby_su.connect() as c:
        while True:
            done = (
                await c.execute(text("SELECT pg_last_wal_replay_lsn() >= CAST(CAST(:l AS text) AS pg_lsn)"), {"l": lsn})
            ).scalar()
            if done:
                return
            assert asyncio.get_running_loop().time() < deadline, "the standby did not catch up"
            await asyncio.sleep(0.1)


async def _replayed_org(
    live_db: AsyncSession, standby_su: AsyncEngine, reads: ReadRouter, role: str, *, contacts: int
) -> tuple[uuid.UUID, dict[str, str]]:
    """An organization of `contacts` contacts and a `role` member, committed (with whatever else the session
    holds), replayed by the standby and measured by the router since: (its id, the member's auth headers)."""
    org = await make_org(live_db)
    member = await make_actor(live_db, org, role)
    await insert_contacts(live_db, org.id, [(26.1, 44.43)] * contacts)
    org_id = org.id
    await live_db.commit()
    await _replayed(live_db, standby_su)
    await reads.measure()
    return org_id, {"Authorization": f"Bearer {member.token}"}


async def test_lag_tolerant_reads_come_from_the_standby_in_the_callers_organization_and_fall_back_when_it_lags(
    routed: tuple[object, AsyncClient], live_db: AsyncSession, standby_su: AsyncEngine, standby: EmbeddedStandby
) -> None:
    application, client = routed
    reads: ReadRouter = application.state.reads  # type: ignore[attr-defined]
    other = await make_org(live_db)
    await insert_contacts(live_db, other.id, [(26.1, 44.43)] * 2)  # committed with the caller's organization
    org_id, auth = await _replayed_org(live_db, standby_su, reads, "manager", contacts=3)
    assert [r.healthy for r in reads.replicas] == [True], [r.reason for r in reads.replicas]

    async def count() -> int:
        r = await client.post("/api/v1/contacts/count", json={"filter": {}}, headers=auth)
        assert r.status_code == 200, r.text
        return int(r.json()["count"])

    assert await count() == 3  # the organization's own three, not the other's two: RLS on the standby
    async with standby_su.connect() as c:
        await c.execute(text("SELECT pg_wal_replay_pause()"))
    try:
        # A contact written on the primary while the standby replays nothing: the standby's answer (3) proves
        # the read was served there; a read of one's own write stays on the primary and sees it.
        made = await client.post("/api/v1/contacts", json={"first_name": "Fresh", "last_name": "Write"}, headers=auth)
        assert made.status_code == 201, made.text
        assert (await client.get(f"/api/v1/contacts/{made.json()['id']}", headers=auth)).status_code == 200
        assert await count() == 3

        # Further behind than allowed: skipped, and the primary answers with the fresh figure.
        reads.settings.replicas.max_lag_s = 0.0
        await asyncio.sleep(0.05)
        await reads.measure()
        assert [r.healthy for r in reads.replicas] == [False]
        assert "behind" in reads.replicas[0].reason
        assert await count() == 4
    finally:
        reads.settings.replicas.max_lag_s = 30
        async with standby_su.connect() as c:
            await c.execute(text("SELECT pg_wal_replay_resume()"))
    await _replayed(live_db, standby_su)
    await reads.measure()
    assert await count() == 4 and reads.replicas[0].healthy

    # A standby that goes away is skipped at the next check: reads carry on from the primary, no error.
    standby.stop("immediate")
    try:
        await reads.measure()
        assert [r.healthy for r in reads.replicas] == [False]
        assert await count() == 4
        dash = await client.get("/api/v1/dashboard", headers=auth)
        assert dash.status_code == 200, dash.text
    finally:
        with contextlib.suppress(Exception):
            standby.start()
    assert org_id  # the organization the figures were scoped to


@pytest.fixture
async def primary_su(services: ServicesUnderTest, settings: Settings) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(services.migration_url, settings, pool_size=2)
    yield engine
    await engine.dispose()


async def _app_sessions_in_transaction(primary_su: AsyncEngine, role: str, besides: int) -> list[str]:
    """The app role's sessions on the primary inside a transaction right now (but the test's own `besides`):
    what a request holds there while it waits on the standby."""
    async with primary_su.connect() as c:
        rows = await c.execute(
            text(
                "SELECT state || ': ' || query FROM pg_stat_activity WHERE usename = :role AND pid <> :pid "
                "AND state LIKE 'idle in transaction%'"
            ),
            {"role": role, "pid": besides},
        )
        return [str(r[0]) for r in rows]


async def test_an_export_counts_and_streams_its_rows_from_the_standby_holding_no_primary_transaction_meanwhile(
    routed: tuple[object, AsyncClient],
    live_db: AsyncSession,
    standby_su: AsyncEngine,
    primary_su: AsyncEngine,
    services: ServicesUnderTest,
) -> None:
    application, client = routed
    reads: ReadRouter = application.state.reads  # type: ignore[attr-defined]
    _, auth = await _replayed_org(live_db, standby_su, reads, "admin", contacts=3)
    mine = (await live_db.execute(text("SELECT pg_backend_pid()"))).scalar_one()
    # A saved segment made a moment ago: the filter names it, so it is resolved on the primary before the count.
    seg = await client.post("/api/v1/segments", json={"name": "All", "filter": {}}, headers=auth)
    assert seg.status_code == 201, seg.text

    async with contacts_locked(primary_su, standby_su):
        # The export's count waits on the standby (the primary's contacts are locked too, but it is not asked),
        # and the request holds no transaction on the primary while it does (its filter was resolved there).
        body = {"filter": {"segment_id": seg.json()["id"]}}
        made = asyncio.create_task(client.post("/api/v1/exports", json=body, headers=auth))
        await waiting_on_standby(standby_su)
        assert await _app_sessions_in_transaction(primary_su, services.app_role, mine) == []
        assert not made.done()
    r = await made
    assert r.status_code == 201, r.text
    assert r.json()["row_count"] == 3
    async with primary_su.connect() as c:  # written on the primary, with its audit entry, once counted
        audited = await c.execute(
            text("SELECT details->>'rows' FROM audit_log WHERE object_id = :e AND action = 'export.created'"),
            {"e": r.json()["id"]},
        )
        assert [x[0] for x in audited] == ["3"]
    await _replayed(live_db, standby_su)

    async with contacts_locked(primary_su, standby_su):
        download = asyncio.create_task(client.get(r.json()["download_path"], headers=auth))
        await waiting_on_standby(standby_su)
        assert await _app_sessions_in_transaction(primary_su, services.app_role, mine) == []
        assert not download.done()
    got = await download
    assert got.status_code == 200, got.text
    assert len(got.text.strip().splitlines()) == 1 + 3  # the header and the organization's three contacts


async def test_a_lag_tolerant_read_refuses_to_open_inside_the_requests_primary_transaction(
    app: object, live_db: AsyncSession
) -> None:
    """Replica or not: with no standby configured (the rest of the suite) a route that would wait on a standby
    with its primary transaction open fails its tests instead of holding a primary connection in production."""
    maker = app.state.real_sessionmaker  # type: ignore[attr-defined]
    org = await make_org(live_db)
    await live_db.commit()
    async with maker() as request_session, request_session.begin():
        reads = reader(None, maker, org.id, request_session)
        async with reads() as rs:  # begun, but nothing sent yet: it holds nothing on the primary
            assert (await rs.execute(text("SELECT 1"))).scalar() == 1
        await request_session.execute(text("SELECT 1"))
        with pytest.raises(PrimaryTransactionOpen):
            async with reads():
                pass
        await request_session.commit()
        async with reads() as rs:
            assert (await rs.execute(text("SELECT current_setting('app.organization_id')"))).scalar() == str(org.id)


async def test_a_read_routed_to_the_standby_holds_no_transaction_on_the_primary_while_it_runs(
    routed: tuple[object, AsyncClient], live_db: AsyncSession, standby_su: AsyncEngine, primary_su: AsyncEngine
) -> None:
    application, client = routed
    reads: ReadRouter = application.state.reads  # type: ignore[attr-defined]
    # A token not cached yet: authenticated by a statement on the primary.
    _, auth = await _replayed_org(live_db, standby_su, reads, "manager", contacts=2)

    async with contacts_locked(primary_su, standby_su):
        counted = asyncio.create_task(client.post("/api/v1/contacts/count", json={"filter": {}}, headers=auth))
        await waiting_on_standby(standby_su)
        async with primary_su.connect() as c:
            held = (
                await c.execute(
                    text(
                        "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'groundgame' "
                        "AND state LIKE 'idle in transaction%' AND query ILIKE '%gg_authenticate%'"
                    )
                )
            ).scalar()
        assert held == 0, "the primary's auth transaction stays open while the standby reads"
        assert not counted.done()
    r = await counted
    assert r.status_code == 200 and r.json()["count"] == 2, r.text
    # The routed reads whose other dependencies read the primary first (the caller, the action) still answer.
    for path in ("/api/v1/dashboard", "/api/v1/dashboard/leaderboard", "/api/v1/dashboard/zones"):
        got = await client.get(path, headers=auth)
        assert got.status_code == 200, (path, got.text)


async def test_a_standby_reports_its_readers_snapshots_so_the_primarys_vacuum_does_not_cancel_them(
    standby: EmbeddedStandby, primary_su: AsyncEngine, standby_su: AsyncEngine
) -> None:
    """hot_standby_feedback: while a read holds a snapshot on the standby, the primary sees the standby's xmin
    (pg_stat_replication.backend_xmin) and its vacuum keeps the rows that read still sees, instead of the replay
    cancelling it (what an export streaming from the standby under the calling load at 1M met: "terminating
    connection due to conflict with recovery")."""
    deadline = asyncio.get_running_loop().time() + 30
    async with primary_su.connect() as c, standby_su.connect() as reading:
        await reading.execute(text("BEGIN ISOLATION LEVEL REPEATABLE READ"))
        await reading.execute(text("SELECT count(*) FROM contacts"))
        while True:
            xmins = (await c.execute(text("SELECT backend_xmin::text FROM pg_stat_replication"))).scalars().all()
            await c.commit()  # a transaction keeps the activity it first read: each look is its own
            if any(x is not None for x in xmins):
                break
            assert asyncio.get_running_loop().time() < deadline, f"no standby's xmin on the primary: {xmins}"
            await asyncio.sleep(0.5)


async def test_a_standby_only_replica_that_gets_promoted_is_skipped_and_its_pooled_connections_dropped(
    services: ServicesUnderTest, settings: Settings
) -> None:
    """One replica URL per node of a formation asks for a standby (target_session_attrs=standby): when its node
    is promoted by a failover, the connections it pooled while the node was a standby would read from the new
    primary; the next check skips it and drops them, and new ones are refused while it is the primary."""
    if services.pg is None:
        pytest.skip("needs the embedded test cluster (TEST_DATABASE_URL points elsewhere)")
    sb = EmbeddedStandby(
        services.tmp / f"promoted-{uuid.uuid4().hex[:6]}",
        free_port(),
        shared_buffers_mb=128,
        primary_port=services.pg.port,
    )
    await asyncio.to_thread(sb.start)
    try:
        url = sb.app_url(services.app_role, services.app_password) + "?target_session_attrs=standby"
        cfg = settings.model_copy(update={"replicas": ReplicaSettings(urls=[url], max_lag_s=30, check_interval_s=60)})
        router = ReadRouter.from_settings(cfg)
        try:
            await router.measure()
            (replica,) = router.replicas
            # A standby just started may still be replaying what it received (no transaction replayed yet reads
            # as unknown lag): on a loaded machine that takes a few seconds.
            deadline = time.monotonic() + 30
            while not replica.healthy and time.monotonic() < deadline:
                await asyncio.sleep(0.2)
                await router.measure()
            assert replica.healthy, replica.reason
            cmd = [str(PG_BIN / "pg_ctl"), "-D", str(sb.data_dir), "-w", "-t", "60", "promote"]
            await asyncio.to_thread(subprocess.run, _as_pg_user(cmd), check=True, stdout=subprocess.DEVNULL)
            await router.measure()  # on the connection pooled while it was a standby
            assert not replica.healthy and "promoted" in replica.reason
            await router.measure()  # a new connection: refused, it is not a standby
            assert not replica.healthy and "unreachable" in replica.reason
            assert router.pick() is None
        finally:
            await router.close()
    finally:
        sb.stop("immediate")

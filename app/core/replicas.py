"""Read routing: the reads that tolerate a few seconds of lag (dashboards, the contacts table and count, search,
map tiles) go to a hot standby when one is configured, healthy and close enough; everything else, and every
read of one's own writes, stays on the primary.

Each standby is measured every `check_interval_s` on a connection of its own: it must answer, be streaming
from its primary (a standby cut off from it replays nothing and would fall silently behind) and be at most
`max_lag_s` behind. Lag is the age of the last replayed transaction (`pg_last_xact_replay_timestamp()`), and
zero when everything received is replayed (an idle primary sends nothing, which is not lag). A request picks a
healthy standby round-robin at its start and keeps it for its one read-only transaction; when none is healthy it
reads from the primary. A promoted standby (after a failover) is no longer in recovery and reads from it are
simply current, unless its URL asks for a standby only (`target_session_attrs=standby`, one URL per node of a
pg_auto_failover formation): then it is skipped as the primary it now is.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.config import Settings
from app.core.db import make_engine, make_sessionmaker, set_tenant

log = logging.getLogger("groundgame.replicas")

HEALTH_SQL = text("""
    SELECT pg_is_in_recovery() AS standby,
           EXISTS (SELECT 1 FROM pg_stat_wal_receiver) AS streaming,  -- its pid is visible to any role
           CASE WHEN NOT pg_is_in_recovery() THEN 0
                WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
                ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 1e9)
           END::float8 AS lag_s
""")


@dataclass
class Replica:
    name: str  # its position and port, never the password
    engine: AsyncEngine
    maker: async_sessionmaker[AsyncSession]
    healthy: bool = False
    lag_s: float | None = None
    reason: str = "not measured yet"
    standby_only: bool = False  # its URL asks for a standby (target_session_attrs=standby): a promoted node is not


@dataclass
class ReadRouter:
    settings: Settings
    replicas: list[Replica] = field(default_factory=list)
    _task: asyncio.Task[None] | None = None
    _turn: itertools.count[int] = field(default_factory=itertools.count)

    @classmethod
    def from_settings(cls, settings: Settings) -> ReadRouter:
        router = cls(settings)
        for i, url in enumerate(settings.replicas.urls, 1):
            u = make_url(url)
            engine = make_engine(url, settings, pool_size=settings.replicas.pool_size)
            # Named by position and port (a dotted address would be masked by the log's phone scrubber).
            only = u.query.get("target_session_attrs") == "standby"
            router.replicas.append(
                Replica(f"#{i} (port {u.port})", engine, make_sessionmaker(engine), standby_only=only)
            )
        return router

    async def start(self) -> None:
        if self.replicas:
            await self.measure()
            self._task = asyncio.create_task(self._watch())

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for r in self.replicas:
            await r.engine.dispose()

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(self.settings.replicas.check_interval_s)
            await self.measure()

    async def measure(self) -> None:
        await asyncio.gather(*(self._measure(r) for r in self.replicas))

    async def _measure(self, r: Replica) -> None:
        max_lag = self.settings.replicas.max_lag_s
        try:
            async with asyncio.timeout(max(1.0, self.settings.replicas.check_interval_s)):
                async with r.engine.connect() as conn:
                    row = (await conn.execute(HEALTH_SQL)).one()
        except Exception as e:  # down, refusing, too slow: skipped until it answers again
            healthy, r.lag_s, reason = False, None, f"unreachable: {type(e).__name__}"
        else:
            r.lag_s = float(row.lag_s)
            if r.standby_only and not row.standby:
                # Promoted (a failover): its pooled connections, made while it was a standby, would keep reading
                # from what is now the primary; dropped, so the next ones are refused until it is a standby again.
                healthy, reason = False, "now a primary (promoted)"
                await r.engine.dispose()
            elif row.standby and not row.streaming:
                healthy, reason = False, "not streaming from its primary"
            elif r.lag_s > max_lag:
                healthy, reason = False, f"{r.lag_s:.1f} s behind (max {max_lag:g} s)"
            else:
                healthy, reason = True, "ok"
        if healthy != r.healthy:
            log.warning("read replica %s %s: %s", r.name, "back in use" if healthy else "skipped", reason)
        r.healthy, r.reason = healthy, reason

    def pick(self) -> Replica | None:
        healthy = [r for r in self.replicas if r.healthy]
        return healthy[next(self._turn) % len(healthy)] if healthy else None


@contextlib.asynccontextmanager
async def replica_session(replica: Replica, organization_id: uuid.UUID) -> AsyncIterator[AsyncSession]:
    """One read-only transaction on a standby, scoped to the organization like any request (row-level security
    reads the same setting there)."""
    async with replica.maker() as session, session.begin():
        await session.execute(text("SET TRANSACTION READ ONLY"))
        await set_tenant(session, organization_id)
        yield session


Reader = Callable[[], AbstractAsyncContextManager[AsyncSession]]
Writer = Callable[[], AbstractAsyncContextManager[AsyncSession]]


class PrimaryTransactionOpen(RuntimeError):
    """A lag-tolerant read opened while the request's own primary transaction is open: the request would hold a
    primary connection (idle in transaction) for as long as the standby's read runs, and mix the two servers in one
    unit of work. End it first (`await session.commit()`: what it read stays valid) and write afterwards in a
    transaction of its own (`Writer`)."""


def holds_primary_transaction(session: AsyncSession) -> bool:
    """The session is inside a transaction that has taken a connection (a begun one that has sent nothing yet
    holds nothing on the server)."""
    tx = session.sync_session.get_transaction()
    return tx is not None and bool(tx._connections)


def reader(
    router: ReadRouter | None,
    primary: async_sessionmaker[AsyncSession],
    organization_id: uuid.UUID,
    request_session: AsyncSession | None = None,
) -> Reader:
    """For lag-tolerant reads done in a transaction of their own (an export's count, its rows streamed after the
    response has started): each use opens one read-only transaction on a healthy standby, or on the primary
    when none is, scoped to the organization. It refuses to open while `request_session` (the request's own
    primary session) still holds its transaction, replica or not, so a request never waits on a standby with a
    primary transaction open, and the test suite (with no standby) catches a route that would."""

    @contextlib.asynccontextmanager
    async def open_read() -> AsyncIterator[AsyncSession]:
        if request_session is not None and holds_primary_transaction(request_session):
            raise PrimaryTransactionOpen(
                "a lag-tolerant read was opened inside the request's primary transaction: end it first"
            )
        replica = router.pick() if router is not None else None
        if replica is not None:
            async with replica_session(replica, organization_id) as rs:
                yield rs
            return
        async with primary() as session, session.begin():
            await session.execute(text("SET TRANSACTION READ ONLY"))
            await set_tenant(session, organization_id)
            yield session

    return open_read


def writer(primary: async_sessionmaker[AsyncSession], organization_id: uuid.UUID) -> Writer:
    """The writes of a request that has already ended its own primary transaction to read on a standby (an
    export written once its rows are counted): one transaction on the primary, scoped to the organization,
    committed when the block ends, rolled back if it raises."""

    @contextlib.asynccontextmanager
    async def open_write() -> AsyncIterator[AsyncSession]:
        async with primary() as session, session.begin():
            await set_tenant(session, organization_id)
            yield session

    return open_write

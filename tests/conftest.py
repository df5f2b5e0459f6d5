"""Test session: a throwaway PostgreSQL+PostGIS and Redis (unless TEST_DATABASE_URL / TEST_REDIS_URL are set),
migrated once with Alembic; each test runs in a transaction rolled back at the end."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from httpx import ASGITransport, AsyncClient
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from app.config import ROOT, Settings, get_settings
from app.core.db import make_engine
from app.core.embedded import EmbeddedPostgres, EmbeddedRedis, free_port
from app.core.migrate import migrate_and_grant

pytest_plugins = ["tests.fixtures.factories"]


class ServicesUnderTest:
    def __init__(self) -> None:
        self.tmp = ROOT / ".data" / f"test-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.pg: EmbeddedPostgres | None = None
        self.redis: EmbeddedRedis | None = None
        self.app_role = "groundgame_app"
        self.app_password = "groundgame_app"
        if os.environ.get("TEST_DATABASE_URL"):
            self.app_url = os.environ["TEST_DATABASE_URL"]
            self.migration_url = os.environ.get("TEST_MIGRATION_DATABASE_URL", self.app_url)
        else:
            self.pg = EmbeddedPostgres(self.tmp / "pg", free_port(), shared_buffers_mb=256)
            self.pg.start()
            self.app_url = self.pg.app_url(self.app_role, self.app_password)
            self.migration_url = self.pg.superuser_url
        if os.environ.get("TEST_REDIS_URL"):
            self.redis_url = os.environ["TEST_REDIS_URL"]
        else:
            self.redis = EmbeddedRedis(self.tmp / "redis", free_port())
            self.redis.start()
            self.redis_url = self.redis.url

    def stop(self) -> None:
        if self.redis:
            self.redis.stop()
        if self.pg:
            self.pg.stop("immediate")
        shutil.rmtree(self.tmp, ignore_errors=True)


@pytest.fixture(scope="session")
def services() -> Iterator[ServicesUnderTest]:
    svc = ServicesUnderTest()
    try:
        migrate_and_grant(
            svc.migration_url, svc.app_role if svc.app_url != svc.migration_url else None, svc.app_password
        )
        os.environ.update(
            {
                "DATABASE_URL": svc.app_url,
                "MIGRATION_DATABASE_URL": svc.migration_url,
                "REDIS_URL": svc.redis_url,
                "DATA_DIR": str(svc.tmp),
                # Tests change tokens and roles in transactions that never commit (no NOTIFY): no auth cache,
                # except where a test turns it on (tests/auth/test_principal_cache.py).
                "AUTH__PRINCIPAL_CACHE_S": os.environ.get("AUTH__PRINCIPAL_CACHE_S", "0"),
            }
        )
        get_settings.cache_clear()
        yield svc
    finally:
        svc.stop()


@pytest.fixture(scope="session")
def settings(services: ServicesUnderTest) -> Settings:
    s = get_settings()
    # No SMS quiet window by default (21:00-09:00 in the recipient's time would hold every campaign text whenever
    # the suite runs in the evening); the tests about quiet hours set their own (tests/messaging/test_quiet_hours).
    s.messaging.quiet_hours_start = s.messaging.quiet_hours_end
    return s


@pytest.fixture(scope="session")
async def app(settings: Settings) -> AsyncIterator[object]:
    from app.main import create_app

    application = create_app(settings)
    async with application.router.lifespan_context(application):
        application.state.real_sessionmaker = application.state.sessionmaker
        yield application


@pytest.fixture(scope="session")
def engine(app: object) -> AsyncEngine:
    return app.state.engine  # type: ignore[attr-defined, no-any-return]


@pytest.fixture
async def connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    async with engine.connect() as conn:
        trans = await conn.begin()
        yield conn
        if trans.is_active:
            await trans.rollback()


@pytest.fixture
async def db(app: object, connection: AsyncConnection) -> AsyncIterator[AsyncSession]:
    """The test's session; the app's request sessions join the same rolled-back transaction."""
    maker = async_sessionmaker(
        bind=connection, expire_on_commit=False, autoflush=False, join_transaction_mode="create_savepoint"
    )
    app.state.sessionmaker = maker  # type: ignore[attr-defined]
    async with maker() as session:
        yield session
    app.state.sessionmaker = app.state.real_sessionmaker  # type: ignore[attr-defined]


@pytest.fixture(autouse=True)
async def _fresh_redis(services: ServicesUnderTest) -> None:
    r = Redis.from_url(services.redis_url)
    await r.flushdb()
    await r.aclose()


@pytest.fixture
async def client(app: object, db: AsyncSession) -> AsyncIterator[AsyncClient]:
    transport = ASGITransport(app=app)  # type: ignore[arg-type]
    async with AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


@pytest.fixture(scope="session")
def owner_engine(services: ServicesUnderTest) -> AsyncEngine:
    """Superuser/owner connection: bypasses RLS. Only for tests that inspect the database as a whole."""
    return make_engine(services.migration_url, get_settings(), pool_size=2)


@pytest.fixture
async def cleanup(owner_engine: AsyncEngine) -> AsyncIterator[list[uuid.UUID]]:
    """Organizations a live test committed, deleted (with everything they own) at the end."""
    org_ids: list[uuid.UUID] = []
    yield org_ids
    async with owner_engine.begin() as conn:
        for org_id in org_ids:
            await conn.execute(text("DELETE FROM organizations WHERE id = :o"), {"o": org_id})


def repo_root() -> Path:
    return ROOT


@pytest.fixture
async def live_client(app: object) -> AsyncIterator[AsyncClient]:
    """A client whose requests really commit (for jobs and concurrency); use fresh organizations."""
    app.state.sessionmaker = app.state.real_sessionmaker  # type: ignore[attr-defined]
    transport = ASGITransport(app=app)  # type: ignore[arg-type]
    async with AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


@pytest.fixture
async def live_db(app: object) -> AsyncIterator[AsyncSession]:
    """A session that commits (factories for live tests); commit explicitly."""
    async with app.state.real_sessionmaker() as session:  # type: ignore[attr-defined]
        yield session


@pytest.fixture(scope="session")
async def arq_worker(app: object, services: ServicesUnderTest) -> AsyncIterator[object]:
    """A real arq worker on the test Redis, running the real job functions in this process."""
    import asyncio
    import contextlib

    from arq.connections import RedisSettings
    from arq.worker import Worker

    from app.worker import FUNCTIONS, shutdown, startup

    worker = Worker(
        functions=FUNCTIONS,
        redis_settings=RedisSettings.from_dsn(services.redis_url),
        on_startup=startup,
        on_shutdown=shutdown,
        poll_delay=0.05,
        handle_signals=False,
        max_jobs=4,
        keep_result=60,
    )
    task = asyncio.create_task(worker.async_run())
    yield worker
    # The session's last test may have enqueued a job (a push, a webhook): let what is in flight finish, then stop;
    # a job caught by the stop itself is cancelled, which is the end of the session, not a failure.
    pending = [t for t in worker.tasks.values() if not t.done()]
    if pending:
        await asyncio.wait(pending, timeout=10)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await worker.close()

"""A web worker opens some of its database connections when it starts, not in line with its first requests."""

from __future__ import annotations

from app.config import Settings
from app.core.db import make_engine, warm_pool


async def test_a_worker_starts_with_its_warm_connections_open_and_kept(settings: Settings) -> None:
    engine = make_engine(settings.database_url, settings, pool_size=6)
    try:
        await warm_pool(engine, 4)
        pool = engine.pool
        assert (pool.checkedin(), pool.checkedout()) == (4, 0)  # type: ignore[attr-defined]
        await warm_pool(engine, 50)  # never more than the pool keeps
        assert pool.checkedin() == 6  # type: ignore[attr-defined]
    finally:
        await engine.dispose()


async def test_the_app_opens_db_pool_warm_connections_at_startup(app: object, settings: Settings) -> None:
    pool = app.state.engine.pool  # type: ignore[attr-defined]
    assert pool.checkedin() + pool.checkedout() >= settings.db_pool_warm

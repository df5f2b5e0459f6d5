"""Fault injection (R3, R4): PostgreSQL killed mid-load and restarted; Redis down while volunteers call."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator

import pytest
from httpx import ASGITransport, AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.core.embedded import EmbeddedPostgres, free_port
from app.main import create_app
from tests.calling.conftest import make_bank


@pytest.fixture
async def app_without_redis(settings: Settings) -> AsyncIterator[object]:
    dead = settings.model_copy(update={"redis_url": f"redis://127.0.0.1:{free_port()}/0"})
    application = create_app(dead)
    async with application.router.lifespan_context(application):
        yield application


async def test_calling_keeps_working_with_redis_down(
    app_without_redis: object, live_client: AsyncClient, live_db: AsyncSession
) -> None:
    bank = await make_bank(live_client, live_db, contacts=3, volunteers=1)
    v = bank.volunteers[0]
    async with AsyncClient(transport=ASGITransport(app=app_without_redis), base_url="http://t") as c:  # type: ignore[arg-type]
        ready = await c.get("/readyz")
        assert ready.status_code == 503
        assert {"field": "redis", "message": "unavailable"} in ready.json()["error"]["details"]
        for _ in range(3):
            nxt = await c.post(f"/api/v1/actions/{bank.action_id}/calls/next", headers=v.headers)
            assert nxt.status_code == 200, nxt.text
            start = await c.post(f"/api/v1/calls/{nxt.json()['id']}/start", headers=v.headers)
            assert start.status_code == 200, start.text
            rep = await c.post(
                f"/api/v1/calls/{nxt.json()['id']}/report",
                headers=v.headers,
                json={"id": str(uuid.uuid4()), "outcome": "refused"},
            )
            assert rep.status_code == 200, rep.text


async def test_postgres_killed_gives_503_not_hangs_and_recovers_by_itself(
    own_cluster: EmbeddedPostgres, settings: Settings
) -> None:
    pg = own_cluster
    s = settings.model_copy(update={"database_url": pg.app_url("groundgame_app", "groundgame_app")})
    application = create_app(s)
    async with (
        application.router.lifespan_context(application),
        AsyncClient(transport=ASGITransport(app=application), base_url="http://t") as c,
    ):
        assert (await c.post("/api/v1/auth/login", json={"email": "x@example.org", "password": "y"})).status_code == 401
        pg.stop("immediate")  # a crash: no checkpoint, clients cut off (recovery runs at the next start)
        t0 = time.monotonic()
        r = await c.post("/api/v1/auth/login", json={"email": "x@example.org", "password": "y"})
        assert r.status_code == 503, r.text
        assert r.json()["error"]["code"] == "service_unavailable"
        assert time.monotonic() - t0 < 10, "a request hung while the database was down"
        assert (await c.get("/readyz")).status_code == 503
        await asyncio.to_thread(pg.start)
        deadline = time.monotonic() + 15
        ok = False
        while time.monotonic() < deadline:
            r = await c.post("/api/v1/auth/login", json={"email": "x@example.org", "password": "y"})
            if r.status_code == 401:
                ok = True
                break
            await asyncio.sleep(0.5)
        assert ok, "not back to normal within 15 s"
        assert (await c.get("/readyz")).json()["checks"]["database"] == "ok"
    pg.stop("immediate")


async def test_import_queued_while_redis_was_down_runs_once_it_is_back(
    app_without_redis: object, live_db: AsyncSession, arq_worker: object, owner_engine: object
) -> None:
    """The upload commits even though the enqueue fails; the worker's sweeper queues it again later."""
    import json

    from sqlalchemy import text

    from app.worker import requeue_stale_imports
    from tests.fixtures.factories import make_actor, make_org

    org = await make_org(live_db)
    m = await make_actor(live_db, org, "manager")
    await live_db.commit()
    csv_bytes = b"first_name,mobile\nAna,0722111222\nIon,0733111222\n"
    async with AsyncClient(transport=ASGITransport(app=app_without_redis), base_url="http://t") as c:  # type: ignore[arg-type]
        r = await c.post(
            "/api/v1/imports",
            headers=m.headers,
            files={"file": ("a.csv", csv_bytes)},
            data={"mapping": json.dumps({"first_name": "first_name", "mobile": "mobile"})},
        )
        assert r.status_code == 202, r.text
    iid = r.json()["id"]
    async with owner_engine.begin() as conn:  # type: ignore[attr-defined]
        status = (await conn.execute(text("SELECT status FROM imports WHERE id = :i"), {"i": iid})).scalar()
        assert status == "queued"
        # as if five minutes had passed with nobody running it
        await conn.execute(
            text("UPDATE imports SET created_at = now() - interval '6 minutes' WHERE id = :i"), {"i": iid}
        )
    from arq import create_pool
    from arq.connections import RedisSettings

    from app.config import get_settings

    redis = await create_pool(RedisSettings.from_dsn(get_settings().redis_url))
    from app.core.db import make_engine

    engine = make_engine(get_settings().database_url, get_settings())  # the worker connects as the app role
    try:
        assert await requeue_stale_imports({"engine": engine, "redis": redis}) >= 1
    finally:
        await engine.dispose()
        await redis.aclose()
    for _ in range(100):
        async with owner_engine.begin() as conn:  # type: ignore[attr-defined]
            status = (await conn.execute(text("SELECT status FROM imports WHERE id = :i"), {"i": iid})).scalar()
        if status == "done":
            break
        await asyncio.sleep(0.1)
    assert status == "done"
    async with owner_engine.begin() as conn:  # type: ignore[attr-defined]
        n = (
            await conn.execute(text("SELECT count(*) FROM contacts WHERE organization_id = :o"), {"o": org.id})
        ).scalar()
    assert n == 2

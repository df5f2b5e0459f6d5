"""Throttling per provider holds across workers: two runs sending at once (each with its own Redis connection,
as two worker processes have) keep the provider's rate together, not each."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from httpx import AsyncClient
from redis.asyncio import Redis
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.config import Settings
from app.core.db import set_tenant
from app.messaging.delivery import run_campaign
from app.models import Campaign
from tests.conftest import ServicesUnderTest
from tests.messaging.conftest import SmsProviderServer, add_contact, live_manager
from tests.messaging.test_campaigns import _campaign, _template

RATE = 20.0
EACH = 12


async def test_two_senders_together_keep_the_providers_rate(
    live_client: AsyncClient,
    live_db: AsyncSession,
    sms_server: SmsProviderServer,
    engine: AsyncEngine,
    settings: Settings,
    services: ServicesUnderTest,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(settings.messaging, "sms_per_second", RATE)
    monkeypatch.setattr(settings.messaging, "batch_size", 4)
    m = await live_manager(live_db)
    org = m.org.id
    for i in range(2 * EACH):
        await add_contact(live_db, org, mobile_e164=f"+4072240{i:04d}", consent_sms="granted", tags=[f"t{i % 2}"])
    await live_db.commit()
    tid = await _template(live_client, m, channel="sms", body_text="Salut")
    cids = [uuid.UUID(await _campaign(live_client, m, tid, {"tags_any": [f"t{k}"]})) for k in (0, 1)]
    # Started without the send endpoint (no job on the test worker's queue): the two runs below are the senders.
    await set_tenant(live_db, org)
    await live_db.execute(update(Campaign).where(Campaign.id.in_(cids)).values(status="sending", run=1))
    await live_db.commit()
    secret = settings.secret_key.get_secret_value()
    workers = [Redis.from_url(services.redis_url), Redis.from_url(services.redis_url)]
    try:
        results = await asyncio.gather(
            *(
                run_campaign(engine, settings.messaging, org, cid, secret=secret, redis=r)
                for cid, r in zip(cids, workers, strict=True)
            )
        )
    finally:
        for r in workers:
            await r.aclose()
    # "busy": the test worker's sweeper took that campaign first; it sends through the same shared pace.
    assert set(results) <= {"done", "busy"}, results
    for _ in range(100):
        if len(sms_server.received) >= 2 * EACH:
            break
        await asyncio.sleep(0.1)
    assert len(sms_server.received) == 2 * EACH
    t = sorted(sms_server.times)
    # 24 sends at 20 a second together: the last is at least 23 intervals after the first (each run alone at
    # 20/s would have taken half that), and no second holds more than 20 (+1 for the window's two edges).
    assert t[-1] - t[0] >= (2 * EACH - 1) / RATE * 0.95, t[-1] - t[0]
    busiest = max(sum(1 for x in t if s <= x < s + 1.0) for s in t)
    assert busiest <= RATE + 1, busiest

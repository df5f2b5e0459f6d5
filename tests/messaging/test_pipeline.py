"""A campaign claims its next batch while one is being sent: a pause or a cancel meanwhile gives that batch back
(queued again, or cancelled), so nothing is left `sending`, nothing is sent after a cancel, and resuming sends
the rest once."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.core.db import set_tenant
from app.models import CampaignMessage
from tests.messaging.conftest import SmsProviderServer, add_contact, live_manager
from tests.messaging.test_campaigns import API, _campaign, _template, _until_done

pytestmark = pytest.mark.usefixtures("arq_worker")


async def _statuses(live_db: AsyncSession, org: uuid.UUID, cid: str) -> dict[str, str]:
    await live_db.rollback()
    await set_tenant(live_db, org)
    rows = await live_db.execute(
        select(CampaignMessage.address, CampaignMessage.status).where(CampaignMessage.campaign_id == uuid.UUID(cid))
    )
    return dict(rows.tuples().all())


async def _settled(live_db: AsyncSession, org: uuid.UUID, cid: str) -> dict[str, str]:
    """The run has ended: no message is `sending` any more (the one in flight was recorded)."""
    for _ in range(100):
        rows = await _statuses(live_db, org, cid)
        if "sending" not in rows.values():
            await asyncio.sleep(0.3)  # a batch claimed ahead would show now
            rows = await _statuses(live_db, org, cid)
            if "sending" not in rows.values():
                return rows
        await asyncio.sleep(0.05)
    return rows


@pytest.mark.parametrize("stop", ["pause", "cancel"])
async def test_a_batch_claimed_ahead_is_given_back_when_the_campaign_stops(
    live_client: AsyncClient,
    live_db: AsyncSession,
    sms_server: SmsProviderServer,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    stop: str,
) -> None:
    monkeypatch.setattr(settings.messaging, "batch_size", 1)
    sms_server.delay_s = 0.3
    m = await live_manager(live_db)
    numbers = [f"+4072250000{i}" for i in range(5)]
    for n in numbers:
        await add_contact(live_db, m.org.id, mobile_e164=n, consent_sms="granted")
    await live_db.commit()
    tid = await _template(live_client, m, channel="sms", body_text="Salut")
    cid = await _campaign(live_client, m, tid, {})
    await live_client.post(f"{API}/campaigns/{cid}/send", json={}, headers=m.headers)
    for _ in range(200):
        if sms_server.times:  # the first batch is at the provider; the next one is claimed ahead
            break
        await asyncio.sleep(0.01)
    r = await live_client.post(f"{API}/campaigns/{cid}/{stop}", headers=m.headers)
    assert r.status_code == 200, r.text
    rows = await _settled(live_db, m.org.id, cid)
    sent = sorted(a for a, s in rows.items() if s == "sent")
    assert sent and len(sent) < len(numbers)
    assert sms_server.to() == sent  # nothing went out after the stop but what was already in flight
    rest = "queued" if stop == "pause" else "cancelled"
    assert {s for a, s in rows.items() if s != "sent"} == {rest}
    if stop == "pause":
        attempts = await live_db.scalars(
            select(CampaignMessage.attempts).where(
                CampaignMessage.campaign_id == uuid.UUID(cid), CampaignMessage.status == "queued"
            )
        )
        assert set(attempts) == {0}  # a batch given back was not an attempt
        await live_client.post(f"{API}/campaigns/{cid}/resume", headers=m.headers)
        done = await _until_done(live_client, m, cid)
        assert done["status"] == "done" and done["counts"]["sent"] == len(numbers)
        assert sms_server.to() == sorted(numbers)  # each once

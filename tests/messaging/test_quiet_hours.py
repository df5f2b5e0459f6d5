"""Quiet hours, with a controlled clock: a scheduled SMS due at night is held until the morning in the
recipient's time zone (their country's, else the organization's), then sent once."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, time

import pytest
from httpx import AsyncClient
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.config import Settings
from app.core.db import set_tenant
from app.messaging.delivery import run_campaign
from app.models import CampaignMessage, Organization
from tests.messaging.conftest import SmsProviderServer, add_contact, live_manager
from tests.messaging.test_campaigns import API, _campaign, _template


async def test_quiet_hours_hold_a_scheduled_sms_until_morning(
    live_client: AsyncClient,
    live_db: AsyncSession,
    sms_server: SmsProviderServer,
    engine: AsyncEngine,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(settings.messaging, "batch_size", 1)  # holding goes batch by batch, in passes
    monkeypatch.setattr(settings.messaging, "quiet_hours_start", time(21, 0))  # the default window (the test
    monkeypatch.setattr(settings.messaging, "quiet_hours_end", time(9, 0))  # session runs with none)
    m = await live_manager(live_db)
    org_id = m.org.id
    await live_db.execute(update(Organization).where(Organization.id == org_id).values(timezone="Europe/Bucharest"))
    await add_contact(live_db, org_id, mobile_e164="+40722200001", consent_sms="granted")  # the organization's zone
    await add_contact(live_db, org_id, mobile_e164="+33612345678", consent_sms="granted", country="FR")  # Paris
    await live_db.commit()
    tid = await _template(live_client, m, channel="sms", body_text="Mâine la 10")
    cid = await _campaign(live_client, m, tid, {})
    # Scheduled for 22:30 in Bucharest (20:30 UTC; 21:30 in Paris): inside quiet hours (21:00-09:00) for both.
    r = await live_client.post(
        f"{API}/campaigns/{cid}/send", json={"scheduled_at": "2031-03-10T20:30:00Z"}, headers=m.headers
    )
    assert r.json()["status"] == "scheduled"
    secret = settings.secret_key.get_secret_value()
    campaign = uuid.UUID(cid)

    async def run_at(iso: str) -> str:
        at = datetime.fromisoformat(iso).replace(tzinfo=UTC)
        for _ in range(100):  # "busy": the worker's own run (real clock: "later") holds the campaign a moment
            result = await run_campaign(engine, settings.messaging, org_id, campaign, secret=secret, clock=lambda: at)
            if result != "busy":
                return result
            await asyncio.sleep(0.05)
        return result

    assert await run_at("2031-03-10T20:00:00") == "later"  # before its time
    assert await run_at("2031-03-10T20:30:00") == "held"
    assert sms_server.received == []
    await set_tenant(live_db, org_id)
    held = dict(
        (await live_db.execute(select(CampaignMessage.address, CampaignMessage.next_attempt_at))).tuples().all()
    )
    assert held == {
        "+40722200001": datetime(2031, 3, 11, 7, 0, tzinfo=UTC),  # 09:00 in Bucharest
        "+33612345678": datetime(2031, 3, 11, 8, 0, tzinfo=UTC),  # 09:00 in Paris
    }
    await live_db.rollback()

    assert await run_at("2031-03-11T03:00:00") == "held"  # still night
    assert await run_at("2031-03-11T07:01:00") == "held"  # morning in Bucharest, not yet in Paris
    assert sms_server.to() == ["+40722200001"]
    assert await run_at("2031-03-11T08:01:00") == "done"
    assert sms_server.to() == ["+33612345678", "+40722200001"]


async def test_a_personal_sms_is_sent_at_once_even_in_quiet_hours(
    live_client: AsyncClient,
    live_db: AsyncSession,
    sms_server: SmsProviderServer,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    arq_worker: object,
) -> None:
    """Quiet hours are for automated sends: a staff member's one-off text goes now (app/messaging/direct.py)."""
    monkeypatch.setattr(settings.messaging, "quiet_hours_start", time(0, 0))
    monkeypatch.setattr(settings.messaging, "quiet_hours_end", time(23, 59, 59))  # quiet all day long
    m = await live_manager(live_db)
    c = await add_contact(live_db, m.org.id, mobile_e164="+40722200009", consent_sms="granted")
    await live_db.commit()
    r = await live_client.post(
        f"{API}/contacts/{c.id}/messages", json={"channel": "sms", "body": "Ne vedem mâine"}, headers=m.headers
    )
    assert r.status_code == 201, r.text
    for _ in range(100):
        if sms_server.received:
            break
        await asyncio.sleep(0.1)
    assert [(x["To"], x["Body"]) for x in sms_server.received] == [("+40722200009", "Ne vedem mâine")]

"""Email events from the mail system: a bounce marks the message and the address (later campaigns skip it);
an open marks the message opened. Authenticated by the events secret."""

from __future__ import annotations

import pytest
from httpx import AsyncClient
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.core.db import set_tenant
from app.models import Contact
from tests.messaging.conftest import Inbox, add_contact, live_manager
from tests.messaging.test_campaigns import API, _campaign, _messages, _template, _until_done

pytestmark = pytest.mark.usefixtures("arq_worker")
SECRET = "events-secret-for-tests"


@pytest.fixture
def events_secret(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setattr(settings.messaging, "email_events_secret", SecretStr(SECRET))
    return SECRET


async def test_a_bounce_marks_the_message_and_the_address_and_the_next_campaign_skips_it(
    live_client: AsyncClient, live_db: AsyncSession, smtp: Inbox, events_secret: str
) -> None:
    m = await live_manager(live_db)
    org_id = m.org.id
    gone = await add_contact(live_db, org_id, email="gone@example.org", consent_email="granted")
    await add_contact(live_db, org_id, email="here@example.org", consent_email="granted")
    await live_db.commit()
    gone_id = gone.id
    tid = await _template(live_client, m, channel="email", subject="Hi", body_text="x")
    first = await _campaign(live_client, m, tid, {})
    await live_client.post(f"{API}/campaigns/{first}/send", json={}, headers=m.headers)
    assert (await _until_done(live_client, m, first))["status"] == "done"
    bounced_id = str(smtp.for_address("gone@example.org")["Message-ID"])
    opened_id = str(smtp.for_address("here@example.org")["Message-ID"])

    event = {"message_id": bounced_id, "event": "bounced", "reason": "550 5.1.1 user unknown"}
    r = await live_client.post(f"{API}/email/events", json=event)
    assert r.status_code == 401
    r = await live_client.post(f"{API}/email/events", json=event, headers={"Authorization": "Bearer wrong"})
    assert r.status_code == 401
    auth = {"Authorization": f"Bearer {events_secret}"}
    r = await live_client.post(f"{API}/email/events", json=event, headers=auth)
    assert r.status_code == 200 and r.json() == {"matched": True, "status": "bounced"}
    r = await live_client.post(f"{API}/email/events", json={"message_id": opened_id, "event": "opened"}, headers=auth)
    assert r.json() == {"matched": True, "status": "opened"}
    unknown = {"message_id": "<nobody@example.org>", "event": "bounced"}
    assert (await live_client.post(f"{API}/email/events", json=unknown, headers=auth)).json()["matched"] is False

    rows = await _messages(live_db, m, first)
    assert rows["gone@example.org"].status == "bounced" and "user unknown" in (rows["gone@example.org"].error or "")
    assert rows["here@example.org"].status == "opened"
    assert await live_db.scalar(select(Contact.email_invalid).where(Contact.id == gone_id)) is True
    counts = (await live_client.get(f"{API}/campaigns/{first}", headers=m.headers)).json()["counts"]
    assert counts["bounced"] == 1 and counts["opened"] == 1

    smtp.messages.clear()
    second = await _campaign(live_client, m, tid, {})
    await live_client.post(f"{API}/campaigns/{second}/send", json={}, headers=m.headers)
    assert (await _until_done(live_client, m, second))["status"] == "done"
    assert smtp.to() == ["here@example.org"]
    await live_db.rollback()
    await set_tenant(live_db, org_id)

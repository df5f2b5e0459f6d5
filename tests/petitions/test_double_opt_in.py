"""Double opt-in: a signature waits for its email link (sent through the messaging SMTP sender); only the click
makes the contact, the consent and the count."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from tests.fixtures.factories import Actor, make_actor, make_org
from tests.messaging.conftest import Inbox, smtp  # noqa: F401  (the real SMTP server fixture)
from tests.petitions.conftest import consent_rows, contacts_by_email, count_of, form, open_petition, signatures


@pytest.fixture
async def admin(live_db: AsyncSession) -> Actor:
    org = await make_org(live_db)
    a = await make_actor(live_db, org, "admin")
    await live_db.commit()
    return a


async def test_a_signature_consents_and_counts_only_once_its_email_link_is_followed(
    live_client: AsyncClient,
    live_db: AsyncSession,
    admin: Actor,
    smtp: Inbox,  # noqa: F811
    arq_worker: object,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(settings.messaging, "public_url", "http://test")
    org = admin.org.id
    p = await open_petition(live_client, admin, double_opt_in=True)
    body: dict[str, Any] = form(p)
    res = await live_client.post(f"/p/{p['slug']}/sign.json", json=body)
    assert res.status_code == 202 and "email" in res.json()["message"]
    [sig] = await signatures(live_db, org, p["id"])
    assert sig.status == "pending" and sig.contact_id is None
    assert await contacts_by_email(live_db, org, "ioana@example.org") == []
    assert await count_of(live_db, org, p["id"]) == 0
    await live_db.rollback()

    for _ in range(200):
        if smtp.messages:
            break
        await asyncio.sleep(0.05)
    msg = smtp.for_address("ioana@example.org")
    assert "Keep the clinic open" in str(msg["Subject"])
    link = re.search(r"http://test(/p/confirm/\S+)", msg.get_content())
    assert link, msg.get_content()
    scanned = await live_client.get(link.group(1))  # a mail scanner follows the link: nothing happens
    assert scanned.status_code == 200 and "Confirm my signature" in scanned.text
    assert await contacts_by_email(live_db, org, "ioana@example.org") == []
    await live_db.rollback()
    page = await live_client.post(link.group(1))
    assert page.status_code == 200 and "Thank you, share it!" in page.text
    [c] = await contacts_by_email(live_db, org, "ioana@example.org")
    assert c.consent_email == "granted"
    [row] = await consent_rows(live_db, org, c.id)
    assert '"confirmed_by_email_at": "' in (row.proof or "")
    assert await count_of(live_db, org, p["id"]) == 1
    await live_db.rollback()
    again = await live_client.post(link.group(1))
    assert again.status_code == 200 and "already confirmed" in again.text
    assert await count_of(live_db, org, p["id"]) == 1
    await live_db.rollback()
    assert (await live_client.post("/p/confirm/not-a-token")).status_code == 404

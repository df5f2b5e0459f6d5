"""What one signature writes, whichever way it takes (a new signer in one statement, a known one through the
contact it fills in): the contact, its consent log row, the petition's tags (in the organization's tag list),
the timeline event, the signature, the counter, and the events integrators subscribe to, each exactly once."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import Counter
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.core.db import set_tenant
from app.models import ContactEvent, Tag, WebhookOutbox
from tests.fixtures.factories import Actor, make_actor, make_org
from tests.petitions.conftest import consent_rows, contacts_by_email, count_of, form, open_petition, signatures

EVENTS = ["contact.created", "contact.updated", "consent.changed", "signature.created"]


@pytest.fixture
async def admin(live_db: AsyncSession, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Actor:
    monkeypatch.setattr(settings.webhooks, "allow_private_targets", True)
    org = await make_org(live_db)
    a = await make_actor(live_db, org, "admin")
    await live_db.commit()
    return a


@pytest.fixture
def no_ip_limit(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settings.petitions, "signatures_per_minute_ip", 10_000)


async def _subscribe(client: AsyncClient, admin: Actor) -> None:
    body = {"url": "http://127.0.0.1:9/hooks", "events": EVENTS}
    res = await client.post("/api/v1/webhooks", json=body, headers=admin.headers)
    assert res.status_code == 201, res.text


async def _events(db: AsyncSession, org: uuid.UUID) -> list[dict[str, Any]]:
    await set_tenant(db, org)
    rows = (await db.scalars(select(WebhookOutbox.payload).where(WebhookOutbox.organization_id == org))).all()
    await db.rollback()
    return list(rows)


async def test_a_new_signer_gets_a_contact_consent_tags_timeline_signature_count_and_events_once(
    live_client: AsyncClient, live_db: AsyncSession, admin: Actor
) -> None:
    org = admin.org.id
    await _subscribe(live_client, admin)
    p = await open_petition(live_client, admin, tags=["clinic", "health"])
    body = form(p, email="New.Signer@Example.org", mobile="0722 123 456", postal_code="010101")
    res = await live_client.post(f"/p/{p['slug']}/sign.json", json=body, headers={"accept-language": "fr"})
    assert res.status_code == 202, res.text

    [c] = await contacts_by_email(live_db, org, "new.signer@example.org")
    assert (c.source, c.first_name, c.last_name, c.mobile_e164, c.postal_code, c.language) == (
        "petition",
        "Ioana",
        "Popescu",
        "+40722123456",
        "010101",
        "fr",
    )
    assert c.tags == ["clinic", "health"] and c.consent_email == "granted" and c.consent_sms is None
    [row] = await consent_rows(live_db, org, c.id)
    assert (row.channel, row.status, row.source) == ("email", "granted", "petition")
    assert '"wording": "Informez-moi par e-mail."' in (row.proof or "")
    tags = (await live_db.scalars(select(Tag.name).where(Tag.organization_id == org))).all()
    assert {"clinic", "health"} <= set(tags)
    [sig] = await signatures(live_db, org, p["id"])
    assert sig.contact_id == c.id and sig.status == "confirmed" and sig.confirmed_at is not None
    assert (
        sig.channel == "embed"
        and sig.language == "fr"
        and sig.data["consents"] == {"email": "Informez-moi par e-mail."}
    )
    [ev] = (await live_db.scalars(select(ContactEvent).where(ContactEvent.contact_id == c.id))).all()
    assert ev.kind == "petition" and ev.data["signature_id"] == str(sig.id) and "Keep the clinic open" in ev.summary
    assert await count_of(live_db, org, p["id"]) == 1
    contact_id, signature_id = str(c.id), str(sig.id)
    await live_db.rollback()

    events = await _events(live_db, org)
    assert Counter(e["type"] for e in events) == {"contact.created": 1, "consent.changed": 1, "signature.created": 1}
    assert all(e["data"]["contact_id"] == contact_id for e in events)
    [signed] = [e for e in events if e["type"] == "signature.created"]
    assert signed["data"]["signature_id"] == signature_id


async def test_a_known_signer_is_filled_in_and_gets_one_signature_and_no_contact_created_event(
    live_client: AsyncClient, live_db: AsyncSession, admin: Actor
) -> None:
    org = admin.org.id
    res = await live_client.post(
        "/api/v1/contacts", json={"first_name": "Ana", "email": "ana@example.org"}, headers=admin.headers
    )
    assert res.status_code == 201, res.text
    await _subscribe(live_client, admin)
    p = await open_petition(live_client, admin)
    res = await live_client.post(f"/p/{p['slug']}/sign.json", json=form(p, email="ana@example.org"))
    assert res.status_code == 202, res.text

    [c] = await contacts_by_email(live_db, org, "ana@example.org")
    assert c.first_name == "Ana" and c.last_name == "Popescu" and c.tags == ["clinic"]
    assert c.consent_email == "granted"
    [sig] = await signatures(live_db, org, p["id"])
    assert sig.contact_id == c.id and sig.status == "confirmed"
    assert await count_of(live_db, org, p["id"]) == 1
    await live_db.rollback()
    types = Counter(e["type"] for e in await _events(live_db, org))
    assert types == {"consent.changed": 1, "signature.created": 1}


async def test_one_person_signing_two_petitions_at_once_twice_each_is_one_contact_and_one_signature_each(
    live_client: AsyncClient, live_db: AsyncSession, admin: Actor, no_ip_limit: None
) -> None:
    org = admin.org.id
    petitions = [await open_petition(live_client, admin), await open_petition(live_client, admin)]

    async def sign(p: dict[str, Any]) -> int:
        res = await live_client.post(f"/p/{p['slug']}/sign.json", json=form(p, email="Both@Example.org"))
        return res.status_code

    codes = await asyncio.gather(*(sign(p) for p in [*petitions, *petitions, *petitions]))
    assert set(codes) == {202}
    [c] = await contacts_by_email(live_db, org, "both@example.org")
    for p in petitions:
        [sig] = await signatures(live_db, org, p["id"])
        assert sig.contact_id == c.id
        assert await count_of(live_db, org, p["id"]) == 1
    rows = await consent_rows(live_db, org, c.id)  # each petition's box, with its own proof
    assert sorted(json.loads(r.proof or "")["petition_id"] for r in rows) == sorted(p["id"] for p in petitions)
    assert {r.status for r in rows} == {"granted"}


async def test_a_confirmed_double_opt_in_writes_its_events_once_and_a_second_click_none(
    live_client: AsyncClient, live_db: AsyncSession, admin: Actor, settings: Settings
) -> None:
    from app.petitions.signing import confirm_token

    org = admin.org.id
    await _subscribe(live_client, admin)
    p = await open_petition(live_client, admin, double_opt_in=True)
    res = await live_client.post(f"/p/{p['slug']}/sign.json", json=form(p, email="late@example.org"))
    assert res.status_code == 202, res.text
    [sig] = await signatures(live_db, org, p["id"])
    token = confirm_token(settings.secret_key.get_secret_value(), sig.id)
    await live_db.rollback()
    assert await _events(live_db, org) == []  # nothing until the click
    for _ in range(2):
        assert (await live_client.post(f"/p/confirm/{token}")).status_code == 200
    [c] = await contacts_by_email(live_db, org, "late@example.org")
    contact_id = str(c.id)
    assert await count_of(live_db, org, p["id"]) == 1
    await live_db.rollback()
    events = await _events(live_db, org)
    assert Counter(e["type"] for e in events) == {"contact.created": 1, "consent.changed": 1, "signature.created": 1}
    assert all(e["data"]["contact_id"] == contact_id for e in events)

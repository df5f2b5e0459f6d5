"""A web process keeps its copy of an open petition for the signatures after the first: the statement that signs
with it checks first that the petition is still open and unchanged, and that the signer is new; a changed one is
read again. What is stored is the same as after a fresh read: the wording the petition has now, one signature,
one contact, the count, each event once."""

from __future__ import annotations

import uuid
from collections import Counter
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.core.db import set_tenant
from app.models import WebhookOutbox
from tests.fixtures.factories import Actor, make_actor, make_org
from tests.petitions.conftest import consent_rows, contacts_by_email, count_of, form, open_petition, signatures


@pytest.fixture
async def admin(live_db: AsyncSession, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Actor:
    monkeypatch.setattr(settings.webhooks, "allow_private_targets", True)
    monkeypatch.setattr(settings.petitions, "signatures_per_minute_ip", 10_000)
    org = await make_org(live_db)
    a = await make_actor(live_db, org, "admin")
    await live_db.commit()
    return a


async def _events(db: AsyncSession, org: uuid.UUID) -> list[dict[str, Any]]:
    await set_tenant(db, org)
    rows = (await db.scalars(select(WebhookOutbox.payload).where(WebhookOutbox.organization_id == org))).all()
    await db.rollback()
    return list(rows)


async def _sign(client: AsyncClient, p: dict[str, Any], email: str, **over: Any) -> int:
    res = await client.post(f"/p/{p['slug']}/sign.json", json=form(p, email=email, **over))
    return res.status_code


async def test_signatures_after_the_first_store_the_same_rows_and_events_and_see_a_changed_petition(
    live_client: AsyncClient, live_db: AsyncSession, admin: Actor
) -> None:
    org = admin.org.id
    hook = {"url": "http://127.0.0.1:9/hooks", "events": ["contact.created", "consent.changed", "signature.created"]}
    assert (await live_client.post("/api/v1/webhooks", json=hook, headers=admin.headers)).status_code == 201
    known = await live_client.post(
        "/api/v1/contacts", json={"first_name": "Ana", "email": "ana@example.org"}, headers=admin.headers
    )
    assert known.status_code == 201, known.text
    p = await open_petition(live_client, admin, languages=["en"], translations={})
    assert await _sign(live_client, p, "first@example.org") == 202  # read, then kept
    assert await _sign(live_client, p, "second@example.org") == 202  # a new signer, with the copy
    assert await _sign(live_client, p, "ana@example.org") == 202  # a known one, with the copy
    assert await _sign(live_client, p, "Second@Example.org") == 202  # a double submit
    edit = {"consent_wording": {"email": "Send me the campaign's news by email."}}
    res = await live_client.patch(f"/api/v1/petitions/{p['id']}", json=edit, headers=admin.headers)
    assert res.status_code == 200, res.text
    assert await _sign(live_client, p, "third@example.org") == 202  # the copy is stale: read again

    by_email = {}
    for email in ("first@example.org", "second@example.org", "ana@example.org", "third@example.org"):
        [c] = await contacts_by_email(live_db, org, email)
        by_email[email] = c
        [row] = await consent_rows(live_db, org, c.id)
        assert (row.channel, row.status, row.source) == ("email", "granted", "petition")
        wording = (
            "Send me the campaign's news by email." if email == "third@example.org" else p["consent_wording"]["email"]
        )
        assert f'"wording": "{wording}"' in (row.proof or "")
        assert c.tags == ["clinic"]
    assert str(by_email["ana@example.org"].id) == known.json()["id"] and by_email["ana@example.org"].source == "app"
    sigs = await signatures(live_db, org, p["id"])
    assert sorted(s.signer_key for s in sigs) == sorted(by_email)
    assert {s.contact_id for s in sigs} == {c.id for c in by_email.values()}
    third = next(s for s in sigs if s.signer_key == "third@example.org")
    assert third.data["consents"] == {"email": "Send me the campaign's news by email."}
    assert await count_of(live_db, org, p["id"]) == 4
    contact_ids = {email: str(c.id) for email, c in by_email.items()}
    signature_ids = {str(s.id) for s in sigs}
    await live_db.rollback()

    events = await _events(live_db, org)
    for email, contact_id in contact_ids.items():  # (Ana's contact.created is her creation's)
        mine = Counter(e["type"] for e in events if e["data"]["contact_id"] == contact_id)
        assert mine == {"contact.created": 1, "consent.changed": 1, "signature.created": 1}, email
    signed = {e["data"]["signature_id"] for e in events if e["type"] == "signature.created"}
    assert signed == signature_ids


async def test_a_petition_closed_after_this_process_kept_it_takes_no_signature(
    live_client: AsyncClient, live_db: AsyncSession, admin: Actor
) -> None:
    org = admin.org.id
    p = await open_petition(live_client, admin)
    assert await _sign(live_client, p, "first@example.org") == 202
    res = await live_client.patch(f"/api/v1/petitions/{p['id']}", json={"status": "closed"}, headers=admin.headers)
    assert res.status_code == 200, res.text
    assert await _sign(live_client, p, "late@example.org") == 404
    assert [s.signer_key for s in await signatures(live_db, org, p["id"])] == ["first@example.org"]
    assert await contacts_by_email(live_db, org, "late@example.org") == []
    assert await count_of(live_db, org, p["id"]) == 1


async def test_a_signer_with_a_mobile_after_the_first_matches_the_contact_with_that_mobile(
    live_client: AsyncClient, live_db: AsyncSession, admin: Actor
) -> None:
    org = admin.org.id
    made = await live_client.post(
        "/api/v1/contacts", json={"first_name": "Ioana-Maria", "mobile": "0722 123 456"}, headers=admin.headers
    )
    assert made.status_code == 201, made.text
    p = await open_petition(live_client, admin)
    assert await _sign(live_client, p, "first@example.org") == 202
    assert await _sign(live_client, p, "ioana@example.org", mobile="+40722123456") == 202
    [c] = await contacts_by_email(live_db, org, "ioana@example.org")
    assert str(c.id) == made.json()["id"] and c.mobile_e164 == "+40722123456"
    assert await count_of(live_db, org, p["id"]) == 2

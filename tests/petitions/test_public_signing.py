"""The public page /p/{slug}: a signature creates or fills in a contact, records the consents exactly as shown
(wording, language, IP, time), tags and counts it; withdrawals stand; bots and double submits store nothing."""

from __future__ import annotations

import json
import uuid

import pytest
from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.contacts import consents
from app.contacts.schemas import ConsentInput
from app.core.db import set_tenant
from app.models import Contact, ContactEvent
from app.petitions.signing import form_token
from tests.fixtures.factories import World
from tests.petitions.conftest import (
    consent_rows,
    contacts_by_email,
    count_of,
    form,
    open_petition,
    signatures,
)


async def test_the_page_renders_in_the_language_asked_with_the_form_and_the_counter(
    client: AsyncClient, world: World
) -> None:
    p = await open_petition(client, world.a["admin"])
    fr = await client.get(f"/p/{p['slug']}", headers={"accept-language": "fr-FR,fr;q=0.9,en;q=0.5"})
    assert fr.status_code == 200 and fr.headers["content-type"].startswith("text/html")
    assert "Gardons la clinique" in fr.text and "Informez-moi par e-mail." in fr.text
    assert "0 signatures sur 100" in fr.text and 'name="form_token"' in fr.text and "<script" not in fr.text
    en = await client.get(f"/p/{p['slug']}?lang=en", headers={"accept-language": "fr"})
    assert "Keep the clinic open" in en.text and "Keep me informed by email." in en.text
    ro = await client.get(f"/p/{p['slug']}?lang=ro")  # not one of this petition's languages: its first
    assert 'lang="en"' in ro.text


async def test_the_page_escapes_the_petition_text(client: AsyncClient, world: World) -> None:
    p = await open_petition(client, world.a["admin"], title="<script>alert(1)</script>")
    res = await client.get(f"/p/{p['slug']}")
    assert "<script>alert(1)</script>" not in res.text and "&lt;script&gt;" in res.text


async def test_a_signature_creates_a_contact_with_the_consent_recorded_as_shown(
    client: AsyncClient, db: AsyncSession, world: World
) -> None:
    org = world.org_a.id
    p = await open_petition(client, world.a["admin"])
    res = await client.post(f"/p/{p['slug']}", data=form(p, language="fr", consents=["email"], mobile="0722 123 456"))
    assert res.status_code == 200, res.text
    assert "Thank you, share it!" in res.text
    [c] = await contacts_by_email(db, org, "ioana@example.org")
    assert c.source == "petition" and c.first_name == "Ioana" and c.mobile_e164 == "+40722123456"
    assert c.tags == ["clinic"] and c.consent_email == "granted" and c.consent_sms is None
    [row] = await consent_rows(db, org, c.id)
    proof = json.loads(row.proof or "")
    assert row.channel == "email" and row.status == "granted" and row.source == "petition"
    assert proof["wording"] == "Informez-moi par e-mail." and proof["language"] == "fr"
    assert proof["petition_id"] == p["id"] and proof["ip"] == "127.0.0.1" and proof["signed_at"]
    [sig] = await signatures(db, org, p["id"])
    assert sig.contact_id == c.id and sig.status == "confirmed" and sig.channel == "web"
    assert await count_of(db, org, p["id"]) == 1
    kinds = (await db.scalars(select(ContactEvent.kind).where(ContactEvent.contact_id == c.id))).all()
    assert "petition" in kinds
    page = await client.get(f"/p/{p['slug']}")
    assert "1 of 100 signatures" in page.text


async def test_a_signature_fills_in_an_existing_contact_without_overwriting_it(
    client: AsyncClient, db: AsyncSession, world: World
) -> None:
    org = world.org_a.id
    admin = world.a["admin"]
    made = await client.post(
        "/api/v1/contacts",
        json={"first_name": "Ioana-Maria", "email": "IOANA@example.org", "tags": ["member"]},
        headers=admin.headers,
    )
    assert made.status_code == 201
    p = await open_petition(client, admin)
    assert (await client.post(f"/p/{p['slug']}", data=form(p, postal_code="400001"))).status_code == 200
    [c] = await contacts_by_email(db, org, "ioana@example.org")
    assert str(c.id) == made.json()["id"]
    assert c.first_name == "Ioana-Maria" and c.last_name == "Popescu" and c.postal_code == "400001"
    assert c.tags == ["clinic", "member"] and c.source == "app"


async def test_a_withdrawn_email_consent_in_the_base_is_not_re_consented_by_a_signature(
    client: AsyncClient, db: AsyncSession, world: World
) -> None:
    org = world.org_a.id
    p = await open_petition(client, world.a["admin"])
    await set_tenant(db, org)
    c = Contact(organization_id=org, id=uuid.uuid4(), email="ioana@example.org", tags=[], custom_fields={})
    db.add(c)
    await db.flush()
    withdrawn = ConsentInput(channel="email", status="withdrawn", source="unsubscribe")
    await consents.record_many(db, c, [withdrawn], actor=None)
    res = await client.post(f"/p/{p['slug']}", data=form(p, consents=["email", "sms"]))
    assert res.status_code == 200
    [again] = await contacts_by_email(db, org, "ioana@example.org")
    await db.refresh(again)
    assert again.consent_email == "withdrawn" and again.consent_sms == "granted"
    rows = await consent_rows(db, org, c.id)
    assert [(r.channel, r.status) for r in rows] == [("email", "withdrawn"), ("sms", "granted")]
    assert await count_of(db, org, p["id"]) == 1  # the signature itself counts


@pytest.mark.parametrize("bot", ["honeypot", "too_fast", "no_token", "forged_token"])
async def test_a_honeypot_or_too_fast_submission_is_answered_like_a_signature_and_stores_nothing(
    client: AsyncClient, db: AsyncSession, world: World, settings: Settings, bot: str
) -> None:
    org = world.org_a.id
    p = await open_petition(client, world.a["admin"])
    fresh = form_token(settings.secret_key.get_secret_value(), uuid.UUID(p["id"]))
    over = {
        "honeypot": {"website": "http://spam.example"},
        "too_fast": {"form_token": fresh},
        "no_token": {"form_token": ""},
        "forged_token": {"form_token": fresh.split(".")[0] + ".0000000000"},
    }[bot]
    human = await client.post(f"/p/{p['slug']}", data=form(p, email="person@example.org"))
    robot = await client.post(f"/p/{p['slug']}", data=form(p, **over))
    assert robot.status_code == human.status_code == 200
    assert robot.text == human.text  # nothing tells the bot why
    assert [s.signer_key for s in await signatures(db, org, p["id"])] == ["person@example.org"]
    assert await contacts_by_email(db, org, "ioana@example.org") == []
    assert await count_of(db, org, p["id"]) == 1


async def test_a_double_submit_makes_one_signature(client: AsyncClient, db: AsyncSession, world: World) -> None:
    org = world.org_a.id
    p = await open_petition(client, world.a["admin"])
    first = await client.post(f"/p/{p['slug']}", data=form(p))
    second = await client.post(f"/p/{p['slug']}", data=form(p, email="Ioana@Example.org"))
    assert first.status_code == second.status_code == 200 and first.text == second.text
    assert len(await signatures(db, org, p["id"])) == 1
    assert len(await contacts_by_email(db, org, "ioana@example.org")) == 1
    assert await count_of(db, org, p["id"]) == 1


async def test_signing_is_rate_limited_per_ip(
    client: AsyncClient, db: AsyncSession, world: World, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings.petitions, "signatures_per_minute_ip", 2)
    org = world.org_a.id
    p = await open_petition(client, world.a["admin"])
    codes = [
        (await client.post(f"/p/{p['slug']}", data=form(p, email=f"s{i}@example.org"))).status_code for i in range(4)
    ]
    assert codes == [200, 200, 429, 429]
    assert len(await signatures(db, org, p["id"])) == 2


async def test_a_bad_field_shows_the_form_again_naming_it(client: AsyncClient, db: AsyncSession, world: World) -> None:
    p = await open_petition(client, world.a["admin"])
    res = await client.post(f"/p/{p['slug']}", data=form(p, email="not-an-email", mobile="12"))
    assert res.status_code == 422 and "Email" in res.text and 'value="Ioana"' in res.text
    res = await client.post(f"/p/{p['slug']}", data=form(p, mobile="12"))
    assert res.status_code == 422 and "Mobile phone" in res.text
    assert await signatures(db, world.org_a.id, p["id"]) == []


async def test_a_draft_or_unknown_petition_has_no_page_and_a_closed_one_takes_no_signature(
    client: AsyncClient, db: AsyncSession, world: World
) -> None:
    admin = world.a["admin"]
    draft = await open_petition(client, admin, status="draft")
    assert (await client.get(f"/p/{draft['slug']}")).status_code == 404
    assert (await client.get("/p/no-such-petition")).status_code == 404
    closed = await open_petition(client, admin, status="closed")
    page = await client.get(f"/p/{closed['slug']}")
    assert page.status_code == 200 and "This petition is closed." in page.text and "<form" not in page.text
    await client.post(f"/p/{closed['slug']}", data=form(closed))
    assert await signatures(db, world.org_a.id, closed["id"]) == []


async def test_erasing_a_signer_erases_their_signature_and_keeps_the_count(
    client: AsyncClient, db: AsyncSession, world: World
) -> None:
    org = world.org_a.id
    p = await open_petition(client, world.a["admin"])
    assert (await client.post(f"/p/{p['slug']}", data=form(p))).status_code == 200
    [c] = await contacts_by_email(db, org, "ioana@example.org")
    res = await client.post(f"/api/v1/contacts/{c.id}/erase", headers=world.a["admin"].headers)
    assert res.status_code == 204, res.text
    assert await signatures(db, org, p["id"]) == []  # no email or name left in a signature row
    assert await count_of(db, org, p["id"]) == 1

"""POST /p/{slug}/sign.json reads what the signer's lock guards with the petition (the contact the email names,
whether the signer signed already) and writes a new signer's count in the statement that writes the signer:
the same rows as the form, whichever contact the signer turns out to be."""

from __future__ import annotations

import uuid

from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.contacts import consents
from app.contacts.schemas import ConsentInput
from app.core.db import set_tenant
from app.models import Contact
from tests.fixtures.factories import World
from tests.petitions.conftest import consent_rows, contacts_by_email, count_of, form, open_petition, signatures


async def test_a_withdrawn_email_consent_is_not_re_consented_through_the_json_endpoint(
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
    res = await client.post(f"/p/{p['slug']}/sign.json", json=form(p, consents=["email", "sms"]))
    assert res.status_code == 202, res.text
    [again] = await contacts_by_email(db, org, "ioana@example.org")
    await db.refresh(again)
    assert again.id == c.id and again.consent_email == "withdrawn" and again.consent_sms == "granted"
    rows = await consent_rows(db, org, c.id)
    assert [(r.channel, r.status) for r in rows] == [("email", "withdrawn"), ("sms", "granted")]
    [sig] = await signatures(db, org, p["id"])
    assert sig.contact_id == c.id
    assert await count_of(db, org, p["id"]) == 1


async def test_a_mobile_that_names_a_contact_fills_that_contact_in_through_the_json_endpoint(
    client: AsyncClient, db: AsyncSession, world: World
) -> None:
    org = world.org_a.id
    admin = world.a["admin"]
    made = await client.post(
        "/api/v1/contacts", json={"first_name": "Ioana-Maria", "mobile": "0722 123 456"}, headers=admin.headers
    )
    assert made.status_code == 201, made.text
    p = await open_petition(client, admin)
    res = await client.post(f"/p/{p['slug']}/sign.json", json=form(p, mobile="+40722123456"))
    assert res.status_code == 202, res.text
    await set_tenant(db, org)
    people = (await db.scalars(select(Contact).where(Contact.mobile_e164 == "+40722123456"))).all()
    assert [str(c.id) for c in people] == [made.json()["id"]]
    assert people[0].email == "ioana@example.org" and people[0].first_name == "Ioana-Maria"
    [sig] = await signatures(db, org, p["id"])
    assert str(sig.contact_id) == made.json()["id"]
    assert await count_of(db, org, p["id"]) == 1


async def test_a_json_double_submit_makes_one_signature_one_contact_and_one_count(
    client: AsyncClient, db: AsyncSession, world: World
) -> None:
    org = world.org_a.id
    p = await open_petition(client, world.a["admin"])
    for email in ("ioana@example.org", " Ioana@Example.org"):
        res = await client.post(f"/p/{p['slug']}/sign.json", json=form(p, email=email))
        assert res.status_code == 202, res.text
    [sig] = await signatures(db, org, p["id"])
    [c] = await contacts_by_email(db, org, "ioana@example.org")
    assert sig.contact_id == c.id and c.tags == ["clinic"] and c.consent_email == "granted"
    assert len(await consent_rows(db, org, c.id)) == 1
    assert await count_of(db, org, p["id"]) == 1

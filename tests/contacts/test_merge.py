"""Merging duplicates: the survivor gets the chosen values, both tag sets, both consent logs (latest change wins)
and every row that pointed at the merged contact, in every table the schema says holds a contact id."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.principal import Principal
from app.contacts.merge import MergeConflict, merge
from app.contacts.person_data import contact_columns
from app.contacts.schemas import MergeRequest
from app.core.db import set_tenant
from app.models import (
    ActionTarget,
    AuditLog,
    Campaign,
    CampaignMessage,
    ConsentLog,
    Contact,
    DirectMessage,
    Petition,
    PetitionSignature,
)
from tests.calling.conftest import make_bank
from tests.fixtures.factories import World


async def _count(db: AsyncSession, table: str, column: str, cid: uuid.UUID) -> int:
    return int(await db.scalar(text(f"SELECT count(*) FROM {table} WHERE {column} = :c"), {"c": cid}) or 0)


async def test_merge_moves_every_row_pointing_at_the_merged_contact(client: AsyncClient, db: AsyncSession) -> None:
    bank = await make_bank(client, db, contacts=2, volunteers=1)
    v, h = bank.volunteers[0], bank.manager.headers
    tid = (await client.post(f"/api/v1/actions/{bank.action_id}/calls/next", headers=v.headers)).json()["id"]
    other = await db.scalar(select(ActionTarget.contact_id).where(ActionTarget.id == uuid.UUID(tid)))
    assert other is not None
    keep = next(c for c in bank.contact_ids if c != other)
    assert (await client.post(f"/api/v1/calls/{tid}/start", headers=v.headers)).status_code == 200
    report = {
        "id": str(uuid.uuid4()),
        "outcome": "answered",
        "consent_given": True,
        "survey_answers": [{"question_id": "worried", "value": True}, {"question_id": "topic", "value": "health"}],
        "contact_updates": {"consents": {"sms": "granted"}},
        "comment": "Talked about health",
        "opportunities": [{"type_id": bank.opp_type_id, "note": "Will hand out leaflets"}],
    }
    assert (await client.post(f"/api/v1/calls/{tid}/report", headers=v.headers, json=report)).status_code == 200
    await client.post(f"/api/v1/contacts/{other}/notes", json={"text": "Met at the market"}, headers=h)
    await client.post(f"/api/v1/contacts/{keep}/notes", json={"text": "Survivor's own note"}, headers=h)
    org = bank.manager.org.id
    campaign = Campaign(organization_id=org, name="Thanks", channel="sms", body_text="Thanks")
    db.add(campaign)
    await db.flush()
    db.add(CampaignMessage(organization_id=org, campaign_id=campaign.id, contact_id=other, address="+40722000001"))
    db.add(
        DirectMessage(
            organization_id=org,
            contact_id=other,
            channel="sms",
            direction="in",
            kind="reply",
            address="+40722000001",
            body="Yes, Saturday",
            status="received",
        )
    )
    petition = Petition(organization_id=org, slug=f"merge-{uuid.uuid4().hex[:8]}", title="Clinic")
    db.add(petition)
    await db.flush()
    db.add(
        PetitionSignature(
            organization_id=org,
            petition_id=petition.id,
            contact_id=other,
            signer_key="other@example.org",
            language="en",
            channel="web",
            data={"first_name": "Other"},
        )
    )
    await db.flush()

    refs = contact_columns()
    before = {
        (r.table, r.column): (await _count(db, r.table, r.column, keep), await _count(db, r.table, r.column, other))
        for r in refs
    }
    missing = [k for k, (_, o) in before.items() if o == 0]
    assert not missing, f"the test must put a row of the merged contact in every referencing table: {missing}"

    r = await client.post(f"/api/v1/contacts/{keep}/merge", json={"other_id": str(other)}, headers=h)
    assert r.status_code == 200, r.text

    assert await db.scalar(select(func.count()).select_from(Contact).where(Contact.id == other)) == 0
    for ref in refs:
        k, o = before[(ref.table, ref.column)]
        assert await _count(db, ref.table, ref.column, other) == 0, ref.table
        # Both were targets of the one action: the survivor keeps its own target, the merged one's goes.
        expected = k if ref.unique_with and k else k + o
        expected += ref.table == "contact_events"  # and the timeline says the merge happened
        assert await _count(db, ref.table, ref.column, keep) == expected, ref.table
    audit = await db.scalar(
        select(AuditLog).where(AuditLog.action == "contact.merged", AuditLog.object_id == str(keep))
    )
    assert audit is not None and audit.details["merged_id"] == str(other)


async def test_merge_keeps_chosen_values_tag_union_and_latest_consent(
    client: AsyncClient, db: AsyncSession, world: World
) -> None:
    h = world.a["manager"].headers
    a = (
        await client.post(
            "/api/v1/contacts",
            json={
                "first_name": "Ioana",
                "last_name": "Popescu",
                "email": "ioana@example.org",
                "address": {"street": "Strada Memorandumului", "number": "12", "city": "Cluj-Napoca"},
                "tags": ["pensions"],
            },
            headers=h,
        )
    ).json()["id"]
    b = (
        await client.post(
            "/api/v1/contacts",
            json={
                "first_name": "Ioana M.",
                "last_name": "Popescu",
                "email": "ioana.p@example.org",
                "address": {"street": "Calea Dorobanților", "number": "3", "city": "Cluj-Napoca"},
                "support_level": 2,
                "tags": ["health"],
            },
            headers=h,
        )
    ).json()["id"]
    # Per channel, the latest change of either log is the current state: sms from the other, email from this one.
    now, org = datetime.now(UTC), world.org_a.id
    log = [
        (a, "sms", "granted", 2 * 24),
        (a, "email", "withdrawn", 1),
        (b, "sms", "withdrawn", 24),
        (b, "email", "granted", 3 * 24),
    ]
    for cid, ch, st, hours in log:
        db.add(
            ConsentLog(
                organization_id=org,
                contact_id=cid,
                channel=ch,
                status=st,
                source="app",
                recorded_at=now - timedelta(hours=hours),
            )
        )
    await db.execute(update(Contact).where(Contact.id == a).values(consent_sms="granted", consent_email="withdrawn"))
    await db.execute(update(Contact).where(Contact.id == b).values(consent_sms="withdrawn", consent_email="granted"))
    await db.flush()

    r = await client.post(
        f"/api/v1/contacts/{a}/merge",
        json={"other_id": b, "fields": {"email": "other", "first_name": "this", "address": "other"}},
        headers=h,
    )
    assert r.status_code == 200, r.text
    c = await db.scalar(select(Contact).where(Contact.id == a).execution_options(populate_existing=True))
    assert c is not None
    assert (c.first_name, c.email) == ("Ioana", "ioana.p@example.org")
    assert (c.street, c.street_number) == ("Calea Dorobanților", "3")
    assert c.support_level == 2  # the survivor had none: the other's is kept
    assert sorted(c.tags) == ["health", "pensions"]
    assert (c.consent_sms, c.consent_email) == ("withdrawn", "withdrawn")
    kept = (
        await db.execute(
            select(ConsentLog.channel, ConsentLog.status, ConsentLog.recorded_at).where(ConsentLog.contact_id == a)
        )
    ).all()
    assert sorted((ch, st) for ch, st, _ in kept) == sorted((ch, st) for _, ch, st, _ in log)
    assert {round((now - at).total_seconds() / 3600) for _, _, at in kept} == {1, 24, 48, 72}
    assert r.json()["consents"]["sms"] == "withdrawn"


async def test_merge_refuses_itself_another_organizations_contact_and_unknown_fields(
    client: AsyncClient, db: AsyncSession, world: World
) -> None:
    h = world.a["manager"].headers
    a = (await client.post("/api/v1/contacts", json={"first_name": "A"}, headers=h)).json()["id"]
    foreign = (
        await client.post("/api/v1/contacts", json={"first_name": "F"}, headers=world.b["manager"].headers)
    ).json()["id"]
    cases = [
        ({"other_id": a}, "other_id"),
        ({"other_id": foreign}, "other_id"),
        ({"other_id": str(uuid.uuid4())}, "other_id"),
        ({"other_id": a, "fields": {"password": "other"}}, "fields.password"),
        ({"other_id": a, "fields": {"email": "both"}}, "fields.email"),
    ]
    for body, field in cases:
        r = await client.post(f"/api/v1/contacts/{a}/merge", json=body, headers=h)
        assert r.status_code == 422, r.text
        assert r.json()["error"]["details"][0]["field"].startswith(field), r.text
    for org, cid in ((world.org_a.id, a), (world.org_b.id, foreign)):
        await set_tenant(db, org)
        assert await db.scalar(select(func.count()).select_from(Contact).where(Contact.id == cid)) == 1
    vol = await client.post(f"/api/v1/contacts/{a}/merge", json={"other_id": a}, headers=world.a["volunteer"].headers)
    assert vol.status_code in (403, 404)


async def test_duplicates_are_same_phone_email_or_name_and_address(
    client: AsyncClient, db: AsyncSession, world: World
) -> None:
    addr: dict[str, Any] = {"street": "Strada Memorandumului", "street_number": "12", "city": "Cluj-Napoca"}

    async def make(*, org: uuid.UUID = world.org_a.id, **cols: object) -> str:
        await set_tenant(db, org)
        c = Contact(organization_id=org, id=uuid.uuid4(), tags=[], custom_fields={}, **cols)
        db.add(c)
        await db.flush()
        return str(c.id)

    me = await make(first_name="Ioana", last_name="Popescu", mobile_e164="+40722123456", email="i@example.org", **addr)
    by_phone = await make(first_name="I.", last_name="P", home_e164="+40722123456")
    by_email = await make(first_name="Ioana", last_name="P", email="i@example.org", mobile_e164="+40733111222")
    by_name = await make(first_name="Ioana", last_name="Popescu", mobile_e164="+40744999888", **addr)
    await make(first_name="Ioana", last_name="Popescu", **{**addr, "street_number": "14"})
    await make(org=world.org_b.id, first_name="Ioana", last_name="Popescu", mobile_e164="+40722123456")
    r = await client.get(f"/api/v1/contacts/{me}/duplicates", headers=world.a["manager"].headers)
    assert r.status_code == 200, r.text
    got = {d["contact"]["id"]: d["reasons"] for d in r.json()}
    assert got == {by_phone: ["phone"], by_email: ["email"], by_name: ["name_address"]}
    assert "0722" not in r.text and "+40722" not in r.text


async def test_a_merge_whose_other_contact_went_meanwhile_is_a_409_and_changes_nothing(
    db: AsyncSession, world: World
) -> None:
    org = world.org_a.id
    await set_tenant(db, org)
    keep = Contact(organization_id=org, id=uuid.uuid4(), first_name="K", tags=["k"], custom_fields={})
    other = Contact(
        organization_id=org, id=uuid.uuid4(), first_name="O", email="o@example.org", tags=["o"], custom_fields={}
    )
    db.add_all([keep, other])
    await db.flush()
    # Another request merged (or erased) the other contact after this one had loaded it.
    await db.execute(text("DELETE FROM contacts WHERE id = :o"), {"o": other.id})
    actor = Principal(world.a["manager"].user_id, org, "manager", "m@example.org", "M", uuid.uuid4())
    with pytest.raises(MergeConflict) as e:
        await merge(db, keep, other, MergeRequest(other_id=other.id, fields={"email": "other"}), actor=actor)
    assert e.value.status_code == 409
    row = (await db.execute(text("SELECT email, tags FROM contacts WHERE id = :k"), {"k": keep.id})).one()
    assert (row.email, row.tags) == (None, ["k"])

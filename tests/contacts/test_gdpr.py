"""R8: the access export holds every row we keep on the person. The tables are derived from the schema; these
tests check the derivation against the live database's catalog (so a table added by a migration cannot be
missed) and the export against data put in every one of those tables."""

from __future__ import annotations

import uuid

from httpx import AsyncClient
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.contacts.person_data import person_tables
from app.models import Campaign, CampaignMessage, DirectMessage, Opportunity, Petition, PetitionSignature
from tests.calling.conftest import make_bank

CATALOG_LINKS = text("""
    SELECT c.conrelid::regclass::text AS child, c.confrelid::regclass::text AS parent
    FROM pg_constraint c JOIN pg_class r ON r.oid = c.conrelid
    WHERE c.contype = 'f' AND NOT r.relispartition AND r.relnamespace = 'public'::regnamespace
""")
CATALOG_CONTACT_ID = text("""
    SELECT r.relname FROM pg_attribute a JOIN pg_class r ON r.oid = a.attrelid
    WHERE a.attname = 'contact_id' AND NOT a.attisdropped AND r.relkind IN ('r', 'p') AND NOT r.relispartition
      AND r.relnamespace = 'public'::regnamespace
""")


async def test_tables_holding_a_persons_data_match_the_database_catalog(db: AsyncSession) -> None:
    links = (await db.execute(CATALOG_LINKS)).all()
    held = {str(t) for t in (await db.scalars(CATALOG_CONTACT_ID)).all()} | {c for c, p in links if p == "contacts"}
    held.discard("contacts")
    while True:
        more = {c for c, p in links if p in held and c != "contacts"} - held
        if not more:
            break
        held |= more
    assert {pt.name for pt in person_tables()} == held
    assert {"opportunity_comments", "survey_answers", "field_reports"} <= held


async def test_access_export_covers_every_table_holding_the_persons_data(client: AsyncClient, db: AsyncSession) -> None:
    bank = await make_bank(client, db, contacts=1, volunteers=1)
    v, h = bank.volunteers[0], bank.manager.headers
    cid = str(bank.contact_ids[0])
    tid = (await client.post(f"/api/v1/actions/{bank.action_id}/calls/next", headers=v.headers)).json()["id"]
    assert (await client.post(f"/api/v1/calls/{tid}/start", headers=v.headers)).status_code == 200
    report = {
        "id": str(uuid.uuid4()),
        "outcome": "answered",
        "consent_given": True,
        "survey_answers": [
            {"question_id": "worried", "value": True},
            {"question_id": "topic", "value": "pensions"},
            {"question_id": "score", "value": 4},
        ],
        "contact_updates": {"consents": {"sms": "granted"}},
        "comment": "Nice talk",
        "opportunities": [{"type_id": bank.opp_type_id, "note": "Can help Saturday"}],
    }
    rep = await client.post(f"/api/v1/calls/{tid}/report", headers=v.headers, json=report)
    assert rep.status_code == 200, rep.text
    opp = await db.scalar(select(Opportunity.id).where(Opportunity.contact_id == uuid.UUID(cid)))
    comment = f"Call back about the poster {uuid.uuid4().hex[:6]}"
    r = await client.post(f"/api/v1/opportunities/{opp}/comments", headers=h, json={"text": comment})
    assert r.status_code == 201, r.text
    await client.post(f"/api/v1/contacts/{cid}/notes", json={"text": "Met at the market"}, headers=h)
    correction = {"id": str(uuid.uuid4()), "outcome": "answered", "comment": "Nice talk, wants a visit"}
    fixed = await client.post(f"/api/v1/reports/{report['id']}/corrections", headers=v.headers, json=correction)
    assert fixed.status_code == 200, fixed.text
    org = bank.manager.org.id
    campaign = Campaign(organization_id=org, name="Thanks", channel="sms", body_text="Thanks")
    db.add(campaign)
    await db.flush()
    db.add(CampaignMessage(organization_id=org, campaign_id=campaign.id, contact_id=uuid.UUID(cid), address="+40722"))
    db.add(
        DirectMessage(
            organization_id=org,
            contact_id=uuid.UUID(cid),
            channel="sms",
            direction="in",
            kind="reply",
            address="+40722",
            body="When is the next meeting?",
            status="received",
        )
    )
    await db.flush()

    petition = Petition(organization_id=org, slug=f"gdpr-{uuid.uuid4().hex[:8]}", title="Clinic")
    db.add(petition)
    await db.flush()
    db.add(
        PetitionSignature(
            organization_id=org,
            petition_id=petition.id,
            contact_id=uuid.UUID(cid),
            signer_key="person@example.org",
            language="en",
            channel="web",
            data={"first_name": "Person"},
        )
    )
    await db.flush()
    export = await client.get(f"/api/v1/contacts/{cid}/export", headers=h)
    assert export.status_code == 200, export.text
    records = export.json()["records"]
    tables = [pt.name for pt in person_tables()]
    assert sorted(records) == sorted(tables)
    empty = [t for t in tables if not records[t]]
    assert not empty, f"no data exported from {empty}: the test must put some in every table"
    for t in tables:  # exactly the person's rows: as many as the database holds for them
        n = await db.scalar(text(f"SELECT count(*) FROM {t} WHERE {_where(t)}"), {"c": cid})
        assert len(records[t]) == n, t
    assert [c["text"] for c in records["opportunity_comments"]] == [comment]
    assert {a["question_id"] for a in records["survey_answers"]} == {"worried", "topic", "score"}


def _where(table: str) -> str:
    """An independent, hand-written statement of which rows are the person's, for the count check above."""
    return {
        "opportunity_comments": "opportunity_id IN (SELECT id FROM opportunities WHERE contact_id = :c)",
        "survey_answers": "contact_id = :c OR report_id IN (SELECT id FROM field_reports WHERE contact_id = :c)",
        "field_report_corrections": "report_id IN (SELECT id FROM field_reports WHERE contact_id = :c)",
    }.get(table, "contact_id = :c")

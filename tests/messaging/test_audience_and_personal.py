"""The people met in an action as a campaign's audience (consent still required), and one-off personal
messages from a contact's page (consent checked, on the timeline, audited with the sender)."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import set_tenant
from app.models import Action, AuditLog, ContactEvent, DirectMessage, FieldReport
from tests.messaging.conftest import Inbox, SmsProviderServer, add_contact, live_manager
from tests.messaging.test_campaigns import API, _template, _until_done

pytestmark = pytest.mark.usefixtures("arq_worker")


async def test_a_campaign_to_the_people_met_in_an_action_needs_their_consent_too(
    live_client: AsyncClient, live_db: AsyncSession, smtp: Inbox
) -> None:
    m = await live_manager(live_db)
    o = m.org.id
    met = await add_contact(live_db, o, email="met@example.org", consent_email="granted")
    door = await add_contact(live_db, o, email="door@example.org", consent_email="granted")
    absent = await add_contact(live_db, o, email="absent@example.org", consent_email="granted")
    no_consent = await add_contact(live_db, o, email="noconsent@example.org")
    await add_contact(live_db, o, email="elsewhere@example.org", consent_email="granted")
    action = Action(organization_id=o, type="call", title="Phone bank")
    live_db.add(action)
    await live_db.flush()
    for c, kind, outcome in (
        (met, "call", "answered"),
        (door, "visit", "opened"),
        (absent, "call", "absent"),
        (no_consent, "call", "answered"),
    ):
        live_db.add(
            FieldReport(
                organization_id=o,
                id=uuid.uuid4(),
                kind=kind,
                action_id=action.id,
                contact_id=c.id,
                user_id=m.user_id,
                outcome=outcome,
                request_hash="x",
                response={},
            )
        )
    await live_db.commit()
    tid = await _template(live_client, m, channel="email", subject="Thanks", body_text="x")
    r = await live_client.post(
        f"{API}/campaigns",
        json={"name": "After", "template_id": tid, "action_id": str(uuid.uuid4())},
        headers=m.headers,
    )
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "action_id"
    r = await live_client.post(
        f"{API}/campaigns", json={"name": "After", "template_id": tid, "action_id": str(action.id)}, headers=m.headers
    )
    assert r.status_code == 201 and r.json()["action_id"] == str(action.id)
    cid = r.json()["id"]
    await live_client.post(f"{API}/campaigns/{cid}/send", json={}, headers=m.headers)
    assert (await _until_done(live_client, m, cid))["status"] == "done"
    assert smtp.to() == ["door@example.org", "met@example.org"]


async def test_a_personal_sms_goes_to_a_consented_contact_lands_on_the_timeline_and_is_audited(
    live_client: AsyncClient, live_db: AsyncSession, sms_server: SmsProviderServer
) -> None:
    m = await live_manager(live_db)
    o = m.org.id
    yes = await add_contact(live_db, o, mobile_e164="+40722300001", consent_sms="granted")
    no = await add_contact(live_db, o, mobile_e164="+40722300002", consent_email="granted", email="n@example.org")
    await live_db.commit()
    yes_id, no_id = yes.id, no.id
    r = await live_client.post(
        f"{API}/contacts/{no_id}/messages", json={"channel": "sms", "body": "Salut"}, headers=m.headers
    )
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "channel"
    r = await live_client.post(
        f"{API}/contacts/{yes_id}/messages", json={"channel": "sms", "body": "x" * 1600}, headers=m.headers
    )
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "body"  # 11 parts
    r = await live_client.post(
        f"{API}/contacts/{yes_id}/messages", json={"channel": "sms", "body": "Mulțumim, Ana!"}, headers=m.headers
    )
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "queued" and r.json()["kind"] == "personal"
    for _ in range(100):
        if sms_server.received:
            break
        await asyncio.sleep(0.1)
    assert [(x["To"], x["Body"]) for x in sms_server.received] == [("+40722300001", "Mulțumim, Ana!")]

    for _ in range(50):
        await live_db.rollback()
        await set_tenant(live_db, o)
        status = await live_db.scalar(select(DirectMessage.status).where(DirectMessage.contact_id == yes_id))
        if status == "sent":
            break
        await asyncio.sleep(0.1)
    assert status == "sent"
    ev = (await live_db.scalars(select(ContactEvent).where(ContactEvent.contact_id == yes_id))).one()
    assert ev.kind == "message" and ev.actor_user_id == m.user_id and "Mulțumim" in ev.summary
    audit = (await live_db.scalars(select(AuditLog).where(AuditLog.action == "message.personal"))).all()
    assert [(a.actor_user_id, a.object_id) for a in audit] == [(m.user_id, str(yes_id))]
    assert await live_db.scalar(select(DirectMessage.id).where(DirectMessage.contact_id == no_id)) is None

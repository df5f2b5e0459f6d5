"""Peer-to-peer texting: the action's SMS template, rendered for a person the volunteer called, opens in their
phone's SMS app; the text is logged on the timeline once and audited. No consent: 403; anyone else: 404."""

from __future__ import annotations

import uuid
from urllib.parse import unquote

from httpx import AsyncClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import set_tenant
from app.models import AuditLog, Contact, ContactEvent
from tests.calling.conftest import make_bank
from tests.calling.test_calling import _answered
from tests.calling.test_reports import _started


async def test_a_volunteer_texts_a_consenting_person_they_called_with_the_actions_template(
    live_client: AsyncClient, live_db: AsyncSession, cleanup: list[uuid.UUID]
) -> None:
    bank = await make_bank(live_client, live_db, contacts=3)
    org = bank.manager.org.id
    cleanup.append(org)
    vol, other = bank.volunteers
    tpl = await live_client.post(
        "/api/v1/messaging/templates",
        headers=bank.manager.headers,
        json={"name": "Thanks", "channel": "sms", "body_text": "Thank you {{ contact.first_name }}!"},
    )
    assert tpl.status_code == 201, tpl.text
    url = f"/api/v1/actions/{bank.action_id}"
    no_tpl_yet_tid = await _started(live_client, bank)
    r = await live_client.post(f"/api/v1/calls/{no_tpl_yet_tid}/report", headers=vol.headers, json=_answered(bank))
    assert r.status_code == 200, r.text
    cid = r.json()["contact_id"]
    assert (await live_client.get(f"{url}/contacts/{cid}/p2p-text", headers=vol.headers)).status_code == 404
    patched = await live_client.patch(url, headers=bank.manager.headers, json={"p2p_template_id": tpl.json()["id"]})
    assert patched.status_code == 200 and patched.json()["p2p_template_id"] == tpl.json()["id"]

    text = await live_client.get(f"{url}/contacts/{cid}/p2p-text", headers=vol.headers)
    assert text.status_code == 200, text.text
    await set_tenant(live_db, org)
    person = await live_db.scalar(select(Contact).where(Contact.organization_id == org, Contact.id == uuid.UUID(cid)))
    assert person is not None and person.consent_sms == "granted"
    first_name, vol_id = person.first_name, vol.user_id
    assert text.json()["body"] == f"Thank you {person.first_name}!"
    assert text.json()["to"] == person.mobile_e164
    assert unquote(text.json()["sms_link"]) == f"sms:{person.mobile_e164}?body=Thank you {person.first_name}!"
    # Someone else's person, and a person without SMS consent.
    assert (await live_client.get(f"{url}/contacts/{cid}/p2p-text", headers=other.headers)).status_code == 404
    tid = await _started(live_client, bank)
    refused = await live_client.post(
        f"/api/v1/calls/{tid}/report", headers=vol.headers, json={"id": str(uuid.uuid4()), "outcome": "refused"}
    )
    no_consent = await live_client.get(f"{url}/contacts/{refused.json()['contact_id']}/p2p-text", headers=vol.headers)
    assert no_consent.status_code == 403 and no_consent.json()["error"]["code"] == "no_sms_consent"

    sent = {"id": str(uuid.uuid4())}
    first = await live_client.post(f"{url}/contacts/{cid}/p2p-text", headers=vol.headers, json=sent)
    again = await live_client.post(f"{url}/contacts/{cid}/p2p-text", headers=vol.headers, json=sent)
    assert first.status_code == 200 and first.json()["logged"] is True and again.json()["logged"] is False
    await live_db.rollback()
    await set_tenant(live_db, org)
    events = (
        await live_db.scalars(
            select(ContactEvent).where(
                ContactEvent.organization_id == org,
                ContactEvent.contact_id == uuid.UUID(cid),
                ContactEvent.kind == "message",
            )
        )
    ).all()
    assert len(events) == 1 and events[0].data["body"] == f"Thank you {first_name}!"
    assert events[0].actor_user_id == vol_id
    audits = await live_db.scalar(
        select(func.count())
        .select_from(AuditLog)
        .where(AuditLog.organization_id == org, AuditLog.action == "p2p_text.sent")
    )
    assert audits == 1

"""Inbound SMS (opt-out keywords, replies for the inbox) and status callbacks, signed like the provider signs
them; the confirmation and the answers go out through the local provider server, sent by the real worker."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from httpx import AsyncClient, Response
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.core.db import set_tenant
from app.messaging.inbound import is_opt_out, twilio_signature
from app.models import AuditLog, CampaignMessage, ConsentLog, Contact, ContactEvent, DirectMessage
from tests.fixtures.factories import Actor
from tests.messaging.conftest import SmsProviderServer, add_contact, live_manager
from tests.messaging.test_campaigns import API, _campaign, _messages, _template, _until_done

pytestmark = pytest.mark.usefixtures("arq_worker")


async def _provider_posts(
    client: AsyncClient, settings: Settings, path: str, form: dict[str, str], *, token: str = "tok"
) -> Response:
    url = settings.messaging.public_url.rstrip("/") + path
    sig = twilio_signature(token, url, form)
    return await client.post(path, data=form, headers={"X-Twilio-Signature": sig})


def _inbound(m: Actor) -> str:
    return f"{API}/sms/{m.org.id}/inbound"


def _sms(number: str, body: str) -> dict[str, str]:
    return {"From": number, "To": "+40700000000", "Body": body, "MessageSid": f"SM{uuid.uuid4().hex}"}


async def _eventually(check: Any, wait_s: float = 10) -> None:
    deadline = asyncio.get_running_loop().time() + wait_s
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.1)


@pytest.mark.parametrize(
    ("text", "stop"),
    [
        ("STOP", True),
        ("stop", True),
        (" Stop! ", True),
        ("STOP ALL", True),
        ("Unsubscribe", True),
        ("ARRÊT", True),
        ("arret", True),
        ("Dezabonare", True),
        ("DEZABONARE.", True),
        ("Please stop texting me at night", False),
        ("da, vin sâmbătă", False),
    ],
)
def test_opt_out_keywords_ignore_case_accents_and_punctuation(text: str, stop: bool) -> None:
    assert is_opt_out(text) is stop


async def test_stop_stops_the_next_campaign_and_is_confirmed_once(
    live_client: AsyncClient, live_db: AsyncSession, sms_server: SmsProviderServer, settings: Settings
) -> None:
    m = await live_manager(live_db)
    o = m.org.id
    ana = await add_contact(live_db, o, mobile_e164="+40722100001", consent_sms="granted", tags=["s"])
    twin = await add_contact(live_db, o, mobile_e164="+40722100001", consent_sms="granted", tags=["s"])
    await add_contact(live_db, o, mobile_e164="+40722100002", consent_sms="granted", tags=["s"])
    await live_db.commit()

    r = await _provider_posts(live_client, settings, _inbound(m), _sms("+40722100001", "Arrêt"))
    assert r.status_code == 200, r.text
    assert "<Response>" in r.text
    await _eventually(lambda: _async(len(sms_server.received) == 1))
    assert sms_server.received[0]["To"] == "+40722100001"
    assert sms_server.received[0]["Body"] == settings.messaging.sms_opt_out_confirmation
    # A second STOP (or the provider replaying the first) confirms nothing again.
    r = await _provider_posts(live_client, settings, _inbound(m), _sms("+40722100001", "STOP"))
    assert r.status_code == 200
    await asyncio.sleep(0.5)
    assert len(sms_server.received) == 1

    await set_tenant(live_db, o)
    for c in (ana, twin):  # the number asked: every contact holding it is opted out
        log = (await live_db.scalars(select(ConsentLog).where(ConsentLog.contact_id == c.id))).all()
        assert [(x.channel, x.status, x.source) for x in log] == [("sms", "withdrawn", "sms_reply")]
    await live_db.rollback()

    sms_server.received.clear()
    tid = await _template(live_client, m, channel="sms", body_text="Next campaign")
    cid = await _campaign(live_client, m, tid, {"tags_any": ["s"]})
    await live_client.post(f"{API}/campaigns/{cid}/send", json={}, headers=m.headers)
    assert (await _until_done(live_client, m, cid))["status"] == "done"
    assert sms_server.to() == ["+40722100002"]


async def _async(v: bool) -> bool:
    return v


async def test_a_wrongly_signed_inbound_sms_is_refused_and_changes_nothing(
    live_client: AsyncClient, live_db: AsyncSession, settings: Settings, sms_server: SmsProviderServer
) -> None:
    m = await live_manager(live_db)
    c = await add_contact(live_db, m.org.id, mobile_e164="+40722100003", consent_sms="granted")
    await live_db.commit()
    form = _sms("+40722100003", "STOP")
    r = await _provider_posts(live_client, settings, _inbound(m), form, token="not-the-token")
    assert r.status_code == 403 and r.json()["error"]["code"] == "signature_invalid"
    r = await live_client.post(_inbound(m), data=form)
    assert r.status_code == 403
    await set_tenant(live_db, m.org.id)
    assert await live_db.scalar(select(Contact.consent_sms).where(Contact.id == c.id)) == "granted"
    assert (await live_db.scalars(select(DirectMessage).where(DirectMessage.organization_id == m.org.id))).all() == []


async def test_a_reply_lands_in_the_inbox_and_on_the_timeline_and_hq_answers_it(
    live_client: AsyncClient, live_db: AsyncSession, settings: Settings, sms_server: SmsProviderServer
) -> None:
    m = await live_manager(live_db)
    c = await add_contact(live_db, m.org.id, mobile_e164="+40722100004", consent_sms="granted")
    await live_db.commit()
    contact_id, org_id = c.id, m.org.id
    r = await _provider_posts(live_client, settings, _inbound(m), _sms("+40722100004", "Vin sâmbătă, mulțumesc!"))
    assert r.status_code == 200
    r = await live_client.get(f"{API}/inbox", headers=m.headers)
    assert r.status_code == 200
    (item,) = r.json()["items"]
    assert item["contact_id"] == str(contact_id) and item["body"] == "Vin sâmbătă, mulțumesc!"
    assert item["direction"] == "in" and item["answered_at"] is None
    assert "+40722100004" not in r.text  # the number stays out of the API

    r = await live_client.post(f"{API}/inbox/{item['id']}/reply", json={"body": "Te așteptăm!"}, headers=m.headers)
    assert r.status_code == 201, r.text
    await _eventually(lambda: _async(len(sms_server.received) == 1))
    assert sms_server.received[0] == sms_server.received[0] | {"To": "+40722100004", "Body": "Te așteptăm!"}
    assert sms_server.received[0]["StatusCallback"].endswith(f"/api/v1/messaging/sms/{m.org.id}/status")
    r = await live_client.get(f"{API}/inbox", params={"unanswered": True}, headers=m.headers)
    assert r.json()["items"] == []

    async def on_timeline() -> bool:
        await live_db.rollback()
        await set_tenant(live_db, org_id)
        events = (
            await live_db.scalars(select(ContactEvent.summary).where(ContactEvent.contact_id == contact_id))
        ).all()
        return any("Vin sâmbătă" in e for e in events) and any("Te așteptăm" in e for e in events)

    await _eventually(on_timeline)
    audited = (await live_db.scalars(select(AuditLog.actor_user_id).where(AuditLog.action == "message.reply"))).all()
    assert m.user_id in audited


async def test_status_callbacks_mark_delivered_and_failed_with_the_providers_reason(
    live_client: AsyncClient, live_db: AsyncSession, settings: Settings, sms_server: SmsProviderServer
) -> None:
    m = await live_manager(live_db)
    for n in ("+40722100005", "+40722100006"):
        await add_contact(live_db, m.org.id, mobile_e164=n, consent_sms="granted")
    await live_db.commit()
    tid = await _template(live_client, m, channel="sms", body_text="Salut")
    cid = await _campaign(live_client, m, tid, {})
    await live_client.post(f"{API}/campaigns/{cid}/send", json={}, headers=m.headers)
    assert (await _until_done(live_client, m, cid))["status"] == "done"
    rows = await _messages(live_db, m, cid)
    status_path = f"{API}/sms/{m.org.id}/status"
    ok, bad = rows["+40722100005"], rows["+40722100006"]
    for sid, status, extra in (
        (ok.provider_id, "sent", {}),
        (ok.provider_id, "delivered", {}),
        (ok.provider_id, "sent", {}),  # late and out of order: delivered stays
        (bad.provider_id, "undelivered", {"ErrorCode": "30003", "ErrorMessage": "Unreachable destination handset"}),
    ):
        form = {"MessageSid": str(sid), "MessageStatus": status, **extra}
        r = await _provider_posts(live_client, settings, status_path, form)
        assert r.status_code == 204, r.text
    live_db.expunge_all()  # m.org is not reloaded by the second read
    rows = await _messages(live_db, m, cid)
    assert rows["+40722100005"].status == "delivered"
    assert rows["+40722100006"].status == "undelivered"
    assert rows["+40722100006"].error == "30003 Unreachable destination handset"
    body = (await live_client.get(f"{API}/campaigns/{cid}", headers=m.headers)).json()
    assert body["counts"]["delivered"] == 1 and body["counts"]["undelivered"] == 1
    r = await _provider_posts(live_client, settings, status_path, {"MessageSid": "SMx", "MessageStatus": "failed"})
    assert r.status_code == 204  # an unknown message changes nothing
    assert isinstance(rows["+40722100005"], CampaignMessage)


async def test_a_status_callback_that_comes_before_the_batch_is_recorded_is_applied_when_it_is(
    live_client: AsyncClient, live_db: AsyncSession, settings: Settings, sms_server: SmsProviderServer
) -> None:
    m = await live_manager(live_db)
    await add_contact(live_db, m.org.id, mobile_e164="+40722100007", consent_sms="granted")
    await live_db.commit()
    sid = f"SM{uuid.uuid4().hex}"
    sms_server.script["+40722100007"] = [(201, {"sid": sid, "status": "queued"})]
    # The provider reports delivery while our batch is still being sent (its ids are recorded when it ends).
    r = await _provider_posts(
        live_client, settings, f"{API}/sms/{m.org.id}/status", {"MessageSid": sid, "MessageStatus": "delivered"}
    )
    assert r.status_code == 204
    tid = await _template(live_client, m, channel="sms", body_text="Salut")
    cid = await _campaign(live_client, m, tid, {})
    await live_client.post(f"{API}/campaigns/{cid}/send", json={}, headers=m.headers)
    assert (await _until_done(live_client, m, cid))["status"] == "done"
    rows = await _messages(live_db, m, cid)
    assert (rows["+40722100007"].provider_id, rows["+40722100007"].status) == (sid, "delivered")

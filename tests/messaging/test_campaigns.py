"""Campaigns end to end: the API, the real arq worker, a real SMTP server and a local SMS provider."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.config import Settings
from app.core.db import set_tenant
from app.messaging.delivery import run_campaign
from app.models import AuditLog, Campaign, CampaignMessage, ConsentLog, Contact, ContactEvent, Segment
from tests.fixtures.factories import Actor
from tests.messaging.conftest import Inbox, SmsProviderServer, add_contact, basic, live_manager

pytestmark = pytest.mark.usefixtures("arq_worker")
API = "/api/v1/messaging"


async def _template(client: AsyncClient, m: Actor, **body: Any) -> str:
    r = await client.post(f"{API}/templates", json={"name": f"t-{uuid.uuid4().hex[:6]}"} | body, headers=m.headers)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def _campaign(client: AsyncClient, m: Actor, template_id: str, flt: dict[str, Any]) -> str:
    r = await client.post(
        f"{API}/campaigns", json={"name": "Follow-up", "template_id": template_id, "filter": flt}, headers=m.headers
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def _until_done(client: AsyncClient, m: Actor, cid: str, wait_s: float = 20) -> dict[str, Any]:
    deadline = asyncio.get_running_loop().time() + wait_s
    while True:
        r = await client.get(f"{API}/campaigns/{cid}", headers=m.headers)
        body: dict[str, Any] = r.json()
        if body["status"] in ("done", "cancelled", "paused") or asyncio.get_running_loop().time() > deadline:
            return body
        await asyncio.sleep(0.1)


async def _messages(live_db: AsyncSession, m: Actor, cid: str) -> dict[str, CampaignMessage]:
    await live_db.rollback()
    await set_tenant(live_db, m.org.id)
    rows = await live_db.scalars(select(CampaignMessage).where(CampaignMessage.campaign_id == uuid.UUID(cid)))
    return {r.address: r for r in rows}


async def test_email_reaches_exactly_the_consented_deduplicated_contacts_with_escaped_content(
    live_client: AsyncClient, live_db: AsyncSession, smtp: Inbox
) -> None:
    m = await live_manager(live_db)
    o = m.org.id
    tag = ["follow"]
    ion = await add_contact(
        live_db, o, first_name="<b>Ion</b>", email="ion@example.org", consent_email="granted", tags=tag
    )
    await live_db.commit()  # the older of two contacts who share an address is the one written to
    await add_contact(live_db, o, first_name="Ion again", email="ION@example.org", consent_email="granted", tags=tag)
    await add_contact(live_db, o, first_name="Never asked", email="never@example.org", tags=tag)
    await add_contact(live_db, o, first_name="Withdrew", email="gone@example.org", consent_email="withdrawn", tags=tag)
    await add_contact(
        live_db, o, first_name="Dnc", email="dnc@example.org", consent_email="granted", dnc_email=True, tags=tag
    )
    await add_contact(live_db, o, first_name="Maria", email="maria@example.org", consent_email="granted", tags=tag)
    await add_contact(live_db, o, first_name="Outside", email="out@example.org", consent_email="granted")
    await live_db.commit()
    tid = await _template(
        live_client,
        m,
        channel="email",
        subject="Mulțumim, {{ contact.first_name }}",
        body_html="<p>Dragă {{ contact.first_name }},</p>",
        body_text="Dragă {{ contact.first_name }}",
    )
    cid = await _campaign(live_client, m, tid, {"tags_any": ["follow"]})
    r = await live_client.post(f"{API}/campaigns/{cid}/send", json={}, headers=m.headers)
    assert r.status_code == 200, r.text
    done = await _until_done(live_client, m, cid)
    assert done["status"] == "done", done
    assert done["counts"]["sent"] == 2 and done["counts"]["failed"] == 0

    assert smtp.to() == ["ion@example.org", "maria@example.org"]
    msg = smtp.for_address("ion@example.org")
    assert str(msg["Subject"]) == "Mulțumim, <b>Ion</b>"
    html = msg.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "<p>Dragă &lt;b&gt;Ion&lt;/b&gt;,</p>" in html and "<b>Ion</b>" not in html
    assert msg["From"] == "HQ <hq@groundgame.test>"

    rows = await _messages(live_db, m, cid)
    assert {a: r.status for a, r in rows.items()} == {"ion@example.org": "sent", "maria@example.org": "sent"}
    assert rows["ion@example.org"].contact_id == ion.id and rows["ion@example.org"].provider_id
    events = await live_db.scalar(
        select(func.count())
        .select_from(ContactEvent)
        .where(ContactEvent.contact_id == ion.id, ContactEvent.kind == "message")
    )
    assert events == 1
    audited = (await live_db.scalars(select(AuditLog.action).where(AuditLog.object_id == cid))).all()
    assert "campaign.send" in audited and "campaign.create" in audited


async def test_a_saved_segment_is_a_campaign_audience(
    live_client: AsyncClient, live_db: AsyncSession, smtp: Inbox
) -> None:
    m = await live_manager(live_db)
    o = m.org.id
    await add_contact(live_db, o, email="in@example.org", consent_email="granted", city="Iași")
    await add_contact(live_db, o, email="out@example.org", consent_email="granted", city="Cluj")
    seg = Segment(organization_id=o, name="Iași", filter={"cities": ["Iași"]})
    live_db.add(seg)
    await live_db.commit()
    tid = await _template(live_client, m, channel="email", subject="Hi", body_text="Hi {{ contact.city }}")
    cid = await _campaign(live_client, m, tid, {"segment_id": str(seg.id)})
    await live_client.post(f"{API}/campaigns/{cid}/send", json={}, headers=m.headers)
    assert (await _until_done(live_client, m, cid))["status"] == "done"
    assert smtp.to() == ["in@example.org"]
    assert smtp.for_address("in@example.org").get_body(("plain",)).get_content().startswith("Hi Iași\r\n")  # type: ignore[union-attr]


async def test_sms_reaches_only_contacts_with_sms_consent_and_temporary_failures_are_retried(
    live_client: AsyncClient, live_db: AsyncSession, sms_server: SmsProviderServer
) -> None:
    m = await live_manager(live_db)
    o = m.org.id
    await add_contact(live_db, o, first_name="Ștefan", mobile_e164="+40722000001", consent_sms="granted", tags=["s"])
    await add_contact(live_db, o, first_name="Dup", mobile_e164="+40722000001", consent_sms="granted", tags=["s"])
    await add_contact(live_db, o, first_name="Flaky", mobile_e164="+40722000002", consent_sms="granted", tags=["s"])
    await add_contact(live_db, o, first_name="Bad", mobile_e164="+40722000003", consent_sms="granted", tags=["s"])
    await add_contact(
        live_db, o, first_name="NoConsent", mobile_e164="+40722000004", consent_email="granted", tags=["s"]
    )
    await add_contact(
        live_db, o, first_name="Dnc", mobile_e164="+40722000005", consent_sms="granted", dnc_sms=True, tags=["s"]
    )
    await live_db.commit()
    sms_server.script["+40722000002"] = [(503, {"message": "busy"})]
    sms_server.script["+40722000003"] = [(400, {"message": "The 'To' number is not a valid phone number."})]
    tid = await _template(live_client, m, channel="sms", body_text="Salut {{ contact.first_name }}, mulțumim!")
    cid = await _campaign(live_client, m, tid, {"tags_any": ["s"]})
    await live_client.post(f"{API}/campaigns/{cid}/send", json={}, headers=m.headers)
    done = await _until_done(live_client, m, cid)
    assert done["status"] == "done", done

    assert sms_server.to() == ["+40722000001", "+40722000002"]
    first = next(x for x in sms_server.received if x["To"] == "+40722000001")  # one of the two who share it
    assert first["Body"] in ("Salut Ștefan, mulțumim!", "Salut Dup, mulțumim!") and first["From"] == "+40700000000"
    assert set(sms_server.auth) == {basic("ACtest", "tok")}
    rows = await _messages(live_db, m, cid)
    assert {a: r.status for a, r in rows.items()} == {
        "+40722000001": "sent",
        "+40722000002": "sent",
        "+40722000003": "failed",
    }
    assert rows["+40722000002"].attempts == 2
    assert rows["+40722000003"].attempts == 1 and "not a valid phone number" in (rows["+40722000003"].error or "")


async def test_a_test_send_goes_to_the_sender_only(
    live_client: AsyncClient, live_db: AsyncSession, smtp: Inbox
) -> None:
    m = await live_manager(live_db)
    c = await add_contact(live_db, m.org.id, first_name="Elena", email="elena@example.org", consent_email="granted")
    await live_db.commit()
    tid = await _template(live_client, m, channel="email", subject="Hi {{ contact.first_name }}", body_text="x")
    cid = await _campaign(live_client, m, tid, {})
    r = await live_client.post(f"{API}/campaigns/{cid}/test", json={"contact_id": str(c.id)}, headers=m.headers)
    assert r.status_code == 200, r.text
    assert smtp.to() == [m.email]
    assert str(smtp.messages[0][1]["Subject"]) == "[Test] Hi Elena"
    assert await _messages(live_db, m, cid) == {}
    r = await live_client.get(f"{API}/campaigns/{cid}", headers=m.headers)
    assert r.json()["status"] == "draft"
    audited = (await live_db.scalars(select(AuditLog.action).where(AuditLog.object_id == cid))).all()
    assert "campaign.test_send" in audited


async def test_a_scheduled_campaign_can_be_paused_and_cancelled_and_sends_nothing(
    live_client: AsyncClient, live_db: AsyncSession, smtp: Inbox
) -> None:
    m = await live_manager(live_db)
    await add_contact(live_db, m.org.id, email="a@example.org", consent_email="granted")
    await live_db.commit()
    tid = await _template(live_client, m, channel="email", subject="Hi", body_text="x")
    cid = await _campaign(live_client, m, tid, {})
    r = await live_client.post(
        f"{API}/campaigns/{cid}/send", json={"scheduled_at": "2099-01-01T08:00:00Z"}, headers=m.headers
    )
    assert r.json()["status"] == "scheduled"
    r = await live_client.post(f"{API}/campaigns/{cid}/pause", headers=m.headers)
    assert r.json()["status"] == "paused"
    r = await live_client.post(f"{API}/campaigns/{cid}/cancel", headers=m.headers)
    assert r.json()["status"] == "cancelled"
    r = await live_client.post(f"{API}/campaigns/{cid}/send", json={}, headers=m.headers)
    assert r.status_code == 409
    await asyncio.sleep(0.5)
    assert smtp.messages == [] and await _messages(live_db, m, cid) == {}


async def test_another_organizations_template_segment_or_campaign_is_refused(
    live_client: AsyncClient, live_db: AsyncSession
) -> None:
    m = await live_manager(live_db)
    other = await live_manager(live_db)
    seg = Segment(organization_id=other.org.id, name="theirs", filter={})
    await set_tenant(live_db, other.org.id)
    live_db.add(seg)
    await live_db.commit()
    theirs = await _template(live_client, other, channel="sms", body_text="hi")
    r = await live_client.post(f"{API}/campaigns", json={"name": "x", "template_id": theirs}, headers=m.headers)
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "template_id"
    mine = await _template(live_client, m, channel="sms", body_text="hi")
    r = await live_client.post(
        f"{API}/campaigns",
        json={"name": "x", "template_id": mine, "filter": {"segment_id": str(seg.id)}},
        headers=m.headers,
    )
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "filter.segment_id"
    their_campaign = await _campaign(live_client, other, theirs, {})
    for path in ("", "/send", "/cancel"):
        call = live_client.get if path == "" else live_client.post
        kw: dict[str, Any] = {"json": {}} if path == "/send" else {}
        r = await call(f"{API}/campaigns/{their_campaign}{path}", headers=m.headers, **kw)
        assert r.status_code == 404, (path, r.text)
    r = await live_client.get(f"{API}/templates/{theirs}", headers=m.headers)
    assert r.status_code == 404


async def test_smtp_refusals_fail_the_message_with_the_reason_and_temporary_ones_are_retried_then_given_up(
    live_client: AsyncClient, live_db: AsyncSession, smtp: Inbox
) -> None:
    m = await live_manager(live_db)
    for who in ("ok", "refused", "full"):
        await add_contact(live_db, m.org.id, email=f"{who}@example.org", consent_email="granted")
    await live_db.commit()
    smtp.refuse = {"refused@example.org": 550, "full@example.org": 452}
    tid = await _template(live_client, m, channel="email", subject="Hi", body_text="x")
    cid = await _campaign(live_client, m, tid, {})
    await live_client.post(f"{API}/campaigns/{cid}/send", json={}, headers=m.headers)
    done = await _until_done(live_client, m, cid)
    assert done["status"] == "done"
    rows = await _messages(live_db, m, cid)
    assert smtp.to() == ["ok@example.org"]
    assert (rows["ok@example.org"].status, rows["ok@example.org"].attempts) == ("sent", 1)
    assert (rows["refused@example.org"].status, rows["refused@example.org"].attempts) == ("failed", 1)
    assert "550" in (rows["refused@example.org"].error or "")
    assert (rows["full@example.org"].status, rows["full@example.org"].attempts) == ("failed", 5)
    assert "gave up after 5 attempts" in (rows["full@example.org"].error or "")


async def test_a_run_after_a_worker_died_mid_batch_sends_the_rest_and_nobody_twice(
    live_client: AsyncClient, live_db: AsyncSession, smtp: Inbox, engine: AsyncEngine, settings: Settings
) -> None:
    m = await live_manager(live_db)
    for who in ("claimed", "waiting", "done"):
        await add_contact(live_db, m.org.id, email=f"{who}@example.org", consent_email="granted")
    await live_db.commit()
    tid = await _template(live_client, m, channel="email", subject="Hi", body_text="x")
    cid = await _campaign(live_client, m, tid, {})
    await live_client.post(f"{API}/campaigns/{cid}/send", json={}, headers=m.headers)
    assert (await _until_done(live_client, m, cid))["status"] == "done"
    # The state a SIGKILL leaves: one message claimed (maybe delivered), one not yet taken, the campaign sending.
    await set_tenant(live_db, m.org.id)
    await live_db.execute(update(Campaign).where(Campaign.id == uuid.UUID(cid)).values(status="sending"))
    for address, status in (("claimed@example.org", "sending"), ("waiting@example.org", "queued")):
        await live_db.execute(
            update(CampaignMessage).where(CampaignMessage.address == address).values(status=status, sent_at=None)
        )
    await live_db.commit()
    smtp.messages.clear()

    assert (
        await run_campaign(
            engine, settings.messaging, m.org.id, uuid.UUID(cid), secret=settings.secret_key.get_secret_value()
        )
        == "done"
    )
    assert smtp.to() == ["waiting@example.org"]
    rows = await _messages(live_db, m, cid)
    assert {a: r.status for a, r in rows.items()} == {
        "claimed@example.org": "failed",
        "waiting@example.org": "sent",
        "done@example.org": "sent",
    }
    assert "not sent again" in (rows["claimed@example.org"].error or "")


async def test_a_second_run_of_the_same_campaign_leaves_it_to_the_first(
    live_db: AsyncSession, engine: AsyncEngine, settings: Settings
) -> None:
    cid = uuid.uuid4()
    async with engine.connect() as conn:
        await conn.execute(text("SELECT pg_advisory_lock(hashtextextended(:k, 0))"), {"k": f"campaign:{cid}"})
        assert await run_campaign(engine, settings.messaging, uuid.uuid4(), cid, secret="s") == "busy"
        await conn.execute(text("SELECT pg_advisory_unlock(hashtextextended(:k, 0))"), {"k": f"campaign:{cid}"})


async def test_a_scheduled_campaign_waits_for_its_time_then_sends(
    live_client: AsyncClient, live_db: AsyncSession, smtp: Inbox
) -> None:
    m = await live_manager(live_db)
    await add_contact(live_db, m.org.id, email="later@example.org", consent_email="granted")
    await live_db.commit()
    tid = await _template(live_client, m, channel="email", subject="Hi", body_text="x")
    cid = await _campaign(live_client, m, tid, {})
    at = datetime.now(UTC) + timedelta(seconds=2)
    r = await live_client.post(f"{API}/campaigns/{cid}/send", json={"scheduled_at": at.isoformat()}, headers=m.headers)
    assert r.json()["status"] == "scheduled"
    await asyncio.sleep(0.8)
    assert smtp.messages == []
    assert (await live_client.get(f"{API}/campaigns/{cid}", headers=m.headers)).json()["status"] == "scheduled"
    done = await _until_done(live_client, m, cid)
    assert done["status"] == "done" and smtp.to() == ["later@example.org"]
    rows = await _messages(live_db, m, cid)
    sent_at = rows["later@example.org"].sent_at
    assert sent_at is not None and sent_at >= at


async def test_pausing_mid_send_stops_after_the_batch_and_resuming_sends_the_rest_once(
    live_client: AsyncClient,
    live_db: AsyncSession,
    sms_server: SmsProviderServer,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(settings.messaging, "batch_size", 1)
    sms_server.delay_s = 0.15
    m = await live_manager(live_db)
    numbers = [f"+4072210000{i}" for i in range(6)]
    for n in numbers:
        await add_contact(live_db, m.org.id, mobile_e164=n, consent_sms="granted")
    await live_db.commit()
    tid = await _template(live_client, m, channel="sms", body_text="Hi {{ contact.first_name }}")
    cid = await _campaign(live_client, m, tid, {})
    await live_client.post(f"{API}/campaigns/{cid}/send", json={}, headers=m.headers)
    for _ in range(100):
        if sms_server.received:
            break
        await asyncio.sleep(0.02)
    r = await live_client.post(f"{API}/campaigns/{cid}/pause", headers=m.headers)
    assert r.status_code == 200 and r.json()["status"] == "paused"
    await asyncio.sleep(0.6)  # the batch in flight finishes; no other starts
    paused = (await live_client.get(f"{API}/campaigns/{cid}", headers=m.headers)).json()
    assert paused["status"] == "paused" and 1 <= paused["counts"]["sent"] < 6 and paused["counts"]["queued"] >= 1
    assert len(sms_server.received) == paused["counts"]["sent"]

    r = await live_client.post(f"{API}/campaigns/{cid}/resume", headers=m.headers)
    assert r.json()["status"] == "sending"
    done = await _until_done(live_client, m, cid)
    assert done["status"] == "done" and done["counts"]["sent"] == 6
    assert sms_server.to() == sorted(numbers)  # each number exactly once


async def test_the_sweeper_starts_a_campaign_whose_job_was_lost(
    live_client: AsyncClient, live_db: AsyncSession, smtp: Inbox, arq_worker: Any
) -> None:
    from app.worker import requeue_due_campaigns

    m = await live_manager(live_db)
    await add_contact(live_db, m.org.id, email="lost@example.org", consent_email="granted")
    await live_db.commit()
    tid = await _template(live_client, m, channel="email", subject="Hi", body_text="x")
    cid = await _campaign(live_client, m, tid, {})
    # "send" committed, but the enqueue never reached Redis (the API process died right after the commit)
    await set_tenant(live_db, m.org.id)
    await live_db.execute(update(Campaign).where(Campaign.id == uuid.UUID(cid)).values(status="sending", run=1))
    await live_db.commit()
    await asyncio.sleep(0.3)
    assert smtp.messages == []

    assert await requeue_due_campaigns(arq_worker.ctx) >= 1
    done = await _until_done(live_client, m, cid)
    assert done["status"] == "done" and smtp.to() == ["lost@example.org"]


async def test_a_test_email_cannot_be_aimed_at_someone_else(
    live_client: AsyncClient, live_db: AsyncSession, smtp: Inbox
) -> None:
    m = await live_manager(live_db)
    tid = await _template(live_client, m, channel="email", subject="Hi", body_text="x")
    cid = await _campaign(live_client, m, tid, {})
    r = await live_client.post(f"{API}/campaigns/{cid}/test", json={"email": "victim@example.org"}, headers=m.headers)
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "email"
    assert smtp.messages == []


async def test_one_click_unsubscribe_withdraws_email_consent_and_the_next_campaign_skips_the_address(
    live_client: AsyncClient, live_db: AsyncSession, smtp: Inbox
) -> None:
    m = await live_manager(live_db)
    c = await add_contact(live_db, m.org.id, email="bye@example.org", consent_email="granted")
    await add_contact(live_db, m.org.id, email="stay@example.org", consent_email="granted")
    await live_db.commit()
    tid = await _template(live_client, m, channel="email", subject="Hi", body_html="<p>Hi</p>", body_text="Hi")
    first = await _campaign(live_client, m, tid, {})
    await live_client.post(f"{API}/campaigns/{first}/send", json={}, headers=m.headers)
    assert (await _until_done(live_client, m, first))["status"] == "done"
    msg = smtp.for_address("bye@example.org")
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    link = str(msg["List-Unsubscribe"]).strip("<>")
    assert link in msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Unsubscribe</a>" in msg.get_body(("html",)).get_content()  # type: ignore[union-attr]
    path = link[link.index("/api/v1/") :]

    assert (await live_client.post(path + "x")).status_code == 404  # a tampered link does nothing
    assert (await live_client.get(path)).status_code == 200  # the footer's page: a button, no change yet
    r = await live_client.post(path, content=b"List-Unsubscribe=One-Click")  # no login: the mail client posts it
    assert r.status_code == 200 and r.json() == {"unsubscribed": True, "changed": True}
    assert (await live_client.post(path)).json()["changed"] is False  # once
    await live_db.rollback()
    await set_tenant(live_db, m.org.id)
    assert await live_db.scalar(select(Contact.consent_email).where(Contact.id == c.id)) == "withdrawn"
    log = (await live_db.scalars(select(ConsentLog).where(ConsentLog.contact_id == c.id))).all()
    assert [(x.channel, x.status, x.source) for x in log] == [("email", "withdrawn", "unsubscribe")]
    assert first in (log[0].proof or "")

    smtp.messages.clear()
    second = await _campaign(live_client, m, tid, {})
    await live_client.post(f"{API}/campaigns/{second}/send", json={}, headers=m.headers)
    assert (await _until_done(live_client, m, second))["status"] == "done"
    assert smtp.to() == ["stay@example.org"]

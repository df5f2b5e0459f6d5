"""Messages to one person: a personal message from a contact's page, an answer from the SMS inbox, the opt-out
confirmation. Each is stored `queued`, then sent by a job after commit (`send_direct_message_job`), which checks
consent again, claims the row (`sending`, committed) before handing it to the provider so a second run never
sends it twice, retries temporary failures with backoff, and puts what was sent on the contact's timeline."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import cast

from redis.asyncio import Redis
from sqlalchemy import Table, and_, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from starlette.datastructures import State

from app.audit import service as audit
from app.auth.principal import Principal
from app.config import MessagingSettings
from app.core import jobs, pagination, paths
from app.core.db import make_sessionmaker, set_tenant
from app.core.errors import NotFound, Unprocessable
from app.core.pagination import Page
from app.messaging.audience import apply_early, reachable
from app.messaging.schemas import DirectMessageRead, InboxReply, PersonalMessage
from app.messaging.senders import (
    EmailSender,
    Pacer,
    PermanentFailure,
    SmsProvider,
    TemporaryFailure,
    build_email,
    pace_key,
    sms_provider,
)
from app.messaging.sms import MAX_SEGMENTS, measure
from app.models import Contact, ContactEvent, DirectMessage

log = logging.getLogger("groundgame.messaging")
JOB = "send_direct_message_job"


class ContactNotFound(NotFound):
    code = "contact_not_found"
    message = "Contact not found."


class InboxMessageNotFound(NotFound):
    code = "inbox_message_not_found"
    message = "Message not found."


def opt_out_text() -> str:
    from app.config import get_settings

    return get_settings().messaging.sms_opt_out_confirmation


def _check_sms(body: str) -> None:
    n = measure(body)
    if n.segments > MAX_SEGMENTS:
        raise Unprocessable(
            f"An SMS of {n.segments} parts is too long (at most {MAX_SEGMENTS}).",
            details=[{"field": "body", "message": f"{n.segments} {n.encoding} segments; at most {MAX_SEGMENTS}"}],
        )


async def queue_out(
    session: AsyncSession,
    organization_id: uuid.UUID,
    *,
    kind: str,
    channel: str,
    address: str,
    contact_id: uuid.UUID | None,
    body: str,
    sent_by: uuid.UUID | None,
    subject: str = "",
    reply_to_id: uuid.UUID | None = None,
) -> uuid.UUID:
    m = DirectMessage(
        organization_id=organization_id,
        contact_id=contact_id,
        channel=channel,
        direction="out",
        kind=kind,
        address=address,
        subject=subject,
        body=body,
        status="queued",
        sent_by=sent_by,
        reply_to_id=reply_to_id,
    )
    session.add(m)
    await session.flush()
    return m.id


def deliver_later(state: State, organization_id: uuid.UUID, message_id: uuid.UUID) -> Callable[[], Awaitable[None]]:
    """An after-commit hook that enqueues the send (the message is in the database before the job looks)."""

    async def go() -> None:
        await jobs.enqueue(
            state, JOB, str(organization_id), str(message_id), job_id=f"direct:{organization_id}:{message_id}"
        )

    return go


async def send_personal(
    session: AsyncSession, contact_id: uuid.UUID, body: PersonalMessage, *, actor: Principal
) -> DirectMessageRead:
    """Only to a contact with current consent for the channel (and no do-not-contact); audited with the sender."""
    org = actor.organization_id
    c = await session.scalar(select(Contact).where(Contact.organization_id == org, Contact.id == contact_id))
    if c is None:
        raise ContactNotFound()
    ok = await session.scalar(
        select(func.count()).where(Contact.organization_id == org, Contact.id == c.id, reachable(body.channel))
    )
    if not ok:
        raise Unprocessable(
            f"This contact has not consented to {body.channel} messages (or cannot receive them).",
            details=[{"field": "channel", "message": "no consent, do-not-contact or no usable address"}],
        )
    if body.channel == "sms":
        _check_sms(body.body)
    elif not body.subject:
        raise Unprocessable("An email needs a subject.", details=[{"field": "subject", "message": "required"}])
    address = (c.email or "") if body.channel == "email" else (c.mobile_e164 or "")
    mid = await queue_out(
        session,
        org,
        kind="personal",
        channel=body.channel,
        address=address,
        contact_id=c.id,
        body=body.body,
        subject=body.subject if body.channel == "email" else "",
        sent_by=actor.user_id,
    )
    await audit.record(
        session,
        actor=actor,
        action="message.personal",
        object_type="contact",
        object_id=c.id,
        details={"channel": body.channel, "direct_message_id": str(mid)},
    )
    return await read(session, org, mid)


async def read(session: AsyncSession, organization_id: uuid.UUID, message_id: uuid.UUID) -> DirectMessageRead:
    m = await session.scalar(
        select(DirectMessage).where(DirectMessage.organization_id == organization_id, DirectMessage.id == message_id)
    )
    if m is None:
        raise InboxMessageNotFound()
    return DirectMessageRead.model_validate(m)


async def inbox(
    session: AsyncSession, *, organization_id: uuid.UUID, unanswered: bool, cursor: str | None, limit: int
) -> Page[DirectMessageRead]:
    """SMS replies that are not opt-outs, newest first (keyset on the time-ordered id)."""
    before = (pagination.after(cursor, uuid.UUID) or [None])[0]
    q = select(DirectMessage).where(
        DirectMessage.organization_id == organization_id,
        DirectMessage.direction == "in",
        DirectMessage.kind == "reply",
    )
    if unanswered:
        q = q.where(DirectMessage.answered_at.is_(None))
    if before is not None:
        q = q.where(DirectMessage.id < before)
    rows, nxt = pagination.cut(
        list(await session.scalars(q.order_by(DirectMessage.id.desc()).limit(limit + 1))), limit, lambda m: [str(m.id)]
    )
    return Page[DirectMessageRead](items=[DirectMessageRead.model_validate(m) for m in rows], next_cursor=nxt)


async def reply(
    session: AsyncSession, message_id: uuid.UUID, body: InboxReply, *, actor: Principal
) -> DirectMessageRead:
    """Answer an inbox SMS: to the number it came from, unless that number opted out since."""
    org = actor.organization_id
    m = await session.scalar(
        select(DirectMessage)
        .where(
            DirectMessage.organization_id == org,
            DirectMessage.id == message_id,
            DirectMessage.direction == "in",
            DirectMessage.kind == "reply",
        )
        .with_for_update()
    )
    if m is None:
        raise InboxMessageNotFound()
    if await _opted_out(session, org, m.address):
        raise Unprocessable(
            "This number has opted out of text messages.", details=[{"field": "body", "message": "opted out"}]
        )
    _check_sms(body.body)
    mid = await queue_out(
        session,
        org,
        kind="reply",
        channel="sms",
        address=m.address,
        contact_id=m.contact_id,
        body=body.body,
        sent_by=actor.user_id,
        reply_to_id=m.id,
    )
    m.answered_at = func.now()
    await audit.record(
        session,
        actor=actor,
        action="message.reply",
        object_type="direct_message",
        object_id=str(m.id),
        details={"direct_message_id": str(mid)},
    )
    return await read(session, org, mid)


async def _opted_out(session: AsyncSession, org: uuid.UUID, number: str) -> bool:
    q = select(
        exists().where(
            Contact.organization_id == org,
            Contact.mobile_e164 == number,
            or_(Contact.consent_sms == "withdrawn", Contact.dnc_sms.is_(True)),
        )
    )
    return bool(await session.scalar(q))


async def _allowed(session: AsyncSession, m: DirectMessage) -> bool:
    """Checked again at send time: consent may have been withdrawn since the message was queued."""
    if m.kind == "opt_out_confirm":
        return True
    if m.kind == "reply":
        return not await _opted_out(session, m.organization_id, m.address)
    q = select(
        exists()
        .where(and_(Contact.organization_id == m.organization_id, Contact.id == m.contact_id))
        .where(reachable(m.channel))
    )
    return bool(await session.scalar(q))


async def deliver(
    engine: AsyncEngine,
    settings: MessagingSettings,
    organization_id: uuid.UUID,
    message_id: uuid.UUID,
    *,
    attempt: int,
    sms: SmsProvider | None = None,
    redis: Redis | None = None,
) -> tuple[str, float | None]:
    """Send one queued direct message. Returns (status, retry_in_s): a temporary failure asks for a retry.

    It keeps the provider's pace shared with the campaigns (senders.Pacer), but not quiet hours: a personal
    message, an inbox answer or an opt-out confirmation is a person's (or the contact's own) act, sent at once,
    as VAN and CallHub send a staff member's one-off text; quiet hours are for automated sends (campaigns,
    app/messaging/quiet.py). The one who writes at night sees the hour."""
    maker = make_sessionmaker(engine)
    async with maker() as session, session.begin():
        await set_tenant(session, organization_id)
        m = await session.scalar(
            select(DirectMessage)
            .where(DirectMessage.organization_id == organization_id, DirectMessage.id == message_id)
            .with_for_update(skip_locked=True)
        )
        if m is None or m.status != "queued" or m.direction != "out":
            return (m.status if m else "gone", None)
        if not await _allowed(session, m):
            m.status, m.error = "skipped", "no consent or do-not-contact"
            return ("skipped", None)
        m.status = "sending"
        channel, address, subject, text = m.channel, m.address, m.subject, m.body
    rate = settings.email_per_second if channel == "email" else settings.sms_per_second
    await Pacer(rate, redis=redis, key=pace_key(channel, settings)).wait()
    try:
        if channel == "email":
            sender = EmailSender(settings)
            try:
                msg = build_email(
                    settings, to=address, subject=subject, html="", text=text, organization_id=organization_id
                )
                pid = await sender.send(msg)
            finally:
                await sender.aclose()
        else:
            provider = sms or sms_provider(settings)
            try:
                callback = settings.public_url.rstrip("/") + paths.sms_status(organization_id)
                pid = await provider.send(address, text, status_callback=callback)
            finally:
                if sms is None:
                    await provider.aclose()
        status, error, retry = "sent", None, None
    except TemporaryFailure as e:
        if attempt >= settings.max_attempts:
            status, error, retry = "failed", f"gave up after {attempt} attempts: {e}"[:1000], None
        else:
            status, error, retry = "queued", str(e)[:1000], settings.retry_backoff_s * 2 ** (attempt - 1)
        pid = None
    except PermanentFailure as e:
        status, error, retry, pid = "failed", str(e)[:1000], None, None
    async with maker() as session, session.begin():
        await set_tenant(session, organization_id)
        m = await session.get(DirectMessage, (organization_id, message_id))
        assert m is not None
        m.status, m.error = status, error
        m.provider_id = pid or m.provider_id
        if status == "sent" and channel == "sms":
            await session.flush()
            await apply_early(session, organization_id, cast(Table, DirectMessage.__table__), [m.id])
            await session.refresh(m)
        if status == "sent" and m.contact_id is not None:
            label = {"personal": "Personal", "reply": "Reply", "opt_out_confirm": "Opt-out confirmation"}[m.kind]
            session.add(
                ContactEvent(
                    organization_id=organization_id,
                    contact_id=m.contact_id,
                    kind="message",
                    actor_user_id=m.sent_by,
                    summary=f"{label} {channel.upper()}: {subject or text}"[:500],
                    data={"channel": channel, "direction": "out", "direct_message_id": str(m.id)},
                )
            )
    return status, retry

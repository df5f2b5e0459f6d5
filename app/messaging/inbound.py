"""What the providers tell us: inbound SMS (an opt-out keyword, or a reply for the inbox), SMS status callbacks,
and email events (bounced, opened) from the mail system.

Inbound SMS and status callbacks are authenticated by the provider's signature (Twilio's `X-Twilio-Signature`:
base64 HMAC-SHA1, keyed with the auth token, of the full URL followed by each POST parameter's name and value
in name order); the URL carries the organization, so no lookup crosses tenants. Email events are authenticated
by a shared secret and name the message by the Message-ID we gave it, which carries the organization."""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import unicodedata
import uuid
from collections.abc import Mapping

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import State

from app.contacts import consents
from app.contacts.schemas import ConsentInput
from app.core.db import after_commit, set_tenant
from app.core.errors import Forbidden, Unprocessable
from app.core.phones import InvalidPhone, normalize
from app.messaging import direct
from app.messaging.schemas import EmailEvent, EmailEventRead
from app.messaging.senders import org_of_message_id
from app.models import CampaignMessage, Contact, ContactEvent, DirectMessage, Organization, SmsStatusReport

log = logging.getLogger("groundgame.messaging")

# Said alone (any case, accents or surrounding punctuation), these withdraw SMS consent.
STOP_WORDS = frozenset({"stop", "stop all", "stopall", "unsubscribe", "arret", "dezabonare", "cancel", "end", "quit"})

# Twilio's MessageStatus → ours. Intermediate ones (accepted, sending, receiving…) change nothing.
SMS_STATUSES = {
    "queued": "queued",
    "sent": "sent",
    "delivered": "delivered",
    "undelivered": "undelivered",
    "failed": "failed",
}
# A later status never goes back to an earlier one (callbacks may arrive out of order).
_RANK = {"queued": 0, "sending": 1, "sent": 2, "delivered": 3, "opened": 4, "undelivered": 3, "failed": 3}


class SignatureInvalid(Forbidden):
    code = "signature_invalid"
    message = "The request's provider signature is missing or wrong."


def keyword(body: str) -> str:
    """Case-, accent-, punctuation- and spacing-insensitive form of a short reply."""
    decomposed = unicodedata.normalize("NFKD", body.casefold())
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    letters = "".join(ch if ch.isalnum() else " " for ch in plain)
    return " ".join(letters.split())


def is_opt_out(body: str) -> bool:
    return keyword(body) in STOP_WORDS


def twilio_signature(token: str, url: str, params: Mapping[str, str]) -> str:
    data = url + "".join(k + params[k] for k in sorted(params))
    return base64.b64encode(hmac.new(token.encode(), data.encode(), hashlib.sha1).digest()).decode()


def verify(token: str, url: str, params: Mapping[str, str], signature: str | None) -> None:
    if not token or not signature or not hmac.compare_digest(twilio_signature(token, url, params), signature):
        raise SignatureInvalid()


async def _org_exists(session: AsyncSession, organization_id: uuid.UUID) -> bool:
    await set_tenant(session, organization_id)
    return bool(await session.scalar(select(func.count()).where(Organization.id == organization_id)))


async def receive_sms(
    session: AsyncSession, organization_id: uuid.UUID, params: Mapping[str, str], *, state: State
) -> str:
    """Store one inbound SMS (once per provider id: the provider retries). Returns what it was: `opt_out`,
    `reply`, `duplicate` or `ignored` (an unknown organization)."""
    if not await _org_exists(session, organization_id):
        return "ignored"
    sid = params.get("MessageSid") or params.get("SmsSid") or None
    body = params.get("Body", "")[:2000]
    try:
        sender = normalize(params.get("From", ""), "RO").e164  # providers send E.164: the region is unused
    except InvalidPhone as e:
        raise Unprocessable("Invalid sender.", details=[{"field": "From", "message": str(e)}]) from e
    org = organization_id
    if sid is not None:
        seen = await session.scalar(
            select(func.count()).where(
                DirectMessage.organization_id == org,
                DirectMessage.provider_id == sid,
                DirectMessage.direction == "in",
            )
        )
        if seen:
            return "duplicate"
    contacts = list(
        await session.scalars(
            select(Contact)
            .where(Contact.organization_id == org, Contact.mobile_e164 == sender)
            .order_by(Contact.created_at, Contact.id)
        )
    )
    opt_out = is_opt_out(body)
    msg = DirectMessage(
        organization_id=org,
        contact_id=contacts[0].id if contacts else None,
        channel="sms",
        direction="in",
        kind="opt_out" if opt_out else "reply",
        address=sender,
        body=body,
        status="received",
        provider_id=sid,
    )
    session.add(msg)
    await session.flush()
    if opt_out:
        changed = False
        for c in contacts:  # every contact with this number: the number, not one record, asked to stop
            if c.consent_sms != "withdrawn":
                inp = ConsentInput(channel="sms", status="withdrawn", source="sms_reply", proof=f"SMS: {body[:100]}")
                await consents.record_many(session, c, [inp], actor=None)
                changed = True
        if changed:  # confirmed once: a second STOP (or the provider's retry) sends nothing more
            confirm = await direct.queue_out(
                session,
                org,
                kind="opt_out_confirm",
                channel="sms",
                address=sender,
                contact_id=msg.contact_id,
                body=direct.opt_out_text(),
                sent_by=None,
                reply_to_id=msg.id,
            )
            after_commit(session, direct.deliver_later(state, org, confirm))
        return "opt_out"
    for c in contacts:
        session.add(
            ContactEvent(
                organization_id=org,
                contact_id=c.id,
                kind="message",
                summary=f"SMS received: {body}"[:500],
                data={"channel": "sms", "direction": "in", "direct_message_id": str(msg.id)},
            )
        )
    await session.flush()
    return "reply"


async def sms_status(session: AsyncSession, organization_id: uuid.UUID, params: Mapping[str, str]) -> bool:
    """Apply a status callback to the message with that provider id (campaign or direct). Returns whether one
    matched. The provider's reason (ErrorCode, ErrorMessage) is kept with failed and undelivered."""
    if not await _org_exists(session, organization_id):
        return False
    sid = params.get("MessageSid") or params.get("SmsSid")
    status = SMS_STATUSES.get(params.get("MessageStatus") or params.get("SmsStatus") or "")
    if not sid or status is None:
        return False
    reason = None
    if status in ("failed", "undelivered"):
        code, text = params.get("ErrorCode", ""), params.get("ErrorMessage", "")
        reason = (f"{code} {text}".strip() or f"provider: {status}")[:1000]
    matched = 0
    tables: tuple[type[CampaignMessage] | type[DirectMessage], ...] = (CampaignMessage, DirectMessage)
    for table in tables:
        row: CampaignMessage | DirectMessage | None = await session.scalar(
            select(table).where(table.organization_id == organization_id, table.provider_id == sid).with_for_update()
        )
        if row is None:
            continue
        matched += 1
        if _RANK.get(status, 0) >= _RANK.get(row.status, 0) and row.status not in ("bounced",):
            row.status = status
            if reason:
                row.error = reason
    if not matched:  # we have not recorded this id yet: kept, applied when we do (reports.apply_early)
        stmt = pg_insert(SmsStatusReport).values(
            organization_id=organization_id, provider_id=sid, status=status, error=reason
        )
        await session.execute(
            stmt.on_conflict_do_update(
                index_elements=["organization_id", "provider_id"],
                set_={"status": stmt.excluded.status, "error": stmt.excluded.error},
                where=SmsStatusReport.status.in_(("queued", "sent")),  # a final status is not replaced
            )
        )
    await session.flush()
    return bool(matched)


async def email_event(session: AsyncSession, body: EmailEvent) -> EmailEventRead:
    """A bounce marks the message bounced and the contact's address invalid (campaigns skip it from now on); an
    open marks a sent or delivered message opened."""
    org = org_of_message_id(body.message_id)
    if org is None or not await _org_exists(session, org):
        return EmailEventRead(matched=False)
    m = await session.scalar(
        select(CampaignMessage).where(
            CampaignMessage.organization_id == org, CampaignMessage.provider_id == body.message_id.strip()
        )
    )
    d = None
    if m is None:
        d = await session.scalar(
            select(DirectMessage).where(
                DirectMessage.organization_id == org, DirectMessage.provider_id == body.message_id.strip()
            )
        )
    row = m or d
    if row is None:
        return EmailEventRead(matched=False)
    if body.event == "bounced":
        row.status = "bounced"
        row.error = (body.reason or "bounced")[:1000]
        # Every contact with this address (campaigns write to an address once, whichever contact holds it).
        await session.execute(
            update(Contact)
            .where(Contact.organization_id == org, func.lower(Contact.email) == row.address.lower())
            .values(email_invalid=True)
        )
    elif row.status in ("sent", "delivered"):
        row.status = "opened"
    await session.flush()
    return EmailEventRead(matched=True, status=row.status)

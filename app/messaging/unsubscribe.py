"""One-click unsubscribe (RFC 8058): a link per recipient, signed with the secret key, that withdraws the
contact's email consent (in the consent log, so on the timeline, with the campaign as its source)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.contacts import consents
from app.contacts.schemas import ConsentInput
from app.core import paths
from app.core.db import set_tenant
from app.core.errors import NotFound
from app.models import Contact


class UnsubscribeLinkInvalid(NotFound):
    code = "unsubscribe_link_invalid"
    message = "This unsubscribe link is not valid."


def _sig(secret: str, payload: bytes) -> bytes:
    return hmac.new(secret.encode(), b"unsubscribe:" + payload, hashlib.sha256).digest()[:16]


def token(secret: str, organization_id: uuid.UUID, contact_id: uuid.UUID, campaign_id: uuid.UUID) -> str:
    payload = organization_id.bytes + contact_id.bytes + campaign_id.bytes
    return base64.urlsafe_b64encode(payload + _sig(secret, payload)).decode().rstrip("=")


def url(public_url: str, tok: str) -> str:
    return public_url.rstrip("/") + paths.unsubscribe(tok)


def parse(secret: str, tok: str) -> tuple[uuid.UUID, uuid.UUID, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode(tok + "=" * (-len(tok) % 4))
    except ValueError as e:
        raise UnsubscribeLinkInvalid() from e
    payload, sig = raw[:48], raw[48:]
    if len(raw) != 64 or not hmac.compare_digest(sig, _sig(secret, payload)):
        raise UnsubscribeLinkInvalid()
    return uuid.UUID(bytes=payload[:16]), uuid.UUID(bytes=payload[16:32]), uuid.UUID(bytes=payload[32:48])


async def withdraw(session: AsyncSession, tok: str, *, secret: str) -> bool:
    """Withdraw email consent (once: a second click records nothing). Returns whether it changed."""
    org, cid, campaign = parse(secret, tok)
    await set_tenant(session, org)
    contact = await session.scalar(select(Contact).where(Contact.organization_id == org, Contact.id == cid))
    if contact is None:
        raise UnsubscribeLinkInvalid()
    if contact.consent_email == "withdrawn":
        return False
    inp = ConsentInput(channel="email", status="withdrawn", source="unsubscribe", proof=f"campaign {campaign}")
    await consents.record_many(session, contact, [inp], actor=None)
    return True

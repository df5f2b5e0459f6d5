"""Templates and campaigns: the rules (who may receive what, which transitions a campaign allows)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.audit import service as audit
from app.auth import references
from app.auth.principal import Principal
from app.contacts.filters import resolve
from app.contacts.repository import CONTACT
from app.core.db import set_tenant
from app.core.errors import Conflict, NotFound, Unprocessable
from app.messaging import audience
from app.messaging.render import PUBLIC_FIELDS, Compiled, compile_parts, contact_fields
from app.messaging.schemas import (
    CampaignCounts,
    CampaignCreate,
    CampaignRead,
    SmsStats,
    TemplateCreate,
    TemplatePreview,
    TemplatePreviewRead,
    TemplateRead,
    TestSend,
)
from app.messaging.sms import MAX_SEGMENTS, measure
from app.models import Action, Campaign, CampaignMessage, Contact, MessageTemplate

SAMPLE = {
    "first_name": "Ana",
    "last_name": "Popescu",
    "city": "București",
    "street": "Strada Lipscani",
    "postal_code": "030031",
    "country": "RO",
    "language": "ro",
}


async def merge_fields(session: AsyncSession, actor: Principal, body: TemplatePreview | TestSend) -> dict[str, str]:
    """The merge fields a preview or a test send renders with: the named contact's (checked against the caller's
    organization and visibility), else the sample."""
    if body.contact_id is None:
        return SAMPLE
    await references.check(session, actor, body, {"contact_id": CONTACT})
    contact = await session.scalar(
        select(Contact).where(Contact.organization_id == actor.organization_id, Contact.id == body.contact_id)
    )
    return contact_fields(contact)


class TemplateNotFound(NotFound):
    code = "template_not_found"
    message = "Message template not found."


class CampaignNotFound(NotFound):
    code = "campaign_not_found"
    message = "Campaign not found."


def parts_of(channel: str, subject: str, body_html: str, body_text: str) -> dict[str, str]:
    if channel == "sms":
        return {"body_text": body_text}
    return {"subject": subject, "body_html": body_html, "body_text": body_text}


def check_parts(channel: str, subject: str, body_html: str, body_text: str) -> Compiled:
    """Every part parses and names only public merge fields; an SMS fits in MAX_SEGMENTS parts (as written)."""
    if channel == "sms" and not body_text.strip():
        raise Unprocessable("An SMS needs a text.", details=[{"field": "body_text", "message": "required"}])
    if channel == "email" and not subject.strip():
        raise Unprocessable("An email needs a subject.", details=[{"field": "subject", "message": "required"}])
    if channel == "email" and not (body_html.strip() or body_text.strip()):
        raise Unprocessable("An email needs a body.", details=[{"field": "body_html", "message": "required"}])
    compiled = compile_parts(parts_of(channel, subject, body_html, body_text))
    if channel == "sms":
        check_sms_length(compiled.render(SAMPLE)["body_text"])
    return compiled


def check_sms_length(text: str) -> None:
    n = measure(text)
    if n.segments > MAX_SEGMENTS:
        raise Unprocessable(
            f"An SMS of {n.segments} parts is too long (at most {MAX_SEGMENTS}).",
            details=[{"field": "body_text", "message": f"{n.segments} {n.encoding} segments; at most {MAX_SEGMENTS}"}],
        )


# Templates


async def get_template(session: AsyncSession, template_id: uuid.UUID, *, organization_id: uuid.UUID) -> MessageTemplate:
    t = await session.scalar(
        select(MessageTemplate).where(
            MessageTemplate.organization_id == organization_id, MessageTemplate.id == template_id
        )
    )
    if t is None:
        raise TemplateNotFound()
    return t


async def list_templates(session: AsyncSession, *, organization_id: uuid.UUID) -> list[TemplateRead]:
    rows = await session.scalars(
        select(MessageTemplate).where(MessageTemplate.organization_id == organization_id).order_by(MessageTemplate.name)
    )
    return [TemplateRead.model_validate(t) for t in rows]


async def create_template(session: AsyncSession, body: TemplateCreate, *, actor: Principal) -> TemplateRead:
    subject, html = (body.subject, body.body_html) if body.channel == "email" else ("", "")
    check_parts(body.channel, subject, html, body.body_text)
    t = MessageTemplate(
        organization_id=actor.organization_id,
        name=body.name,
        channel=body.channel,
        subject=subject,
        body_html=html,
        body_text=body.body_text,
        created_by=actor.user_id,
    )
    try:
        async with session.begin_nested():
            session.add(t)
            await session.flush()
    except IntegrityError as e:
        raise Conflict("A template of that name exists.", details=[{"field": "name", "message": "taken"}]) from e
    return TemplateRead.model_validate(t)


async def preview(session: AsyncSession, body: TemplatePreview, *, actor: Principal) -> TemplatePreviewRead:
    compiled = compile_parts(parts_of(body.channel, body.subject, body.body_html, body.body_text))
    out = compiled.render(await merge_fields(session, actor, body))
    sms = None
    if body.channel == "sms":
        n = measure(out["body_text"])
        sms = SmsStats(encoding=n.encoding, length=n.units, segments=n.segments, per_segment=n.per_segment)
    return TemplatePreviewRead(
        subject=out.get("subject", ""),
        body_html=out.get("body_html", ""),
        body_text=out.get("body_text", ""),
        sms=sms,
        fields=list(PUBLIC_FIELDS),
    )


# Campaigns


async def get_campaign(session: AsyncSession, campaign_id: uuid.UUID, *, organization_id: uuid.UUID) -> Campaign:
    c = await session.scalar(
        select(Campaign).where(Campaign.organization_id == organization_id, Campaign.id == campaign_id)
    )
    if c is None:
        raise CampaignNotFound()
    return c


async def create_campaign(session: AsyncSession, body: CampaignCreate, *, actor: Principal) -> CampaignRead:
    org = actor.organization_id
    t = await session.scalar(
        select(MessageTemplate).where(MessageTemplate.organization_id == org, MessageTemplate.id == body.template_id)
    )
    if t is None:
        raise Unprocessable(
            "Unknown reference: template_id.",
            details=[{"field": "template_id", "message": "message template not found"}],
        )
    await resolve(session, body.filter, org, actor=actor, field="filter")  # the filter's ids are the caller's
    if body.action_id is not None and not await session.scalar(
        select(func.count()).where(Action.organization_id == org, Action.id == body.action_id)
    ):
        raise Unprocessable(
            "Unknown reference: action_id.", details=[{"field": "action_id", "message": "action not found"}]
        )
    c = Campaign(
        organization_id=org,
        name=body.name,
        channel=t.channel,
        template_id=t.id,
        subject=t.subject,
        body_html=t.body_html,
        body_text=t.body_text,
        filter=body.filter.model_dump(mode="json", exclude_defaults=True),
        action_id=body.action_id,
        created_by=actor.user_id,
    )
    session.add(c)
    await session.flush()
    await audit.record(session, actor=actor, action="campaign.create", object_type="campaign", object_id=c.id)
    return await read(session, c)


async def read(session: AsyncSession, c: Campaign) -> CampaignRead:
    out = CampaignRead.model_validate(c)
    rows = await session.execute(audience.counts_query(c.organization_id, [c.id]))
    out.counts = CampaignCounts(**{status: n for _, status, n in rows})
    return out


async def list_campaigns(session: AsyncSession, *, organization_id: uuid.UUID) -> list[CampaignRead]:
    cs = list(
        await session.scalars(
            select(Campaign).where(Campaign.organization_id == organization_id).order_by(Campaign.created_at.desc())
        )
    )
    counts: dict[uuid.UUID, dict[str, int]] = {}
    if cs:
        for cid, status, n in await session.execute(audience.counts_query(organization_id, [c.id for c in cs])):
            counts.setdefault(cid, {})[status] = n
    out = []
    for c in cs:
        r = CampaignRead.model_validate(c)
        r.counts = CampaignCounts(**counts.get(c.id, {}))
        out.append(r)
    return out


def _transition(c: Campaign, allowed: tuple[str, ...], to: str) -> None:
    if c.status not in allowed:
        raise Conflict(f"A {c.status} campaign cannot be {to}.", details=[{"field": "status", "message": c.status}])


async def send(session: AsyncSession, c: Campaign, *, scheduled_at: datetime | None, actor: Principal) -> CampaignRead:
    """Queue the campaign (the job materializes the recipients when it starts: consent as it is then)."""
    _transition(c, ("draft",), "sent")
    now = datetime.now(UTC)
    later = scheduled_at is not None and scheduled_at > now
    c.status = "scheduled" if later else "sending"
    c.scheduled_at = scheduled_at if later else None
    c.sent_by = actor.user_id
    c.run += 1
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        action="campaign.schedule" if later else "campaign.send",
        object_type="campaign",
        object_id=c.id,
        details={"channel": c.channel, "scheduled_at": scheduled_at.isoformat() if later and scheduled_at else None},
    )
    return await read(session, c)


async def pause(session: AsyncSession, c: Campaign, *, actor: Principal) -> CampaignRead:
    _transition(c, ("sending", "scheduled"), "paused")
    c.status = "paused"
    await session.flush()
    await audit.record(session, actor=actor, action="campaign.pause", object_type="campaign", object_id=c.id)
    return await read(session, c)


async def resume(session: AsyncSession, c: Campaign, *, actor: Principal) -> CampaignRead:
    _transition(c, ("paused",), "resumed")
    c.status = "scheduled" if c.scheduled_at and c.recipients_at is None else "sending"
    c.run += 1
    await session.flush()
    await audit.record(session, actor=actor, action="campaign.resume", object_type="campaign", object_id=c.id)
    return await read(session, c)


async def cancel(session: AsyncSession, c: Campaign, *, actor: Principal) -> CampaignRead:
    """What is queued is never sent (messages already handed to the provider are not recalled)."""
    _transition(c, ("draft", "scheduled", "sending", "paused"), "cancelled")
    c.status = "cancelled"
    c.finished_at = datetime.now(UTC)
    await session.execute(
        update(CampaignMessage)
        .where(
            CampaignMessage.organization_id == c.organization_id,
            CampaignMessage.campaign_id == c.id,
            CampaignMessage.status == "queued",
        )
        .values(status="cancelled")
    )
    await session.flush()
    await audit.record(session, actor=actor, action="campaign.cancel", object_type="campaign", object_id=c.id)
    return await read(session, c)


async def scheduled_at(
    maker: async_sessionmaker[AsyncSession], organization_id: uuid.UUID, campaign_id: uuid.UUID
) -> datetime | None:
    async with maker() as session, session.begin():
        await set_tenant(session, organization_id)
        at: datetime | None = await session.scalar(
            select(Campaign.scheduled_at).where(
                Campaign.organization_id == organization_id, Campaign.id == campaign_id, Campaign.status == "scheduled"
            )
        )
    return at


async def next_due(
    maker: async_sessionmaker[AsyncSession], organization_id: uuid.UUID, campaign_id: uuid.UUID
) -> datetime | None:
    """When the first held message of a sending campaign is due (quiet hours, a retry's backoff)."""
    async with maker() as session, session.begin():
        await set_tenant(session, organization_id)
        at: datetime | None = await session.scalar(
            select(func.min(CampaignMessage.next_attempt_at)).where(
                CampaignMessage.organization_id == organization_id,
                CampaignMessage.campaign_id == campaign_id,
                CampaignMessage.status == "queued",
            )
        )
    return at

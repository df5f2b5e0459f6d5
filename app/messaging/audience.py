"""Who may receive a campaign: the one rule (current consent for the channel, no do-not-contact, a usable
address) and the set-based statements that apply it: materializing the recipients, and claiming a batch
(which checks the rule again, so a consent withdrawn during a long send is honoured)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Float,
    Table,
    Text,
    and_,
    case,
    delete,
    func,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession

from app.contacts.filters import SegmentFilter, resolve
from app.messaging.render import PUBLIC_FIELDS
from app.models import Campaign, CampaignMessage, Contact, ContactEvent, FieldReport, SmsStatusReport
from app.models.statuses import REACHED

contacts = cast(Table, Contact.__table__)
messages = cast(Table, CampaignMessage.__table__)


def address(channel: str) -> ColumnElement[Any]:
    """The address a channel writes to, normalized so that duplicates are equal."""
    return func.lower(Contact.email) if channel == "email" else Contact.mobile_e164.expression


def reachable(channel: str) -> ColumnElement[bool]:
    """Current consent for the channel, no do-not-contact, and an address that works (an email that bounced
    does not)."""
    if channel == "email":
        return and_(
            Contact.consent_email == "granted",
            Contact.dnc_email.is_(False),
            Contact.email.is_not(None),
            Contact.email_invalid.is_(False),
        )
    return and_(
        Contact.consent_sms == "granted",
        Contact.dnc_sms.is_(False),
        Contact.mobile_e164.is_not(None),
        Contact.mobile_invalid.is_(False),
    )


def met_in(organization_id: uuid.UUID, action_id: uuid.UUID) -> ColumnElement[bool]:
    """The people met in an action: a report of theirs in it says the call was answered or the door opened."""
    return Contact.id.in_(
        select(FieldReport.contact_id).where(
            FieldReport.organization_id == organization_id,
            FieldReport.action_id == action_id,
            FieldReport.outcome.in_(sorted(REACHED)),
            FieldReport.contact_id.is_not(None),
        )
    )


async def materialize(session: AsyncSession, campaign: Campaign) -> int:
    """One INSERT … SELECT: the audience's reachable contacts, one row per address (the oldest contact wins;
    ON CONFLICT stays as the guard of the unique index).
    The audience is the segment filter, narrowed to the people met in `campaign.action_id` when it is set."""
    org = campaign.organization_id
    conds = await resolve(session, SegmentFilter.model_validate(campaign.filter), org)
    if campaign.action_id is not None:
        conds = [*conds, met_in(org, campaign.action_id)]
    addr = address(campaign.channel)
    chosen = (
        select(literal(org), literal(campaign.id), Contact.id, addr)
        .where(*conds, reachable(campaign.channel))
        .distinct(addr)  # one row per address in the sort itself (cheaper than a conflict per duplicate)
        .order_by(addr, Contact.created_at, Contact.id)
    )
    stmt = (
        pg_insert(CampaignMessage)
        .from_select(["organization_id", "campaign_id", "contact_id", "address"], chosen)
        .on_conflict_do_nothing(index_elements=["organization_id", "campaign_id", "address"])
    )
    res = cast(CursorResult[Any], await session.execute(stmt))
    return int(res.rowcount or 0)


async def claim(session: AsyncSession, campaign: Campaign, *, size: int, now: datetime) -> list[Any]:
    """Take up to `size` due queued messages (SKIP LOCKED: two workers never take the same one) and mark them
    `sending`, or `skipped` if the contact is no longer reachable; returns the rows with the merge fields."""
    org = campaign.organization_id
    batch = (
        select(messages.c.id)
        .where(
            messages.c.organization_id == org,
            messages.c.campaign_id == campaign.id,
            messages.c.status == "queued",
            (messages.c.next_attempt_at.is_(None)) | (messages.c.next_attempt_at <= now),
        )
        .order_by(messages.c.id)
        .limit(size)
        .with_for_update(skip_locked=True)
        .cte("batch")
    )
    ok = reachable(campaign.channel)
    stmt = (
        update(messages)
        .where(
            messages.c.organization_id == org,
            messages.c.id == batch.c.id,
            contacts.c.organization_id == org,
            contacts.c.id == messages.c.contact_id,
        )
        .values(
            status=case((ok, "sending"), else_="skipped"),
            attempts=messages.c.attempts + case((ok, 1), else_=0),
            error=case((ok, messages.c.error), else_="no consent or do-not-contact"),
        )
        .returning(
            messages.c.id,
            messages.c.contact_id,
            messages.c.address,
            messages.c.status,
            messages.c.attempts,
            *[contacts.c[f] for f in PUBLIC_FIELDS],
        )
    )
    return list((await session.execute(stmt)).all())


async def fail_interrupted(session: AsyncSession, campaign: Campaign) -> int:
    """Run under the campaign's lock only: a `sending` row then belongs to a run that died before recording it."""
    res = cast(
        CursorResult[Any],
        await session.execute(
            update(messages)
            .where(
                messages.c.organization_id == campaign.organization_id,
                messages.c.campaign_id == campaign.id,
                messages.c.status == "sending",
            )
            .values(status="failed", error="interrupted mid-send (may have been delivered); not sent again")
        ),
    )
    return int(res.rowcount or 0)


async def record_results(
    session: AsyncSession,
    campaign: Campaign,
    results: list[tuple[int, str, str | None, str | None, float | None]],
) -> None:
    """(id, status, provider_id, error, retry_in_s) per message, in one UPDATE … FROM unnest; the sent ones
    land on their contact's timeline in one INSERT … SELECT."""
    if not results:
        return
    ids, statuses, pids, errors, delays = (list(x) for x in zip(*results, strict=True))
    v = select(
        func.unnest(literal(ids, ARRAY(BigInteger))).label("id"),
        func.unnest(literal(statuses, ARRAY(Text))).label("status"),
        func.unnest(literal(pids, ARRAY(Text))).label("provider_id"),
        func.unnest(literal(errors, ARRAY(Text))).label("error"),
        func.unnest(literal(delays, ARRAY(Float))).label("delay"),
    ).subquery("v")
    org = campaign.organization_id
    await session.execute(
        update(messages)
        .where(messages.c.organization_id == org, messages.c.id == v.c.id)
        .values(
            status=v.c.status,
            provider_id=func.coalesce(v.c.provider_id, messages.c.provider_id),
            error=v.c.error,
            sent_at=case((v.c.status == "sent", func.now()), else_=messages.c.sent_at),
            next_attempt_at=case(
                (v.c.delay.is_not(None), func.now() + func.make_interval(0, 0, 0, 0, 0, 0, v.c.delay)),
                else_=None,
            ),
        )
    )
    sent = [i for i, s, *_ in results if s == "sent"]
    if sent and campaign.channel == "sms":
        await apply_early(session, org, messages, sent)
    if sent:
        m = CampaignMessage
        await session.execute(
            insert(ContactEvent).from_select(
                ["organization_id", "contact_id", "kind", "actor_user_id", "summary", "data"],
                select(
                    m.organization_id,
                    m.contact_id,
                    literal("message"),
                    literal(campaign.sent_by, type_=ContactEvent.actor_user_id.type),
                    literal(f"{campaign.channel.upper()}: {campaign.name}"[:500]),
                    func.jsonb_build_object(
                        "channel", campaign.channel, "campaign_id", str(campaign.id), "message_id", m.id
                    ),
                ).where(m.organization_id == org, m.id.in_(sent)),
            )
        )


async def apply_early(session: AsyncSession, org: uuid.UUID, table: Table, ids: list[Any]) -> None:
    """Status callbacks that arrived before these messages' provider ids were recorded: applied, then dropped."""
    r = cast(Table, SmsStatusReport.__table__)
    applied = (
        update(table)
        .where(
            table.c.organization_id == org,
            table.c.id.in_(ids),
            r.c.organization_id == org,
            r.c.provider_id == table.c.provider_id,
        )
        .values(status=r.c.status, error=func.coalesce(r.c.error, table.c.error))
        .returning(table.c.provider_id)
    )
    done = list((await session.execute(applied)).scalars())
    if done:
        await session.execute(delete(r).where(r.c.organization_id == org, r.c.provider_id.in_(done)))


def counts_query(organization_id: uuid.UUID, campaign_ids: list[uuid.UUID]) -> Any:
    m = CampaignMessage
    return (
        select(m.campaign_id, m.status, func.count())
        .where(m.organization_id == organization_id, m.campaign_id.in_(campaign_ids))
        .group_by(m.campaign_id, m.status)
    )

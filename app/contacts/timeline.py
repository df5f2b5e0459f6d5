"""A contact's timeline, newest first: events, consent changes (from the append-only log) and creation."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, cast, literal, select, tuple_, union_all
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession

from app.contacts.schemas import TimelineEntry
from app.core.pagination import decode_cursor, encode_cursor
from app.models import ConsentLog, Contact, ContactEvent


async def timeline(
    session: AsyncSession, contact: Contact, *, limit: int, cursor: str | None
) -> tuple[list[TimelineEntry], str | None]:
    org, cid = contact.organization_id, contact.id
    ev = select(
        ContactEvent.kind.label("kind"),
        ContactEvent.at.label("at"),
        ContactEvent.actor_user_id.label("actor"),
        ContactEvent.action_id.label("action_id"),
        ContactEvent.summary.label("summary"),
        ContactEvent.data.label("data"),
        cast(literal("e"), String).label("src"),
        ContactEvent.id.label("seq"),
    ).where(ContactEvent.organization_id == org, ContactEvent.contact_id == cid)
    cons = select(
        literal("consent").label("kind"),
        ConsentLog.recorded_at,
        ConsentLog.recorded_by,
        literal(None).label("action_id"),
        (ConsentLog.channel + literal(" consent ") + ConsentLog.status).label("summary"),
        cast(literal("{}"), JSONB).label("data"),
        cast(literal("c"), String),
        ConsentLog.id,
    ).where(ConsentLog.organization_id == org, ConsentLog.contact_id == cid)
    created = select(
        literal("edit"),
        Contact.created_at,
        Contact.created_by,
        literal(None),
        literal("Created (source: ") + Contact.source + literal(")"),
        cast(literal("{}"), JSONB),
        cast(literal("k"), String),
        literal(0),
    ).where(Contact.organization_id == org, Contact.id == cid)
    u = union_all(ev, cons, created).subquery()
    q = select(u)
    after = decode_cursor(cursor)
    if after:
        at, src, seq = datetime.fromisoformat(after[0]), str(after[1]), int(after[2])
        q = q.where(tuple_(u.c.at, u.c.src, u.c.seq) < tuple_(at, src, seq))
    rows = (await session.execute(q.order_by(u.c.at.desc(), u.c.src.desc(), u.c.seq.desc()).limit(limit + 1))).all()
    nxt = None
    if len(rows) > limit:
        last = rows[limit - 1]
        nxt = encode_cursor([last.at.isoformat(), last.src, last.seq])
        rows = rows[:limit]
    consent_ids = [r.seq for r in rows if r.src == "c"]
    sources: dict[int, tuple[str, str, str | None]] = {}
    if consent_ids:
        for cl in (
            await session.scalars(
                select(ConsentLog).where(ConsentLog.organization_id == org, ConsentLog.id.in_(consent_ids))
            )
        ).all():
            sources[cl.id] = (cl.channel, cl.source, cl.proof)
    out = []
    for r in rows:
        data = dict(r.data or {})
        if r.src == "c" and r.seq in sources:
            ch, src, proof = sources[r.seq]
            data = {"channel": ch, "source": src, "proof": proof}
        out.append(
            TimelineEntry(
                kind=r.kind, at=r.at, actor_user_id=r.actor, action_id=r.action_id, summary=r.summary, data=data
            )
        )
    return out, nxt

"""Organization vocabularies (tags, custom fields) and saved segments."""

from __future__ import annotations

import uuid

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import references
from app.auth.principal import Principal
from app.contacts.filters import FILTER_REFS
from app.contacts.schemas import CustomFieldCreate, SegmentCreate, SegmentRead, TagCreate, TagRead
from app.core.errors import Conflict, NotFound
from app.models import Contact, CustomFieldDef, Segment, Tag


class SegmentNotFound(NotFound):
    code = "segment_not_found"
    message = "Segment not found."


async def list_tags(session: AsyncSession, *, actor: Principal) -> list[TagRead]:
    rows = (
        await session.scalars(select(Tag).where(Tag.organization_id == actor.organization_id).order_by(Tag.name))
    ).all()
    return [TagRead.model_validate(t) for t in rows]


async def create_tag(session: AsyncSession, body: TagCreate, *, actor: Principal) -> TagRead:
    res = await session.execute(
        pg_insert(Tag)
        .values(organization_id=actor.organization_id, name=body.name, color=body.color)
        .on_conflict_do_nothing()
        .returning(Tag.name)
    )
    if res.first() is None:
        raise Conflict("This tag exists.")
    return TagRead(name=body.name, color=body.color)


async def delete_tag(session: AsyncSession, name: str, *, actor: Principal) -> None:
    res = await session.execute(delete(Tag).where(Tag.organization_id == actor.organization_id, Tag.name == name))
    if res.rowcount == 0:  # type: ignore[attr-defined]
        raise NotFound("Tag not found.")
    await session.execute(
        update(Contact)
        .where(Contact.organization_id == actor.organization_id, Contact.tags.contains([name]))
        .values(tags=func.array_remove(Contact.tags, name))
    )


async def list_fields(session: AsyncSession, *, actor: Principal) -> list[CustomFieldDef]:
    return list(
        (
            await session.scalars(
                select(CustomFieldDef)
                .where(CustomFieldDef.organization_id == actor.organization_id)
                .order_by(CustomFieldDef.key)
            )
        ).all()
    )


async def create_field(session: AsyncSession, body: CustomFieldCreate, *, actor: Principal) -> CustomFieldDef:
    res = await session.execute(
        pg_insert(CustomFieldDef)
        .values(organization_id=actor.organization_id, **body.model_dump())
        .on_conflict_do_nothing()
        .returning(CustomFieldDef.key)
    )
    if res.first() is None:
        raise Conflict("A custom field with this key exists.")
    d = await session.scalar(
        select(CustomFieldDef).where(
            CustomFieldDef.organization_id == actor.organization_id, CustomFieldDef.key == body.key
        )
    )
    assert d is not None
    return d


def _seg(s: Segment) -> SegmentRead:
    return SegmentRead(id=s.id, name=s.name, filter=s.filter, created_at=s.created_at)


async def create_segment(session: AsyncSession, body: SegmentCreate, *, actor: Principal) -> SegmentRead:
    await references.check(session, actor, body.filter, FILTER_REFS, prefix="filter")
    exists = await session.scalar(
        select(Segment.id).where(Segment.organization_id == actor.organization_id, Segment.name == body.name)
    )
    if exists:
        raise Conflict("A segment with this name exists.")
    s = Segment(
        organization_id=actor.organization_id,
        id=uuid.uuid4(),
        name=body.name,
        filter=body.filter.model_dump(mode="json", exclude_defaults=True),
        created_by=actor.user_id,
    )
    session.add(s)
    await session.flush()
    await session.refresh(s)
    return _seg(s)


async def list_segments(session: AsyncSession, *, actor: Principal) -> list[SegmentRead]:
    rows = (
        await session.scalars(
            select(Segment).where(Segment.organization_id == actor.organization_id).order_by(Segment.name)
        )
    ).all()
    return [_seg(s) for s in rows]


async def delete_segment(session: AsyncSession, segment_id: uuid.UUID, *, actor: Principal) -> None:
    res = await session.execute(
        delete(Segment).where(Segment.organization_id == actor.organization_id, Segment.id == segment_id)
    )
    if res.rowcount == 0:  # type: ignore[attr-defined]
        raise SegmentNotFound()

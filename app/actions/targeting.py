"""Targeting inside PostgreSQL: preview (count, bbox, sample) and the set-based materialization of targets
(one INSERT … SELECT that can also split them among volunteers as it goes)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import ColumnElement, and_, func, insert, literal, not_, select, text
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.ext.asyncio import AsyncSession

from app.actions.schemas import PreviewResponse, PreviewSample
from app.auth.principal import Principal
from app.contacts.filters import SegmentFilter, has_phone_clause, resolve
from app.contacts.service import org_region
from app.models import ActionTarget, Contact


def type_conditions(action_type: str) -> list[ColumnElement[bool]]:
    """Calls keep contacts with a callable number and no phone opt-out; door-to-door keeps located contacts."""
    if action_type == "call":
        return [
            has_phone_clause(),
            Contact.dnc_phone.is_(False),
            func.coalesce(Contact.consent_phone, "") != "withdrawn",
        ]
    if action_type == "door_to_door":
        return [Contact.location.is_not(None), Contact.dnc_visit.is_(False)]
    return []


async def conditions(
    session: AsyncSession,
    f: SegmentFilter,
    *,
    organization_id: uuid.UUID,
    action_type: str,
    actor: Principal | None = None,
) -> list[ColumnElement[bool]]:
    """`actor`: the filter came in this request (its ids are checked against what the actor may see)."""
    region = await org_region(session, organization_id)
    return [*await resolve(session, f, organization_id, region=region, actor=actor), *type_conditions(action_type)]


async def preview(
    session: AsyncSession,
    f: SegmentFilter,
    *,
    organization_id: uuid.UUID,
    action_type: str,
    sample_size: int,
    timeout_ms: int,
    actor: Principal | None = None,
) -> PreviewResponse:
    conds = await conditions(session, f, organization_id=organization_id, action_type=action_type, actor=actor)
    await session.execute(text(f"SET LOCAL statement_timeout = {int(timeout_ms)}"))
    row = (
        await session.execute(
            select(
                func.count(),
                func.ST_XMin(func.ST_Extent(Contact.location)),
                func.ST_YMin(func.ST_Extent(Contact.location)),
                func.ST_XMax(func.ST_Extent(Contact.location)),
                func.ST_YMax(func.ST_Extent(Contact.location)),
            ).where(and_(*conds))
        )
    ).one()
    sample: list[PreviewSample] = []
    if sample_size and row[0]:
        rows = (
            await session.execute(
                select(Contact.id, Contact.first_name, Contact.last_name, Contact.city, Contact.street)
                .where(and_(*conds))
                .limit(sample_size)
            )
        ).all()
        sample = [
            PreviewSample(id=r.id, first_name=r.first_name, last_name=r.last_name, city=r.city, street=r.street)
            for r in rows
        ]
    bbox = [float(v) for v in row[1:]] if row[1] is not None else None
    return PreviewResponse(count=int(row[0]), bbox=bbox, sample=sample)


async def materialize(
    session: AsyncSession,
    *,
    organization_id: uuid.UUID,
    action_id: uuid.UUID,
    conds: list[ColumnElement[bool]],
    volunteers: list[uuid.UUID] | None = None,
) -> int:
    """Insert the targets in one statement; with `volunteers`, split them round-robin on the way in.
    Contacts already targeted by this action are left as they are (refresh adds only new matches)."""
    already = select(ActionTarget.contact_id).where(
        ActionTarget.organization_id == organization_id, ActionTarget.action_id == action_id
    )
    cols: list[Any] = [literal(organization_id, UUID), func.gen_random_uuid(), literal(action_id, UUID), Contact.id]
    names = ["organization_id", "id", "action_id", "contact_id"]
    if volunteers:
        cols.append(
            text("(CAST(:vols AS uuid[]))[(row_number() OVER () - 1) % :nvols + 1]").bindparams(
                vols=[str(v) for v in volunteers], nvols=len(volunteers)
            )
        )
        names.append("assignee_user_id")
    src = select(*cols).where(and_(*conds), not_(Contact.id.in_(already)))
    res = await session.execute(insert(ActionTarget).from_select(names, src))
    return int(res.rowcount or 0)  # type: ignore[attr-defined]

"""Opportunities: tasks raised in the field (or by HQ), assigned to a person or a team, followed to done."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import Select, func, insert, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.actions.repository import ACTION
from app.auth import references
from app.auth.permissions import Perm
from app.auth.principal import Principal
from app.auth.references import (
    ANY_OPPORTUNITY_TYPE,
    MEMBER,
    OPPORTUNITY_TYPE,
)
from app.contacts.events import add_event
from app.contacts.repository import CONTACT
from app.core.errors import Conflict, NotFound
from app.core.pagination import Page, decode_cursor, encode_cursor
from app.models import Contact, Opportunity, OpportunityComment, OpportunityType
from app.opportunities.schemas import (
    CommentCreate,
    CommentRead,
    OpportunityCreate,
    OpportunityIn,
    OpportunityRead,
    OpportunityTypeCreate,
    OpportunityTypeRead,
    OpportunityUpdate,
    Status,
)
from app.push import triggers as push
from app.teams.service import VISIBLE_TEAM


class OpportunityNotFound(NotFound):
    code = "opportunity_not_found"
    message = "Opportunity not found."


def visible_to(actor: Principal) -> Select[Opportunity]:
    q = select(Opportunity).where(Opportunity.organization_id == actor.organization_id)
    if actor.can(Perm.manage_opportunities):
        return q
    conds = [Opportunity.assignee_user_id == actor.user_id, Opportunity.created_by == actor.user_id]
    if actor.can(Perm.lead_actions) and actor.team_ids:
        conds.append(Opportunity.assignee_team_id.in_(actor.team_ids))
    return q.where(or_(*conds))


# Which kind of object each id names (see app/auth/references.py): raised in the field, or by HQ.
RAISED = {"type_id": OPPORTUNITY_TYPE, "assignee_user_id": MEMBER, "assignee_team_id": VISIBLE_TEAM}
CREATED = {**RAISED, "contact_id": CONTACT, "action_id": ACTION}
UPDATED = {"assignee_user_id": MEMBER, "assignee_team_id": VISIBLE_TEAM}
LIST_QUERY = {"type_id": ANY_OPPORTUNITY_TYPE, "action_id": ACTION, "team_id": VISIBLE_TEAM}


async def create_many(
    session: AsyncSession,
    items: Sequence[OpportunityIn],
    *,
    actor: Principal,
    contact_id: uuid.UUID | None,
    action_id: uuid.UUID | None,
    report_id: uuid.UUID | None,
    timeline: bool = True,
    field: str | None = "opportunities",
) -> list[uuid.UUID]:
    """Check the ids each item names (reported as `{field}.{i}.assignee_user_id`; `field=None` when the caller
    checked them already), then insert in one statement. `timeline=False` when the caller writes its own
    timeline entry (a call or a visit lists the opportunities it raised)."""
    if not items:
        return []
    if field is not None:
        await references.check(session, actor, items, {f"*.{k}": kind for k, kind in RAISED.items()}, prefix=field)
    ids = [uuid.uuid4() for _ in items]
    await session.execute(
        insert(Opportunity).values(
            [
                {
                    "organization_id": actor.organization_id,
                    "id": i,
                    "type_id": o.type_id,
                    "contact_id": contact_id,
                    "action_id": action_id,
                    "report_id": report_id,
                    "note": o.note,
                    "assignee_user_id": o.assignee_user_id,
                    "assignee_team_id": o.assignee_team_id,
                    "due_at": o.due_at,
                    "created_by": actor.user_id,
                }
                for i, o in zip(ids, items, strict=True)
            ]
        )
    )
    push.task_assigned(
        session, actor.organization_id, zip(ids, [o.assignee_user_id for o in items], strict=True), by=actor.user_id
    )
    if contact_id and timeline:
        await add_event(
            session,
            actor.organization_id,
            contact_id,
            kind="opportunity",
            actor=actor,
            action_id=action_id,
            summary=f"{len(items)} opportunit{'y' if len(items) == 1 else 'ies'} raised",
            data={"ids": [str(i) for i in ids]},
        )
    return ids


async def read_many(session: AsyncSession, rows: Sequence[Opportunity]) -> list[OpportunityRead]:
    if not rows:
        return []
    org = rows[0].organization_id
    types = dict(
        (
            await session.execute(
                select(OpportunityType.id, OpportunityType.name).where(OpportunityType.organization_id == org)
            )
        ).all()
    )
    cids = {r.contact_id for r in rows if r.contact_id}
    names = (
        {
            c: f"{first} {last}".strip()
            for c, first, last in (
                await session.execute(
                    select(Contact.id, Contact.first_name, Contact.last_name).where(
                        Contact.organization_id == org, Contact.id.in_(cids)
                    )
                )
            ).all()
        }
        if cids
        else {}
    )
    return [
        OpportunityRead(
            id=r.id,
            type_id=r.type_id,
            type_name=types.get(r.type_id, ""),
            note=r.note,
            status=r.status,
            contact_id=r.contact_id,
            contact_name=names.get(r.contact_id) if r.contact_id else None,
            action_id=r.action_id,
            report_id=r.report_id,
            assignee_user_id=r.assignee_user_id,
            assignee_team_id=r.assignee_team_id,
            due_at=r.due_at,
            created_by=r.created_by,
            created_at=r.created_at,
            updated_at=r.updated_at,
        )
        for r in rows
    ]


async def get(session: AsyncSession, opportunity_id: uuid.UUID, *, actor: Principal) -> Opportunity:
    o = await session.scalar(visible_to(actor).where(Opportunity.id == opportunity_id))
    if o is None:
        raise OpportunityNotFound()
    return o


async def create(session: AsyncSession, body: OpportunityCreate, *, actor: Principal) -> Opportunity:
    await references.check(session, actor, body, CREATED)
    (oid,) = await create_many(
        session,
        [body],
        actor=actor,
        contact_id=body.contact_id,
        action_id=body.action_id,
        report_id=None,
        field=None,
    )
    return await get(session, oid, actor=actor)


async def update(session: AsyncSession, o: Opportunity, body: OpportunityUpdate, *, actor: Principal) -> Opportunity:
    data = body.model_dump(exclude_unset=True)
    await references.check(session, actor, body, UPDATED)
    if data.get("assignee_user_id") not in (None, o.assignee_user_id):
        push.task_assigned(session, o.organization_id, [(o.id, data["assignee_user_id"])], by=actor.user_id)
    for k, v in data.items():
        setattr(o, k, v)
    o.updated_at = datetime.now(UTC)
    await session.flush()
    return o


async def add_comment(
    session: AsyncSession, o: Opportunity, body: CommentCreate, *, actor: Principal
) -> OpportunityComment:
    c = OpportunityComment(
        organization_id=o.organization_id, opportunity_id=o.id, user_id=actor.user_id, text=body.text
    )
    session.add(c)
    await session.flush()
    return c


async def list_comments(session: AsyncSession, o: Opportunity) -> list[CommentRead]:
    rows = (
        await session.scalars(
            select(OpportunityComment)
            .where(OpportunityComment.organization_id == o.organization_id, OpportunityComment.opportunity_id == o.id)
            .order_by(OpportunityComment.id)
        )
    ).all()
    return [CommentRead.model_validate(r) for r in rows]


async def list_types(session: AsyncSession, *, organization_id: uuid.UUID) -> list[OpportunityTypeRead]:
    rows = (
        await session.scalars(
            select(OpportunityType)
            .where(OpportunityType.organization_id == organization_id)
            .order_by(OpportunityType.name)
        )
    ).all()
    return [OpportunityTypeRead.model_validate(r) for r in rows]


async def create_type(session: AsyncSession, body: OpportunityTypeCreate, *, actor: Principal) -> OpportunityTypeRead:
    res = await session.execute(
        pg_insert(OpportunityType)
        .values(organization_id=actor.organization_id, id=uuid.uuid4(), name=body.name)
        .on_conflict_do_nothing()
        .returning(OpportunityType.id)
    )
    new_id = res.scalar()
    if new_id is None:
        raise Conflict("A type with this name exists.")
    return OpportunityTypeRead(id=new_id, name=body.name, active=True)


async def list_page(
    session: AsyncSession,
    *,
    actor: Principal,
    limit: int,
    cursor: str | None,
    mine: bool,
    status: Status | None,
    type_id: uuid.UUID | None,
    action_id: uuid.UUID | None,
    team_id: uuid.UUID | None,
) -> Page[OpportunityRead]:
    await references.check_query(session, actor, LIST_QUERY, type_id=type_id, action_id=action_id, team_id=team_id)
    q = visible_to(actor)
    if mine:
        q = q.where(Opportunity.assignee_user_id == actor.user_id)
    for col, v in (
        (Opportunity.status, status),
        (Opportunity.type_id, type_id),
        (Opportunity.action_id, action_id),
        (Opportunity.assignee_team_id, team_id),
    ):
        if v is not None:
            q = q.where(col == v)
    total = None
    if cursor is None:  # the first page also counts them all
        total = int(await session.scalar(select(func.count()).select_from(q.order_by(None).subquery())) or 0)
    after = decode_cursor(cursor)
    if after:
        q = q.where(Opportunity.id < uuid.UUID(str(after[0])))
    rows = list((await session.scalars(q.order_by(Opportunity.id.desc()).limit(limit + 1))).all())
    nxt = encode_cursor([str(rows[limit - 1].id)]) if len(rows) > limit else None
    return Page[OpportunityRead](items=await read_many(session, rows[:limit]), next_cursor=nxt, total=total)

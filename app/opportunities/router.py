from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert

from app.auth.dependencies import CurrentUser, Manager
from app.core import references
from app.core.db import SessionDep
from app.core.errors import Conflict
from app.core.pagination import CursorQ, LimitQ, Page, decode_cursor, encode_cursor
from app.models import Opportunity, OpportunityComment, OpportunityType
from app.opportunities import service
from app.opportunities.schemas import (
    CommentCreate,
    CommentRead,
    OpportunityCreate,
    OpportunityRead,
    OpportunityTypeCreate,
    OpportunityTypeRead,
    OpportunityUpdate,
    Status,
)

router = APIRouter(tags=["opportunities"])


@router.get("/opportunity-types", operation_id="opportunity-types-list")
async def list_types(session: SessionDep, user: CurrentUser) -> list[OpportunityTypeRead]:
    rows = (
        await session.scalars(
            select(OpportunityType)
            .where(OpportunityType.organization_id == user.organization_id)
            .order_by(OpportunityType.name)
        )
    ).all()
    return [OpportunityTypeRead.model_validate(r) for r in rows]


@router.post("/opportunity-types", status_code=201, operation_id="opportunity-types-create")
async def create_type(body: OpportunityTypeCreate, session: SessionDep, user: Manager) -> OpportunityTypeRead:
    res = await session.execute(
        pg_insert(OpportunityType)
        .values(organization_id=user.organization_id, id=uuid.uuid4(), name=body.name)
        .on_conflict_do_nothing()
        .returning(OpportunityType.id)
    )
    new_id = res.scalar()
    if new_id is None:
        raise Conflict("A type with this name exists.")
    return OpportunityTypeRead(id=new_id, name=body.name, active=True)


async def _opp(opportunity_id: uuid.UUID, session: SessionDep, user: CurrentUser) -> Opportunity:
    return await service.get(session, opportunity_id, actor=user)


VisibleOpportunity = Annotated[Opportunity, Depends(_opp)]


@router.get("/opportunities", operation_id="opportunities-list")
async def list_opportunities(
    session: SessionDep,
    user: CurrentUser,
    limit: LimitQ = 100,
    cursor: CursorQ = None,
    mine: bool = False,
    status: Status | None = None,
    type_id: uuid.UUID | None = None,
    action_id: uuid.UUID | None = None,
    team_id: Annotated[uuid.UUID | None, Query()] = None,
) -> Page[OpportunityRead]:
    await references.check_query(
        session, user, service.LIST_QUERY, type_id=type_id, action_id=action_id, team_id=team_id
    )
    q = service.visible_to(user)
    if mine:
        q = q.where(Opportunity.assignee_user_id == user.user_id)
    for col, v in (
        (Opportunity.status, status),
        (Opportunity.type_id, type_id),
        (Opportunity.action_id, action_id),
        (Opportunity.assignee_team_id, team_id),
    ):
        if v is not None:
            q = q.where(col == v)
    after = decode_cursor(cursor)
    if after:
        q = q.where(Opportunity.id < uuid.UUID(str(after[0])))
    rows = list((await session.scalars(q.order_by(Opportunity.id.desc()).limit(limit + 1))).all())
    nxt = encode_cursor([str(rows[limit - 1].id)]) if len(rows) > limit else None
    return Page[OpportunityRead](items=await service.read_many(session, rows[:limit]), next_cursor=nxt)


@router.post("/opportunities", status_code=201, operation_id="opportunities-create")
async def create_opportunity(body: OpportunityCreate, session: SessionDep, user: CurrentUser) -> OpportunityRead:
    return (await service.read_many(session, [await service.create(session, body, actor=user)]))[0]


@router.get("/opportunities/{opportunity_id}", operation_id="opportunities-read")
async def read_opportunity(o: VisibleOpportunity, session: SessionDep) -> OpportunityRead:
    return (await service.read_many(session, [o]))[0]


@router.patch("/opportunities/{opportunity_id}", operation_id="opportunities-update")
async def update_opportunity(
    body: OpportunityUpdate, o: VisibleOpportunity, session: SessionDep, user: CurrentUser
) -> OpportunityRead:
    return (await service.read_many(session, [await service.update(session, o, body, actor=user)]))[0]


@router.get("/opportunities/{opportunity_id}/comments", operation_id="opportunities-comments-list")
async def list_comments(o: VisibleOpportunity, session: SessionDep) -> list[CommentRead]:
    rows = (
        await session.scalars(
            select(OpportunityComment)
            .where(OpportunityComment.organization_id == o.organization_id, OpportunityComment.opportunity_id == o.id)
            .order_by(OpportunityComment.id)
        )
    ).all()
    return [CommentRead.model_validate(r) for r in rows]


@router.post("/opportunities/{opportunity_id}/comments", status_code=201, operation_id="opportunities-comments-create")
async def add_comment(
    body: CommentCreate, o: VisibleOpportunity, session: SessionDep, user: CurrentUser
) -> CommentRead:
    return CommentRead.model_validate(await service.add_comment(session, o, body, actor=user))

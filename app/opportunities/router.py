from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from app.auth.dependencies import CurrentUser, Manager
from app.core.db import SessionDep
from app.core.pagination import CursorQ, LimitQ, Page
from app.models import Opportunity
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
    return await service.list_types(session, organization_id=user.organization_id)


@router.post("/opportunity-types", status_code=201, operation_id="opportunity-types-create")
async def create_type(body: OpportunityTypeCreate, session: SessionDep, user: Manager) -> OpportunityTypeRead:
    return await service.create_type(session, body, actor=user)


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
    return await service.list_page(
        session,
        actor=user,
        limit=limit,
        cursor=cursor,
        mine=mine,
        status=status,
        type_id=type_id,
        action_id=action_id,
        team_id=team_id,
    )


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
    return await service.list_comments(session, o)


@router.post("/opportunities/{opportunity_id}/comments", status_code=201, operation_id="opportunities-comments-create")
async def add_comment(
    body: CommentCreate, o: VisibleOpportunity, session: SessionDep, user: CurrentUser
) -> CommentRead:
    return CommentRead.model_validate(await service.add_comment(session, o, body, actor=user))

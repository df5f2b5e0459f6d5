from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Response

from app.auth.dependencies import CurrentUser, Manager
from app.core.db import SessionDep
from app.models import Team
from app.teams import service
from app.teams.schemas import TeamCreate, TeamMembersAdd, TeamRead, TeamUpdate

router = APIRouter(prefix="/teams", tags=["teams"])


async def _visible_team(team_id: uuid.UUID, session: SessionDep, user: CurrentUser) -> Team:
    return await service.get(session, team_id, actor=user)


VisibleTeam = Annotated[Team, Depends(_visible_team)]


@router.get("", operation_id="teams-list")
async def list_teams(session: SessionDep, user: CurrentUser) -> list[TeamRead]:
    return await service.list_teams(session, actor=user)


@router.post("", status_code=201, operation_id="teams-create")
async def create_team(body: TeamCreate, session: SessionDep, user: Manager) -> TeamRead:
    return await service.create(session, body, actor=user)


@router.get("/{team_id}", operation_id="teams-read")
async def read_team(team: VisibleTeam, session: SessionDep) -> TeamRead:
    return await service.to_read(session, team)


@router.patch("/{team_id}", operation_id="teams-update")
async def update_team(body: TeamUpdate, team: VisibleTeam, session: SessionDep, user: Manager) -> TeamRead:
    return await service.update(session, team, body, actor=user)


@router.delete("/{team_id}", status_code=204, operation_id="teams-delete")
async def delete_team(team: VisibleTeam, session: SessionDep, user: Manager) -> Response:
    await service.remove(session, team, actor=user)
    return Response(status_code=204)


@router.post("/{team_id}/members", operation_id="teams-members-add")
async def add_members(body: TeamMembersAdd, team: VisibleTeam, session: SessionDep, user: Manager) -> TeamRead:
    return await service.add_members(session, team, body.user_ids, actor=user)


@router.delete("/{team_id}/members/{user_id}", operation_id="teams-members-remove")
async def remove_member(user_id: uuid.UUID, team: VisibleTeam, session: SessionDep, user: Manager) -> TeamRead:
    return await service.remove_member(session, team, user_id, actor=user)

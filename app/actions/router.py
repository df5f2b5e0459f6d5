from __future__ import annotations

import uuid
from datetime import datetime
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, File, Query, Request, Response, UploadFile
from fastapi.responses import FileResponse

from app.actions import assignment, service, targeting
from app.actions.schemas import (
    ActionCreate,
    ActionRead,
    ActionUpdate,
    Assignment,
    AssignResult,
    DocumentRead,
    Participation,
    ParticipationOverview,
    ParticipationSet,
    PreviewRequest,
    PreviewResponse,
    RefreshResult,
)
from app.actions.stats import ActionStats, stats
from app.actions.walklist import WalkList, walklist
from app.auth.dependencies import CurrentUser, require
from app.auth.permissions import Perm
from app.auth.principal import Principal
from app.core.db import SessionDep
from app.core.errors import Forbidden
from app.core.pagination import Page
from app.models import Action

router = APIRouter(prefix="/actions", tags=["actions"])
Leader = Annotated[Principal, require(Perm.lead_actions)]


async def _action(action_id: uuid.UUID, session: SessionDep, user: CurrentUser) -> Action:
    return await service.get(session, action_id, actor=user)


VisibleAction = Annotated[Action, Depends(_action)]


async def _editable(action: VisibleAction, session: SessionDep, user: CurrentUser) -> Action:
    await service.ensure_editable(session, action, user)
    return action


EditableAction = Annotated[Action, Depends(_editable)]


@router.post("/preview", operation_id="actions-preview")
async def preview(body: PreviewRequest, request: Request, session: SessionDep, user: Leader) -> PreviewResponse:
    """Count, bounding box and a sample for a filter: fast enough to follow a polygon being drawn."""
    return await targeting.preview(
        session,
        body.filter,
        organization_id=user.organization_id,
        action_type=body.type,
        sample_size=body.sample_size,
        timeout_ms=request.app.state.settings.limits.preview_statement_timeout_ms,
    )


@router.get("", operation_id="actions-list")
async def list_actions(
    session: SessionDep,
    user: CurrentUser,
    mine: bool = False,
    status: Literal["draft", "scheduled", "active", "closed"] | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> Page[ActionRead]:
    rows = await service.list_actions(session, actor=user, mine=mine, status=status, limit=limit)
    return Page[ActionRead](items=await service.to_read_many(session, rows, actor=user))


@router.post("", status_code=201, operation_id="actions-create")
async def create_action(body: ActionCreate, session: SessionDep, user: Leader) -> ActionRead:
    return await service.to_read(session, await service.create(session, body, actor=user), actor=user)


@router.get("/{action_id}", operation_id="actions-read")
async def read_action(action: VisibleAction, session: SessionDep, user: CurrentUser) -> ActionRead:
    return await service.to_read(session, action, actor=user)


@router.patch("/{action_id}", operation_id="actions-update")
async def update_action(
    body: ActionUpdate, action: EditableAction, session: SessionDep, user: CurrentUser
) -> ActionRead:
    return await service.to_read(session, await service.update(session, action, body, actor=user), actor=user)


@router.delete("/{action_id}", status_code=204, operation_id="actions-delete")
async def delete_action(action: EditableAction, session: SessionDep, user: CurrentUser) -> Response:
    await service.remove(session, action, actor=user)
    return Response(status_code=204)


@router.post("/{action_id}/refresh-targets", operation_id="actions-refresh-targets")
async def refresh_targets(action: EditableAction, session: SessionDep, user: CurrentUser) -> RefreshResult:
    """Targets are a snapshot; this adds contacts that match the filter now."""
    return await service.refresh_targets(session, action, actor=user)


@router.post("/{action_id}/assign", operation_id="actions-assign")
async def assign(body: Assignment, action: EditableAction, session: SessionDep, user: CurrentUser) -> AssignResult:
    return await assignment.assign(session, action, body)


@router.get("/{action_id}/stats", operation_id="actions-stats")
async def action_stats(
    action: VisibleAction,
    session: SessionDep,
    user: Leader,
    from_: Annotated[datetime | None, Query(alias="from", description="inclusive; naive = org time zone")] = None,
    to: Annotated[datetime | None, Query(description="exclusive; naive = org time zone")] = None,
) -> ActionStats:
    """Calls, visits, reached, outcomes, support levels, mobilized, opportunities: live, from counters for HQ;
    a period or a team leader's view (their teams' reports only) is counted from the reports.
    Everything else (series, surveys, targets left…) is at `GET /dashboard/actions/{id}`."""
    return await stats(session, action, actor=user, start=from_, end=to)


@router.get("/{action_id}/walklist", operation_id="actions-walklist")
async def get_walklist(
    action: VisibleAction,
    session: SessionDep,
    user: CurrentUser,
    user_id: uuid.UUID | None = None,
    turf: int | None = None,
) -> WalkList:
    if user_id is not None and user_id != user.user_id and not (user.is_manager or user.role == "team_leader"):
        raise Forbidden("You can only see your own walk list.")
    who = user_id if user_id is not None else (None if user.is_manager else user.user_id)
    return await walklist(
        session, organization_id=action.organization_id, action_id=action.id, user_id=who, turf_no=turf
    )


@router.get("/{action_id}/participation", operation_id="actions-participation-read")
async def get_participation(action: VisibleAction, session: SessionDep, user: CurrentUser) -> ParticipationOverview:
    return await service.participation(session, action, actor=user)


@router.put("/{action_id}/participation", operation_id="actions-participation-set")
async def set_participation(
    body: ParticipationSet, action: VisibleAction, session: SessionDep, user: CurrentUser
) -> Participation:
    return await service.set_participation(session, action, body, actor=user)


@router.post("/{action_id}/documents", status_code=201, operation_id="actions-documents-create")
async def add_document(
    request: Request,
    action: EditableAction,
    session: SessionDep,
    user: CurrentUser,
    file: Annotated[UploadFile, File()],
) -> DocumentRead:
    return await service.add_document(session, action, file, actor=user, settings=request.app.state.settings)


@router.get(
    "/{action_id}/documents/{document_id}",
    operation_id="actions-documents-read",
    response_class=FileResponse,
    responses={200: {"content": {"application/octet-stream": {}}}},
)
async def read_document(document_id: uuid.UUID, action: VisibleAction, session: SessionDep) -> FileResponse:
    """Served only to people on the action (and staff)."""
    d = await service.get_document(session, action, document_id)
    return FileResponse(Path(d.path), media_type=d.content_type, filename=d.filename)

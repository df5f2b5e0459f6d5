from __future__ import annotations

import uuid
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, File, Query, Request, Response, UploadFile
from fastapi.responses import FileResponse

from app.actions import assignment, documents, service, targeting
from app.actions.dependencies import EditableAction, VisibleAction
from app.actions.schemas import (
    ActionCreate,
    ActionRead,
    ActionStatus,
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
from app.actions.walklist import WalkList, near_point, walklist_for
from app.auth import references
from app.auth.dependencies import CurrentUser, require
from app.auth.permissions import Perm
from app.auth.principal import Principal
from app.core.db import SessionDep
from app.core.pagination import CursorQ, Page
from app.core.schemas import INT4_MAX

router = APIRouter(prefix="/actions", tags=["actions"])
Leader = Annotated[Principal, require(Perm.lead_actions)]


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
        actor=user,
    )


@router.get("", operation_id="actions-list")
async def list_actions(
    session: SessionDep,
    user: CurrentUser,
    mine: bool = False,
    status: ActionStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: CursorQ = None,
) -> Page[ActionRead]:
    rows, nxt = await service.list_actions(session, actor=user, mine=mine, status=status, limit=limit, cursor=cursor)
    return Page[ActionRead](items=await service.to_read_many(session, rows, actor=user), next_cursor=nxt)


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
    await references.check(session, user, body, service.assign_refs(action))
    return await assignment.assign(session, action, body)


@router.get("/{action_id}/walklist", operation_id="actions-walklist")
async def get_walklist(
    action: VisibleAction,
    session: SessionDep,
    user: CurrentUser,
    user_id: uuid.UUID | None = None,
    turf: Annotated[int | None, Query(ge=1, le=INT4_MAX, description="A turf number (1, 2, …).")] = None,
    limit: Annotated[int, Query(ge=1, le=5000, description="Households per page.")] = 1000,
    cursor: CursorQ = None,
    near_lat: Annotated[
        float | None, Query(ge=-90, le=90, description="The volunteer's latitude: route order, nearest first.")
    ] = None,
    near_lon: Annotated[float | None, Query(ge=-180, le=180, description="The volunteer's longitude.")] = None,
) -> WalkList:
    """Walking order (street, odd side then even side), or with `near_lat` and `near_lon` the route order from
    there: nearest building first."""
    return await walklist_for(
        session,
        action,
        actor=user,
        user_id=user_id,
        turf=turf,
        limit=limit,
        cursor=cursor,
        near=near_point(near_lat, near_lon),
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
    return await documents.add_document(session, action, file, actor=user, settings=request.app.state.settings)


@router.get(
    "/{action_id}/documents/{document_id}",
    operation_id="actions-documents-read",
    response_class=FileResponse,
    responses={200: {"content": {"application/octet-stream": {}}}},
)
async def read_document(document_id: uuid.UUID, action: VisibleAction, session: SessionDep) -> FileResponse:
    """Served only to people on the action (and staff)."""
    d = await documents.get_document(session, action, document_id)
    return FileResponse(Path(d.path), media_type=d.content_type, filename=d.filename)

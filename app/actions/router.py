from __future__ import annotations

import uuid
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Query, Request, Response, UploadFile
from fastapi.responses import FileResponse

from app.actions import assignment, documents, service, targeting, targets, turfs
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
from app.actions.targets import ReassignResult, TargetFilter, TargetPage, TargetReassign, TargetSort
from app.actions.walklist import WalkList, near_point, walklist_for
from app.actions.walklist_pdf import Lang, walklist_pdf
from app.auth import references
from app.auth.dependencies import CurrentUser, require
from app.auth.permissions import Perm
from app.auth.principal import Principal
from app.core.db import SessionDep
from app.core.pagination import CursorQ, LimitQ, Page
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
    rows, nxt, total = await service.list_actions(
        session, actor=user, mine=mine, status=status, limit=limit, cursor=cursor
    )
    return Page[ActionRead](items=await service.to_read_many(session, rows, actor=user), next_cursor=nxt, total=total)


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


@router.get("/{action_id}/targets", operation_id="actions-targets-list")
async def list_targets(
    action: VisibleAction,
    session: SessionDep,
    user: Leader,
    status: Annotated[list[targets.StoredStatus] | None, Query(description="Any of these statuses.")] = None,
    assignee_user_id: uuid.UUID | None = None,
    team_id: Annotated[uuid.UUID | None, Query(description="Assigned to a member of this team.")] = None,
    unassigned: bool = False,
    sort: TargetSort = "name",
    limit: LimitQ = 50,
    cursor: CursorQ = None,
) -> TargetPage:
    """The action's targets with status, assignee, last outcome and attempts; team leaders see their teams'
    targets and the unassigned pool."""
    await references.check_query(session, user, targets.FILTER_REFS, assignee_user_id=assignee_user_id, team_id=team_id)
    f = TargetFilter(status=status or [], assignee_user_id=assignee_user_id, team_id=team_id, unassigned=unassigned)
    return await targets.list_targets(session, action, actor=user, f=f, sort=sort, limit=limit, cursor=cursor)


@router.post("/{action_id}/targets/reassign", operation_id="actions-targets-reassign")
async def reassign_targets(
    body: TargetReassign, action: EditableAction, session: SessionDep, user: Leader
) -> ReassignResult:
    """To a volunteer or a team of the action, or back to the pool; targets under a live lease are skipped and
    counted."""
    await references.check(session, user, body, targets.reassign_refs(action))
    return await targets.reassign(session, action, body, actor=user)


@router.get("/{action_id}/turfs", operation_id="actions-turfs")
async def get_turfs(action: VisibleAction, session: SessionDep, user: Leader) -> dict[str, Any]:
    """The turfs as a GeoJSON FeatureCollection: a polygon per turf with its colour, assignee and counts."""
    return await turfs.turfs_geojson(session, action, actor=user)


@router.get(
    "/{action_id}/walklist.pdf",
    operation_id="actions-walklist-pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}},
)
async def get_walklist_pdf(
    action: VisibleAction,
    session: SessionDep,
    user: Leader,
    turf: Annotated[int, Query(ge=1, le=INT4_MAX, description="The turf number.")],
    lang: Lang = "en",
) -> Response:
    """A turf's walk list to print: households in walking order with a box per outcome (audited as an export)."""
    body = await walklist_pdf(session, action, actor=user, turf_no=turf, lang=lang)
    return Response(
        body,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="walklist-turf-{turf}.pdf"'},
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

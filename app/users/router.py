from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, Response

from app.audit import service as audit
from app.auth.dependencies import Admin, Auditor, Manager, Staff
from app.auth.schemas import OrganizationRead
from app.core.db import SessionDep
from app.core.pagination import CursorQ, LimitQ, Page
from app.users import service
from app.users.schemas import (
    AuditEntry,
    InvitationCreate,
    InvitationCreated,
    InvitationRead,
    MembershipUpdate,
    OrganizationUpdate,
    UserRead,
)

router = APIRouter(tags=["members"])


@router.get("/users", operation_id="users-list")
async def list_users(session: SessionDep, user: Staff) -> list[UserRead]:
    return await service.list_users(session, actor=user)


@router.get("/users/{user_id}", operation_id="users-read")
async def read_user(user_id: uuid.UUID, session: SessionDep, user: Staff) -> UserRead:
    return await service.get_user(session, user_id, actor=user)


@router.patch("/users/{user_id}", operation_id="users-update")
async def update_user(user_id: uuid.UUID, body: MembershipUpdate, session: SessionDep, user: Admin) -> UserRead:
    return await service.set_role(session, user_id, body.role, actor=user)


@router.delete("/users/{user_id}", status_code=204, operation_id="users-delete")
async def remove_user(user_id: uuid.UUID, session: SessionDep, user: Admin) -> Response:
    await service.remove_user(session, user_id, actor=user)
    return Response(status_code=204)


@router.post("/invitations", status_code=201, operation_id="invitations-create")
async def invite(body: InvitationCreate, request: Request, session: SessionDep, user: Manager) -> InvitationCreated:
    return await service.invite(session, body, actor=user, settings=request.app.state.settings)


@router.get("/invitations", operation_id="invitations-list")
async def list_invitations(session: SessionDep, user: Manager) -> list[InvitationRead]:
    return await service.list_invitations(session, actor=user)


@router.delete("/invitations/{invitation_id}", status_code=204, operation_id="invitations-delete")
async def revoke_invitation(invitation_id: uuid.UUID, session: SessionDep, user: Manager) -> Response:
    await service.revoke_invitation(session, invitation_id, actor=user)
    return Response(status_code=204)


@router.patch("/organization", operation_id="organization-update")
async def update_organization(body: OrganizationUpdate, session: SessionDep, user: Admin) -> OrganizationRead:
    return await service.update_organization(session, body, actor=user)


@router.get("/audit-log", operation_id="audit-log-list")
async def audit_log(
    session: SessionDep,
    user: Auditor,
    limit: LimitQ = 100,
    cursor: CursorQ = None,
    action: str | None = None,
    object_id: str | None = None,
) -> Page[AuditEntry]:
    rows, nxt = await audit.list_entries(
        session, actor=user, limit=limit, cursor=cursor, action=action, object_id=object_id
    )
    return Page[AuditEntry](items=[AuditEntry.model_validate(r) for r in rows], next_cursor=nxt)

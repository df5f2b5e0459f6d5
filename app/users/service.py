"""Members of an organization, their roles, invitations, and organization settings."""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import available_timezones

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import service as audit
from app.auth import cache as auth_cache
from app.auth import references
from app.auth.permissions import Perm, can_grant, role_can
from app.auth.principal import Principal
from app.auth.references import TEAM
from app.auth.schemas import OrganizationRead
from app.config import Settings
from app.core import paths
from app.core.csp import MAP_ORIGINS
from app.core.db import after_commit
from app.core.errors import Forbidden, NotFound, Unprocessable
from app.core.security import hash_token
from app.models import AuthToken, Invitation, Membership, Organization, TeamMember, User
from app.users.schemas import (
    InvitationCreate,
    InvitationCreated,
    InvitationRead,
    OrganizationUpdate,
    UserRead,
)


class UserNotFound(NotFound):
    code = "user_not_found"
    message = "User not found."


class InvitationNotFound(NotFound):
    code = "invitation_not_found"
    message = "Invitation not found."


async def list_users(session: AsyncSession, *, actor: Principal, user_id: uuid.UUID | None = None) -> list[UserRead]:
    users = (
        select(User.id, User.email, User.full_name, Membership.role, Membership.created_at)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.organization_id == actor.organization_id)
    )
    teams_q = select(TeamMember.user_id, TeamMember.team_id).where(TeamMember.organization_id == actor.organization_id)
    if user_id is not None:
        users = users.where(User.id == user_id)
        teams_q = teams_q.where(TeamMember.user_id == user_id)
    rows = (await session.execute(users.order_by(User.full_name, User.id))).all()
    teams = (await session.execute(teams_q)).all()
    by_user: dict[uuid.UUID, list[uuid.UUID]] = {}
    for u, t in teams:
        by_user.setdefault(u, []).append(t)
    return [
        UserRead(
            id=r.id,
            email=r.email,
            full_name=r.full_name,
            role=r.role,
            team_ids=by_user.get(r.id, []),
            joined_at=r.created_at,
        )
        for r in rows
    ]


async def get_user(session: AsyncSession, user_id: uuid.UUID, *, actor: Principal) -> UserRead:
    found = await list_users(session, actor=actor, user_id=user_id)
    if not found:
        raise UserNotFound()
    return found[0]


async def set_role(session: AsyncSession, user_id: uuid.UUID, role: str, *, actor: Principal) -> UserRead:
    m = await session.scalar(
        select(Membership).where(Membership.organization_id == actor.organization_id, Membership.user_id == user_id)
    )
    if m is None:
        raise UserNotFound()
    if user_id == actor.user_id and not role_can(role, Perm.manage_org):
        raise Forbidden("You cannot demote yourself; ask another admin.")
    old = m.role
    m.role = role
    auth_cache.changed(session)
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        action="user.role_changed",
        object_type="user",
        object_id=user_id,
        details={"from": old, "to": role},
    )
    return await get_user(session, user_id, actor=actor)


async def remove_user(session: AsyncSession, user_id: uuid.UUID, *, actor: Principal) -> None:
    if user_id == actor.user_id:
        raise Forbidden("You cannot remove yourself.")
    auth_cache.changed(session)
    res = await session.execute(
        delete(Membership).where(Membership.organization_id == actor.organization_id, Membership.user_id == user_id)
    )
    if res.rowcount == 0:  # type: ignore[attr-defined]
        raise UserNotFound()
    await session.execute(
        delete(AuthToken).where(AuthToken.organization_id == actor.organization_id, AuthToken.user_id == user_id)
    )
    await audit.record(session, actor=actor, action="user.removed", object_type="user", object_id=user_id)


async def invite(
    session: AsyncSession, body: InvitationCreate, *, actor: Principal, settings: Settings
) -> InvitationCreated:
    if not can_grant(actor.role, body.role):
        raise Forbidden("Only an admin can invite admins or managers.")
    await references.check(session, actor, body, {"team_id": TEAM})
    token = f"{actor.organization_id.hex}.{secrets.token_urlsafe(24)}"
    inv = Invitation(
        organization_id=actor.organization_id,
        email=body.email.lower(),
        role=body.role,
        team_id=body.team_id,
        token_hash=hash_token(token),
        invited_by=actor.user_id,
        expires_at=datetime.now(UTC) + timedelta(hours=settings.auth.invitation_ttl_hours),
    )
    session.add(inv)
    await session.flush()
    await session.refresh(inv)
    await audit.record(
        session,
        actor=actor,
        action="invitation.created",
        object_type="invitation",
        object_id=inv.id,
        details={"role": body.role},
    )
    return InvitationCreated(
        **InvitationRead.model_validate(inv).model_dump(),
        token=token,
        accept_path=paths.invitation_accept(token),
    )


async def list_invitations(session: AsyncSession, *, actor: Principal) -> list[InvitationRead]:
    rows = (
        await session.scalars(
            select(Invitation)
            .where(Invitation.organization_id == actor.organization_id)
            .order_by(Invitation.created_at.desc())
        )
    ).all()
    return [InvitationRead.model_validate(r) for r in rows]


async def revoke_invitation(session: AsyncSession, invitation_id: uuid.UUID, *, actor: Principal) -> None:
    res = await session.execute(
        delete(Invitation).where(
            Invitation.organization_id == actor.organization_id,
            Invitation.id == invitation_id,
            Invitation.accepted_at.is_(None),
        )
    )
    if res.rowcount == 0:  # type: ignore[attr-defined]
        raise InvitationNotFound()


async def update_organization(session: AsyncSession, body: OrganizationUpdate, *, actor: Principal) -> OrganizationRead:
    org = await session.scalar(select(Organization).where(Organization.id == actor.organization_id))
    assert org is not None
    data = body.model_dump(exclude_unset=True)
    if "timezone" in data and data["timezone"] not in available_timezones():
        raise Unprocessable("Unknown time zone.", details=[{"field": "timezone", "message": "not an IANA zone"}])
    for k, v in data.items():
        setattr(org, k, v)
    await session.flush()
    if "map_style_url" in data:  # the Content-Security-Policy opens to the new origin once this is committed
        urls = await MAP_ORIGINS.urls(session)

        async def allow_map_origins() -> None:
            MAP_ORIGINS.set(urls)

        after_commit(session, allow_map_origins)
    await audit.record(
        session,
        actor=actor,
        action="organization.updated",
        object_type="organization",
        object_id=org.id,
        details={"fields": sorted(data)},
    )
    return OrganizationRead.model_validate(org)

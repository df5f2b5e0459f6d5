"""Who is calling: bearer token → principal, tenant set on the transaction, role checks."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import select

from app.auth.permissions import Perm
from app.auth.principal import Principal
from app.core.db import SessionDep, set_tenant
from app.core.errors import Forbidden, Unauthorized
from app.core.logging import request_id_var
from app.core.ratelimit import RateLimiter
from app.core.security import hash_token
from app.models import AuthToken, Membership, TeamMember, User

bearer = HTTPBearer(auto_error=False, description="A session token from /auth/login, or an API key.")

# Paths a token that still has to set up two-factor authentication may use.
_TWO_FA_SETUP_PATHS = ("/api/v1/me", "/api/v1/auth/logout")


class TwoFactorSetupRequired(Forbidden):
    code = "two_factor_setup_required"
    message = "Your organization requires two-factor authentication: set it up at /api/v1/me/totp."


def client_ip(request: Request) -> str | None:
    settings = request.app.state.settings
    if settings.trust_proxy_headers:
        fwd = request.headers.get("x-forwarded-for")
        if fwd:
            return fwd.split(",")[0].strip()
    return request.client.host if request.client else None


def limiter(request: Request) -> RateLimiter:
    rl: RateLimiter = request.app.state.limiter
    return rl


async def current_principal(
    request: Request,
    session: SessionDep,
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    if creds is None or creds.scheme.lower() != "bearer" or not creds.credentials:
        raise Unauthorized("Missing bearer token.")
    row = (
        await session.execute(
            select(
                AuthToken.id, AuthToken.organization_id, AuthToken.needs_2fa_setup, User.id, User.email, User.full_name
            )
            .join(User, User.id == AuthToken.user_id)
            .where(
                AuthToken.token_hash == hash_token(creds.credentials),
                AuthToken.revoked_at.is_(None),
                AuthToken.expires_at > datetime.now(UTC),
                User.is_active.is_(True),
            )
        )
    ).first()
    if row is None:
        raise Unauthorized("Invalid or expired token.")
    token_id, org_id, needs_2fa, user_id, email, full_name = row
    if needs_2fa and not request.url.path.startswith(_TWO_FA_SETUP_PATHS):
        raise TwoFactorSetupRequired()
    await set_tenant(session, org_id)
    role = await session.scalar(
        select(Membership.role).where(Membership.organization_id == org_id, Membership.user_id == user_id)
    )
    if role is None:
        raise Unauthorized("Your membership of this organization has ended.")
    teams = (
        await session.scalars(
            select(TeamMember.team_id).where(TeamMember.organization_id == org_id, TeamMember.user_id == user_id)
        )
    ).all()
    principal = Principal(
        user_id=user_id,
        organization_id=org_id,
        role=role,
        email=email,
        full_name=full_name,
        token_id=token_id,
        team_ids=frozenset(teams),
        ip=client_ip(request),
        request_id=request_id_var.get(),
    )
    request.state.principal = principal
    return principal


CurrentUser = Annotated[Principal, Depends(current_principal)]


def require(perm: Perm) -> object:
    async def check(user: CurrentUser) -> Principal:
        if not user.can(perm):
            raise Forbidden(f"Your role ({user.role}) does not allow this ({perm.value}).")
        return user

    return Depends(check)


Admin = Annotated[Principal, require(Perm.manage_org)]
Manager = Annotated[Principal, require(Perm.manage_members)]
Staff = Annotated[Principal, require(Perm.view_members)]
FieldWorker = Annotated[Principal, require(Perm.field_work)]


def new_id() -> uuid.UUID:
    return uuid.uuid4()

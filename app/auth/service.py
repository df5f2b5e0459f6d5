"""Login, logout, invitations accepted, two-factor setup."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import service as audit
from app.auth import cache as auth_cache
from app.auth.permissions import Role, is_staff
from app.auth.principal import Principal
from app.auth.schemas import InvitationAccept, LoginRequest, MeRead, OrganizationRead, TeamRef, TokenResponse
from app.config import Settings
from app.core.db import set_tenant
from app.core.errors import AppError, Conflict, NotFound, Unauthorized
from app.core.ratelimit import RateLimiter
from app.core.security import (
    hash_password,
    hash_token,
    new_token,
    new_totp_secret,
    totp_uri,
    verify_password,
    verify_totp,
)
from app.models import AuthToken, Invitation, Membership, Organization, Team, TeamMember, User


class InvalidCredentials(Unauthorized):
    code = "invalid_credentials"
    message = "Wrong email or password."


class TotpRequired(Unauthorized):
    code = "totp_required"
    message = "This account uses two-factor authentication: send totp_code."


class InvitationNotFound(NotFound):
    code = "invitation_not_found"
    message = "This invitation does not exist, has expired or was already used."


async def issue_token(
    session: AsyncSession,
    *,
    user_id: uuid.UUID,
    organization_id: uuid.UUID,
    settings: Settings,
    needs_2fa_setup: bool = False,
) -> TokenResponse:
    token = new_token()
    expires = datetime.now(UTC) + timedelta(hours=settings.auth.token_ttl_hours)
    await session.execute(
        insert(AuthToken).values(
            token_hash=hash_token(token),
            user_id=user_id,
            organization_id=organization_id,
            expires_at=expires,
            needs_2fa_setup=needs_2fa_setup,
        )
    )
    return TokenResponse(access_token=token, expires_at=expires, two_factor_setup_required=needs_2fa_setup)


async def login(
    session: AsyncSession, body: LoginRequest, *, ip: str | None, limiter: RateLimiter, settings: Settings
) -> TokenResponse:
    email = body.email.lower()
    await limiter.check(
        f"login:ip:{ip}",
        limit=settings.auth.login_attempts_per_minute_ip,
        message="Too many login attempts from this address.",
    )
    await limiter.check(
        f"login:acct:{hash_token(email)}",
        limit=settings.auth.login_attempts_per_minute_account,
        message="Too many login attempts for this account.",
    )
    user = await session.scalar(select(User).where(func.lower(User.email) == email))
    ok = verify_password(body.password, user.password_hash if user else None)
    if user is None or not ok or not user.is_active:
        raise InvalidCredentials()
    memberships = (
        await session.execute(
            text("SELECT organization_id, slug, role, require_2fa FROM gg_user_memberships(:u)"), {"u": user.id}
        )
    ).all()
    if body.organization:
        memberships = [m for m in memberships if m.slug == body.organization]
    if not memberships:
        raise InvalidCredentials("This account belongs to no such organization.")
    chosen = memberships[0]
    if user.totp_enabled:
        if not body.totp_code:
            raise TotpRequired()
        if not user.totp_secret or not verify_totp(user.totp_secret, body.totp_code):
            raise InvalidCredentials("Wrong two-factor code.")
    needs_setup = bool(chosen.require_2fa and is_staff(chosen.role) and not user.totp_enabled)
    await set_tenant(session, chosen.organization_id)
    return await issue_token(
        session, user_id=user.id, organization_id=chosen.organization_id, settings=settings, needs_2fa_setup=needs_setup
    )


async def logout(session: AsyncSession, *, actor: Principal) -> None:
    auth_cache.changed(session)
    await session.execute(update(AuthToken).where(AuthToken.id == actor.token_id).values(revoked_at=datetime.now(UTC)))


def split_invitation_token(token: str) -> tuple[uuid.UUID, str]:
    org_part, _, _secret = token.partition(".")
    try:
        return uuid.UUID(hex=org_part), token
    except ValueError as e:
        raise InvitationNotFound() from e


async def accept_invitation(
    session: AsyncSession, token: str, body: InvitationAccept, *, settings: Settings
) -> TokenResponse:
    org_id, full = split_invitation_token(token)
    await set_tenant(session, org_id)
    inv = await session.scalar(
        select(Invitation)
        .where(
            Invitation.organization_id == org_id,
            Invitation.token_hash == hash_token(full),
            Invitation.accepted_at.is_(None),
            Invitation.expires_at > datetime.now(UTC),
        )
        .with_for_update()
    )
    if inv is None:
        raise InvitationNotFound()
    user = await session.scalar(select(User).where(func.lower(User.email) == inv.email.lower()))
    if user is None:
        user = User(email=inv.email.lower(), full_name=body.full_name, password_hash=hash_password(body.password))
        session.add(user)
        await session.flush()
    elif user.password_hash is not None:
        # An existing account joins with its own password: it must match, or anyone holding the link
        # could take the account over.
        if not verify_password(body.password, user.password_hash):
            raise Conflict("An account with this email exists; accept with its password.")
    else:
        user.password_hash = hash_password(body.password)
    exists = await session.scalar(
        select(Membership.role).where(Membership.organization_id == org_id, Membership.user_id == user.id)
    )
    if exists is None:
        session.add(Membership(organization_id=org_id, user_id=user.id, role=inv.role))
        await session.flush()
    if inv.team_id is not None:
        present = await session.scalar(
            select(TeamMember.user_id).where(
                TeamMember.organization_id == org_id, TeamMember.team_id == inv.team_id, TeamMember.user_id == user.id
            )
        )
        if present is None:
            session.add(TeamMember(organization_id=org_id, team_id=inv.team_id, user_id=user.id))
    inv.accepted_at = datetime.now(UTC)
    await session.flush()
    await audit.record(
        session, actor=None, organization_id=org_id, action="invitation.accepted", object_type="user", object_id=user.id
    )
    return await issue_token(session, user_id=user.id, organization_id=org_id, settings=settings)


async def me(session: AsyncSession, *, actor: Principal) -> MeRead:
    org = await session.scalar(select(Organization).where(Organization.id == actor.organization_id))
    user = await session.scalar(select(User).where(User.id == actor.user_id))
    assert org is not None
    assert user is not None
    teams = (
        await session.execute(
            select(Team.id, Team.name)
            .where(Team.organization_id == actor.organization_id, Team.id.in_(actor.team_ids))
            .order_by(Team.name)
        )
    ).all()
    return MeRead(
        id=user.id,
        email=user.email,
        full_name=user.full_name,
        role=Role(actor.role),
        organization=OrganizationRead.model_validate(org),
        teams=[TeamRef(id=t.id, name=t.name) for t in teams],
        two_factor_enabled=user.totp_enabled,
    )


async def totp_setup(session: AsyncSession, *, actor: Principal) -> tuple[str, str]:
    user = await session.scalar(select(User).where(User.id == actor.user_id))
    assert user is not None
    if user.totp_enabled:
        raise Conflict("Two-factor authentication is already enabled.")
    user.totp_secret = new_totp_secret()
    await session.flush()
    return user.totp_secret, totp_uri(user.totp_secret, user.email)


class WrongCode(AppError):
    status_code = 422
    code = "invalid_totp_code"
    message = "That code is not valid; check your authenticator's clock."


async def totp_enable(session: AsyncSession, *, actor: Principal, code: str) -> None:
    user = await session.scalar(select(User).where(User.id == actor.user_id))
    assert user is not None
    if not user.totp_secret:
        raise Conflict("Call /me/totp/setup first.")
    if not verify_totp(user.totp_secret, code):
        raise WrongCode()
    user.totp_enabled = True
    auth_cache.changed(session)
    await session.execute(update(AuthToken).where(AuthToken.user_id == user.id).values(needs_2fa_setup=False))
    await audit.record(session, actor=actor, action="user.totp_enabled", object_type="user", object_id=user.id)

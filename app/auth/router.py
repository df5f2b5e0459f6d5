"""Auth and /me endpoints."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response

from app.auth import service
from app.auth.dependencies import CurrentUser, client_ip, limiter
from app.auth.schemas import (
    InvitationAccept,
    LoginRequest,
    MeRead,
    TokenResponse,
    TotpCode,
    TotpSetupResponse,
)
from app.core.db import SessionDep
from app.core.ratelimit import RateLimiter

router = APIRouter(tags=["auth"])


@router.post("/auth/login", operation_id="auth-login", responses={401: {}, 429: {}})
async def login(
    body: LoginRequest, request: Request, session: SessionDep, rl: Annotated[RateLimiter, Depends(limiter)]
) -> TokenResponse:
    return await service.login(session, body, ip=client_ip(request), limiter=rl, settings=request.app.state.settings)


@router.post("/auth/logout", status_code=204, operation_id="auth-logout")
async def logout(session: SessionDep, user: CurrentUser) -> Response:
    await service.logout(session, actor=user)
    return Response(status_code=204)


@router.post("/auth/invitations/{token}/accept", operation_id="auth-invitations-accept")
async def accept_invitation(
    token: Annotated[str, Path(max_length=200)],
    body: InvitationAccept,
    request: Request,
    session: SessionDep,
    rl: Annotated[RateLimiter, Depends(limiter)],
) -> TokenResponse:
    await rl.check(f"public:{client_ip(request)}", limit=request.app.state.settings.limits.public_requests_per_minute)
    return await service.accept_invitation(session, token, body, settings=request.app.state.settings)


@router.get("/me", operation_id="me-read")
async def me(session: SessionDep, user: CurrentUser) -> MeRead:
    return await service.me(session, actor=user)


@router.post("/me/totp/setup", operation_id="me-totp-setup")
async def totp_setup(session: SessionDep, user: CurrentUser) -> TotpSetupResponse:
    secret, uri = await service.totp_setup(session, actor=user)
    return TotpSetupResponse(secret=secret, otpauth_uri=uri)


@router.post("/me/totp/enable", status_code=204, operation_id="me-totp-enable")
async def totp_enable(body: TotpCode, session: SessionDep, user: CurrentUser) -> Response:
    await service.totp_enable(session, actor=user, code=body.code)
    return Response(status_code=204)

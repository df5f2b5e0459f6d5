"""Who is calling: bearer token → principal, tenant set on the transaction, role checks."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import service as audit
from app.auth.cache import AuthRow, PrincipalCache
from app.auth.permissions import Perm, scopes_allow_route
from app.auth.principal import Principal
from app.core.db import SessionDep, set_tenant, set_tenant_on_first_statement
from app.core.errors import Forbidden, Unauthorized
from app.core.logging import request_id_var
from app.core.paths import API_PREFIX
from app.core.ratelimit import RateLimiter
from app.core.replicas import Reader, ReadRouter, Writer, reader, replica_session, writer
from app.core.security import hash_token

API_KEY_PREFIX = "ggk_"  # what tells an API key from a session token

bearer = HTTPBearer(auto_error=False, description="A session token from /auth/login, or an API key.")

# Paths a token that still has to set up two-factor authentication may use.
_TWO_FA_SETUP_PATHS = (f"{API_PREFIX}/me", f"{API_PREFIX}/auth/logout")


class TwoFactorSetupRequired(Forbidden):
    code = "two_factor_setup_required"
    message = f"Your organization requires two-factor authentication: set it up at {API_PREFIX}/me/totp."


def client_ip(request: Request) -> str | None:
    settings = request.app.state.settings
    if settings.trust_proxy_headers:
        fwd = request.headers.get("x-forwarded-for")
        if fwd:
            return fwd.split(",")[0].strip()
    return request.client.host if request.client else None


async def limiter(request: Request) -> RateLimiter:
    # async, as every dependency of a hot route: FastAPI runs a plain `def` dependency in the thread pool, a
    # thread hand-off per request (tests/core/test_no_threadpool.py)
    rl: RateLimiter = request.app.state.limiter
    return rl


async def current_principal(
    request: Request,
    session: SessionDep,
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    if creds is None or creds.scheme.lower() != "bearer" or not creds.credentials:
        raise Unauthorized("Missing bearer token.")
    if creds.credentials.startswith(API_KEY_PREFIX):
        return await _key_principal(request, session, creds.credentials)
    return await principal_of_token(
        request,
        session,
        hash_token(creds.credentials),
        two_fa_setup_allowed=request.url.path.startswith(_TWO_FA_SETUP_PATHS),
    )


async def principal_of_token(
    request: Request, session: AsyncSession, token_hash: str, *, two_fa_setup_allowed: bool
) -> Principal:
    """The session a token's hash names (a bearer token, or a stream ticket that carries it): from the process's
    short cache (app/auth/cache.py; the tenant then goes out with the request's first statement), else one
    statement (token, user, role and teams; gg_authenticate also sets the tenant on the transaction)."""
    cache: PrincipalCache | None = getattr(request.app.state, "principal_cache", None)
    row = cache.get(token_hash) if cache is not None else None
    if row is not None:
        pending = set_tenant_on_first_statement(session, row.organization_id)
        if pending is not None:
            await pending
    else:
        generation = cache.generation if cache is not None else 0
        found = (await session.execute(text("SELECT * FROM gg_authenticate(:h)"), {"h": token_hash})).first()
        if found is None:
            raise Unauthorized("Invalid or expired token.")
        row = AuthRow(
            token_id=found.token_id,
            organization_id=found.organization_id,
            needs_2fa_setup=found.needs_2fa_setup,
            user_id=found.user_id,
            email=found.email,
            full_name=found.full_name,
            role=found.role,
            team_ids=tuple(found.team_ids or ()),
        )
        if cache is not None:
            cache.put(token_hash, row, generation)
    if row.needs_2fa_setup and not two_fa_setup_allowed:
        raise TwoFactorSetupRequired()
    return _principal(request, row, token_id=row.token_id, team_ids=frozenset(row.team_ids))


def _principal(request: Request, row: Any, **extra: Any) -> Principal:
    """The caller as this request sees them (who from `row`, where from the request), kept on the request."""
    principal = Principal(
        user_id=row.user_id,
        organization_id=row.organization_id,
        role=row.role,
        email=row.email,
        full_name=row.full_name,
        ip=client_ip(request),
        request_id=request_id_var.get(),
        **extra,
    )
    request.state.principal = principal
    return principal


async def _audit_key_request(request: Request, principal: Principal, details: dict[str, object]) -> None:
    """In its own short transaction: kept even when the request is refused or fails and rolls back."""
    maker = request.app.state.sessionmaker
    async with maker() as s, s.begin():
        await set_tenant(s, principal.organization_id)
        await audit.record(
            s,
            actor=principal,
            action="api_key.request",
            object_type="api_key",
            object_id=principal.api_key_id,
            details=details,
        )


async def _key_principal(request: Request, session: AsyncSession, key: str) -> Principal:
    """An API key acts as its creator, limited to its scopes (the routes and permissions of SCOPE_GRANTS);
    every request it makes is written to the audit log as that key."""
    row = (await session.execute(text("SELECT * FROM gg_authenticate_key(:h)"), {"h": hash_token(key)})).first()
    if row is None:
        raise Unauthorized("Invalid, expired or revoked API key.")
    principal = _principal(request, row, token_id=row.key_id, api_key_id=row.key_id, scopes=frozenset(row.scopes or []))
    path = request.url.path.removeprefix(API_PREFIX)
    allowed = scopes_allow_route(principal.scopes or frozenset(), request.method, path)
    await _audit_key_request(request, principal, {"method": request.method, "path": path, "allowed": allowed})
    if not allowed:
        raise Forbidden(f"This API key's scopes ({', '.join(sorted(principal.scopes or ()))}) do not open this route.")
    return principal


CurrentUser = Annotated[Principal, Depends(current_principal)]


class RequirePermission:
    """The dependency that lets a request through only if the caller's role has `perm` in the permission table;
    it keeps `perm` so tests can read which permission gates each route."""

    def __init__(self, perm: Perm) -> None:
        self.perm = perm

    async def __call__(self, user: CurrentUser) -> Principal:
        if not user.can(self.perm):
            who = "This API key's scopes" if user.api_key_id else f"Your role ({user.role})"
            raise Forbidden(f"{who} do not allow this ({self.perm.value}).")
        return user


def require(perm: Perm) -> object:
    return Depends(RequirePermission(perm))


Admin = Annotated[Principal, require(Perm.manage_org)]
Auditor = Annotated[Principal, require(Perm.view_audit)]
Manager = Annotated[Principal, require(Perm.manage_members)]
Staff = Annotated[Principal, require(Perm.view_members)]
FieldWorker = Annotated[Principal, require(Perm.field_work)]


async def read_session(request: Request, session: SessionDep, user: CurrentUser) -> AsyncIterator[AsyncSession]:
    """For reads that tolerate a few seconds of lag: a read-only transaction on a healthy hot standby scoped to
    the caller's organization, or the request's own primary session when none is configured or healthy. The
    caller is authenticated on the primary first; that transaction then ends (its connection goes back to the
    pool) before the standby's read begins, so a slow read holds nothing on the primary. The request's dependencies
    that read the primary (the visible action…) come before this one; a use of the primary session after it fails
    loudly instead of opening a second primary transaction."""
    reads: ReadRouter | None = getattr(request.app.state, "reads", None)
    replica = reads.pick() if reads is not None else None
    if replica is None:
        yield session
        return
    await session.commit()  # the auth lookup wrote nothing: this only gives the primary connection back
    request.state.read_from = replica.name
    async with replica_session(replica, user.organization_id) as rs:
        yield rs


ReadSessionDep = Annotated[AsyncSession, Depends(read_session, scope="function")]


async def lag_tolerant_reader(request: Request, session: SessionDep, user: CurrentUser) -> Reader:
    """Opens lag-tolerant read transactions of their own (on a standby when one is healthy) for a request that
    also writes on the primary: an export's count and the rows of its download. Each refuses to open while the
    request's primary transaction is still open (app/core/replicas.py `reader`)."""
    return reader(
        getattr(request.app.state, "reads", None), request.app.state.sessionmaker, user.organization_id, session
    )


ReaderDep = Annotated[Reader, Depends(lag_tolerant_reader)]


async def primary_writer(request: Request, user: CurrentUser) -> Writer:
    """A primary transaction of its own, for the writes a request makes after a lag-tolerant read (the request's
    own transaction was ended before that read)."""
    return writer(request.app.state.sessionmaker, user.organization_id)


WriterDep = Annotated[Writer, Depends(primary_writer)]

from __future__ import annotations

import pyotp
from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.security import hash_token
from app.models import AuditLog, AuthToken, Membership, TeamMember, User
from tests.fixtures.factories import PASSWORD, World, make_actor, make_org


async def test_login_returns_a_token_that_opens_me(client: AsyncClient, db: AsyncSession) -> None:
    org = await make_org(db)
    actor = await make_actor(db, org, "manager", email="m1@example.org")
    r = await client.post("/api/v1/auth/login", json={"email": "M1@example.org", "password": PASSWORD})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token_type"] == "bearer"
    stored = await db.scalar(select(AuthToken).where(AuthToken.token_hash == hash_token(body["access_token"])))
    assert stored is not None and stored.user_id == actor.user_id
    me = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200
    assert me.json()["role"] == "manager"
    assert me.json()["organization"]["id"] == str(org.id)


async def test_wrong_password_is_401_in_the_error_shape(client: AsyncClient, db: AsyncSession) -> None:
    org = await make_org(db)
    await make_actor(db, org, "volunteer", email="v1@example.org")
    r = await client.post("/api/v1/auth/login", json={"email": "v1@example.org", "password": "nope"})
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "invalid_credentials"
    assert set(r.json()["error"]) == {"code", "message", "details"}


async def test_ten_rapid_wrong_logins_are_rate_limited(client: AsyncClient, db: AsyncSession) -> None:
    org = await make_org(db)
    await make_actor(db, org, "volunteer", email="v2@example.org")
    codes = []
    for _ in range(10):
        r = await client.post("/api/v1/auth/login", json={"email": "v2@example.org", "password": "wrong"})
        codes.append(r.status_code)
    assert codes[:5] == [401] * 5
    assert 429 in codes
    limited = await client.post("/api/v1/auth/login", json={"email": "v2@example.org", "password": PASSWORD})
    assert limited.status_code == 429
    assert int(limited.headers["Retry-After"]) >= 1
    assert limited.json()["error"]["code"] == "rate_limited"


async def test_logout_revokes_the_token(client: AsyncClient, db: AsyncSession) -> None:
    org = await make_org(db)
    actor = await make_actor(db, org, "volunteer")
    assert (await client.post("/api/v1/auth/logout", headers=actor.headers)).status_code == 204
    assert (await client.get("/api/v1/me", headers=actor.headers)).status_code == 401
    tok = await db.scalar(select(AuthToken).where(AuthToken.token_hash == hash_token(actor.token)))
    assert tok is not None and tok.revoked_at is not None


async def test_missing_or_garbage_token_is_401(client: AsyncClient) -> None:
    assert (await client.get("/api/v1/me")).status_code == 401
    r = await client.get("/api/v1/me", headers={"Authorization": "Bearer garbage"})
    assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized"


async def test_malformed_json_and_unknown_fields_are_422_naming_the_field(client: AsyncClient) -> None:
    r = await client.post("/api/v1/auth/login", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "validation_error"
    r = await client.post("/api/v1/auth/login", json={"email": "a@example.org", "password": "x", "is_admin": True})
    assert r.status_code == 422
    assert {"field": "is_admin", "message": "unknown field"} in r.json()["error"]["details"]


async def test_invitation_accept_creates_member_in_team(client: AsyncClient, db: AsyncSession, world: World) -> None:
    mgr = world.a["manager"]
    teams = (await client.get("/api/v1/teams", headers=mgr.headers)).json()
    r = await client.post(
        "/api/v1/invitations",
        headers=mgr.headers,
        json={"email": "newbie@example.org", "role": "volunteer", "team_id": teams[0]["id"]},
    )
    assert r.status_code == 201, r.text
    token = r.json()["token"]
    acc = await client.post(
        f"/api/v1/auth/invitations/{token}/accept", json={"full_name": "New Bie", "password": "a-long-password"}
    )
    assert acc.status_code == 200, acc.text
    user = await db.scalar(select(User).where(User.email == "newbie@example.org"))
    assert user is not None
    role = await db.scalar(select(Membership.role).where(Membership.user_id == user.id))
    assert role == "volunteer"
    assert await db.scalar(select(TeamMember.team_id).where(TeamMember.user_id == user.id)) is not None
    again = await client.post(
        f"/api/v1/auth/invitations/{token}/accept", json={"full_name": "New Bie", "password": "a-long-password"}
    )
    assert again.status_code == 404


async def test_volunteer_cannot_invite(client: AsyncClient, world: World) -> None:
    r = await client.post(
        "/api/v1/invitations", headers=world.a["volunteer"].headers, json={"email": "x@example.org", "role": "admin"}
    )
    assert r.status_code == 403


async def test_org_requiring_2fa_forces_setup_then_login_needs_code(
    client: AsyncClient, db: AsyncSession, world: World
) -> None:
    admin = world.a["admin"]
    r = await client.patch("/api/v1/organization", headers=admin.headers, json={"require_2fa_for_staff": True})
    assert r.status_code == 200 and r.json()["require_2fa_for_staff"] is True
    login = await client.post("/api/v1/auth/login", json={"email": admin.email, "password": PASSWORD})
    tok = login.json()
    assert tok["two_factor_setup_required"] is True
    h = {"Authorization": f"Bearer {tok['access_token']}"}
    assert (await client.get("/api/v1/teams", headers=h)).status_code == 403
    setup = (await client.post("/api/v1/me/totp/setup", headers=h)).json()
    code = pyotp.TOTP(setup["secret"]).now()
    assert (await client.post("/api/v1/me/totp/enable", headers=h, json={"code": "000000"})).status_code in (422, 204)
    assert (await client.post("/api/v1/me/totp/enable", headers=h, json={"code": code})).status_code == 204
    assert (await client.get("/api/v1/teams", headers=h)).status_code == 200
    no_code = await client.post("/api/v1/auth/login", json={"email": admin.email, "password": PASSWORD})
    assert no_code.status_code == 401 and no_code.json()["error"]["code"] == "totp_required"
    ok = await client.post(
        "/api/v1/auth/login",
        json={"email": admin.email, "password": PASSWORD, "totp_code": pyotp.TOTP(setup["secret"]).now()},
    )
    assert ok.status_code == 200 and ok.json()["two_factor_setup_required"] is False
    assert await db.scalar(select(AuditLog.id).where(AuditLog.action == "user.totp_enabled")) is not None

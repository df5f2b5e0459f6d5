from __future__ import annotations

from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Invitation, Membership
from tests.fixtures.factories import PASSWORD, World


async def test_only_an_admin_invites_admins_or_managers(client: AsyncClient, db: AsyncSession, world: World) -> None:
    mgr, admin = world.a["manager"].headers, world.a["admin"].headers
    for role in ("admin", "manager"):
        r = await client.post("/api/v1/invitations", headers=mgr, json={"email": f"{role}@example.org", "role": role})
        assert r.status_code == 403, r.text
    ok = await client.post("/api/v1/invitations", headers=mgr, json={"email": "tl@example.org", "role": "team_leader"})
    assert ok.status_code == 201, ok.text
    staff = await client.post("/api/v1/invitations", headers=admin, json={"email": "m@example.org", "role": "manager"})
    assert staff.status_code == 201, staff.text
    invited = (
        await db.execute(select(Invitation.email, Invitation.role).where(Invitation.organization_id == world.org_a.id))
    ).all()
    assert sorted((e, r) for e, r in invited) == [("m@example.org", "manager"), ("tl@example.org", "team_leader")]


async def test_an_admin_cannot_demote_themselves(client: AsyncClient, db: AsyncSession, world: World) -> None:
    admin = world.a["admin"]
    r = await client.patch(f"/api/v1/users/{admin.user_id}", headers=admin.headers, json={"role": "manager"})
    assert r.status_code == 403, r.text
    same = await client.patch(f"/api/v1/users/{admin.user_id}", headers=admin.headers, json={"role": "admin"})
    assert same.status_code == 200, same.text
    role = await db.scalar(
        select(Membership.role).where(Membership.organization_id == world.org_a.id, Membership.user_id == admin.user_id)
    )
    assert role == "admin"


async def test_two_factor_required_for_staff_applies_to_managers_not_to_volunteers(
    client: AsyncClient, world: World
) -> None:
    r = await client.patch(
        "/api/v1/organization", headers=world.a["admin"].headers, json={"require_2fa_for_staff": True}
    )
    assert r.status_code == 200
    for role, required in (("manager", True), ("team_leader", False), ("volunteer", False)):
        login = await client.post("/api/v1/auth/login", json={"email": world.a[role].email, "password": PASSWORD})
        assert login.status_code == 200, login.text
        assert login.json()["two_factor_setup_required"] is required, role


async def test_the_legal_name_consent_texts_name_is_set_by_admins_and_seen_by_volunteers(
    client: AsyncClient, world: World
) -> None:
    admin, vol, manager = world.a["admin"], world.a["volunteer"], world.a["manager"]
    assert (await client.get("/api/v1/me", headers=vol.headers)).json()["organization"]["legal_name"] is None
    denied = await client.patch("/api/v1/organization", headers=manager.headers, json={"legal_name": "X"})
    assert denied.status_code == 403
    r = await client.patch("/api/v1/organization", headers=admin.headers, json={"legal_name": "Asociația Vecinilor"})
    assert r.status_code == 200 and r.json()["legal_name"] == "Asociația Vecinilor"
    me = (await client.get("/api/v1/me", headers=vol.headers)).json()
    assert me["organization"]["legal_name"] == "Asociația Vecinilor"
    too_long = await client.patch("/api/v1/organization", headers=admin.headers, json={"legal_name": "x" * 201})
    assert too_long.status_code == 422, too_long.text
    assert too_long.json()["error"]["details"][0]["field"] == "legal_name"

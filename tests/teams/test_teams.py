from __future__ import annotations

from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Team, TeamMember
from tests.fixtures.factories import World


async def test_manager_creates_team_with_leader_and_members(
    client: AsyncClient, db: AsyncSession, world: World
) -> None:
    h = world.a["manager"].headers
    r = await client.post(
        "/api/v1/teams",
        headers=h,
        json={"name": "Callers", "region": "S3", "leader_user_id": str(world.a["team_leader"].user_id)},
    )
    assert r.status_code == 201, r.text
    tid = r.json()["id"]
    r = await client.post(
        f"/api/v1/teams/{tid}/members",
        headers=h,
        json={"user_ids": [str(world.a["volunteer"].user_id), str(world.a["volunteer2"].user_id)]},
    )
    assert r.status_code == 200
    members = set((await db.scalars(select(TeamMember.user_id).where(TeamMember.team_id == tid))).all())
    assert members == {world.a["volunteer"].user_id, world.a["volunteer2"].user_id}
    assert (await db.scalar(select(Team.leader_user_id).where(Team.id == tid))) == world.a["team_leader"].user_id


async def test_adding_a_member_of_another_org_is_422_and_changes_nothing(
    client: AsyncClient, db: AsyncSession, world: World
) -> None:
    h = world.a["manager"].headers
    tid = (await client.post("/api/v1/teams", headers=h, json={"name": "X"})).json()["id"]
    r = await client.post(
        f"/api/v1/teams/{tid}/members",
        headers=h,
        json={"user_ids": [str(world.a["volunteer"].user_id), str(world.b["volunteer"].user_id)]},
    )
    assert r.status_code == 422
    assert r.json()["error"]["details"][0]["field"] == "user_ids.1"  # the foreign one, by its index
    assert (await db.scalars(select(TeamMember.user_id).where(TeamMember.team_id == tid))).all() == []


async def test_duplicate_team_name_is_409(client: AsyncClient, world: World) -> None:
    h = world.a["manager"].headers
    assert (await client.post("/api/v1/teams", headers=h, json={"name": "Dup"})).status_code == 201
    r = await client.post("/api/v1/teams", headers=h, json={"name": "Dup"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "conflict"


async def test_volunteer_sees_only_own_teams_and_cannot_create(client: AsyncClient, world: World) -> None:
    await client.post("/api/v1/teams", headers=world.a["manager"].headers, json={"name": "Other"})
    mine = (await client.get("/api/v1/teams", headers=world.a["volunteer"].headers)).json()
    assert [t["name"] for t in mine] == ["Team 1"]
    none = (await client.get("/api/v1/teams", headers=world.a["volunteer2"].headers)).json()
    assert none == []
    r = await client.post("/api/v1/teams", headers=world.a["volunteer"].headers, json={"name": "Mine"})
    assert r.status_code == 403

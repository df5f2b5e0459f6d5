from __future__ import annotations

import uuid

from httpx import AsyncClient
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.core.db import set_tenant
from app.models import AuditLog, Team
from tests.fixtures.factories import World


async def test_user_of_org_a_gets_404_for_team_of_org_b(client: AsyncClient, db: AsyncSession, world: World) -> None:
    b_teams = (await client.get("/api/v1/teams", headers=world.b["admin"].headers)).json()
    assert b_teams
    for role in ("admin", "manager", "team_leader", "volunteer"):
        r = await client.get(f"/api/v1/teams/{b_teams[0]['id']}", headers=world.a[role].headers)
        assert r.status_code == 404, role
        assert r.json()["error"]["code"] == "team_not_found"
    r = await client.patch(
        f"/api/v1/teams/{b_teams[0]['id']}", headers=world.a["admin"].headers, json={"name": "hijacked"}
    )
    assert r.status_code == 404
    await set_tenant(db, world.org_b.id)
    name = await db.scalar(select(Team.name).where(Team.id == b_teams[0]["id"]))
    assert name == "Team 1"


async def test_query_that_forgets_the_org_filter_still_sees_nothing_of_another_org(
    db: AsyncSession, world: World
) -> None:
    await set_tenant(db, world.org_a.id)
    orgs = set((await db.scalars(select(Team.organization_id))).all())  # no organization filter
    assert orgs == {world.org_a.id}
    await set_tenant(db, world.org_b.id)
    assert set((await db.scalars(select(Team.organization_id))).all()) == {world.org_b.id}
    await set_tenant(db, None)
    assert (await db.scalars(select(Team.id))).all() == []


async def test_row_level_security_rejects_writes_into_another_org(db: AsyncSession, world: World) -> None:
    import pytest
    from sqlalchemy.exc import DBAPIError

    await set_tenant(db, world.org_a.id)
    with pytest.raises(DBAPIError, match="row-level security"):
        async with db.begin_nested():
            db.add(AuditLog(organization_id=world.org_b.id, action="x", object_type="y"))
            await db.flush()


async def test_app_role_owns_no_table(db: AsyncSession) -> None:
    owned = await db.scalar(
        text("SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tableowner = current_user")
    )
    assert owned == 0
    bypass = await db.scalar(text("SELECT rolbypassrls OR rolsuper FROM pg_roles WHERE rolname = current_user"))
    assert bypass is False


async def test_tenant_helper_scopes_a_raw_connection_across_its_transactions(engine: AsyncEngine) -> None:
    """The import job's connection: one call scopes every later transaction on it; None clears the scope."""
    org = uuid.uuid4()
    setting = text("SELECT current_setting('app.organization_id', true)")
    async with engine.connect() as conn:
        await set_tenant(conn, org, whole_connection=True)
        await conn.commit()
        later = await conn.scalar(setting)
        await conn.commit()
        await set_tenant(conn, None, whole_connection=True)
        await conn.commit()
        cleared = await conn.scalar(setting)
        await conn.rollback()
        await set_tenant(conn, org)  # a transaction's scope ends with the transaction
        await conn.rollback()
        after_local = await conn.scalar(setting)
        await conn.rollback()
    assert later == str(org)
    assert cleared == ""
    assert after_local == ""

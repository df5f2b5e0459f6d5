"""A write the database's foreign keys refuse (past the application's own checks: a race with a delete, a bug)
is a 4xx in the one error shape, never a 500."""

from __future__ import annotations

import json
import uuid

import pytest
from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import set_tenant
from app.core.errors import foreign_key_response
from tests.fixtures.factories import World


async def test_a_reference_to_another_organizations_object_refused_by_the_database_is_422_naming_it(
    db: AsyncSession, world: World
) -> None:
    await set_tenant(db, world.org_a.id)
    with pytest.raises(IntegrityError) as e:
        async with db.begin_nested():
            await db.execute(
                text(
                    "INSERT INTO invitations (organization_id, email, role, team_id, token_hash, expires_at) "
                    "VALUES (:o, 'x@example.org', 'volunteer', :t, 'h', now())"
                ),
                {"o": world.org_a.id, "t": uuid.uuid4()},
            )
    r = foreign_key_response(e.value)
    assert r is not None
    assert r.status_code == 422
    body = json.loads(bytes(r.body))
    assert body["error"]["details"] == [{"field": "team_id", "message": "not found"}]


async def test_removing_a_team_leader_still_named_by_their_team_is_409_not_500(
    client: AsyncClient, db: AsyncSession, world: World
) -> None:
    leader = world.a["team_leader"]
    t = await client.post(
        "/api/v1/teams",
        headers=world.a["manager"].headers,
        json={"name": "Led", "leader_user_id": str(leader.user_id)},
    )
    assert t.status_code == 201, t.text
    r = await client.delete(f"/api/v1/users/{leader.user_id}", headers=world.a["admin"].headers)
    assert r.status_code == 409, r.text
    assert r.json()["error"]["code"] == "conflict"
    await set_tenant(db, world.org_a.id)
    assert (
        await db.scalar(
            text("SELECT count(*) FROM memberships WHERE organization_id = :o AND user_id = :u"),
            {"o": world.org_a.id, "u": leader.user_id},
        )
        == 1
    )

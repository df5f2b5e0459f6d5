"""A selection in the console is a filter too (`contact_ids`): counted, and an action created from it targets
exactly those contacts; an id the caller may not see is a 422 naming it."""

from __future__ import annotations

import uuid

from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import ActionTarget
from tests.fixtures.contacts import insert_contacts
from tests.fixtures.factories import World


async def test_an_action_created_from_a_selection_targets_exactly_those_contacts(
    client: AsyncClient, db: AsyncSession, world: World
) -> None:
    h = world.a["manager"].headers
    ids = await insert_contacts(db, world.org_a.id, [(26.1 + i * 0.001, 44.43) for i in range(5)], tags=["sel"])
    chosen = [str(i) for i in ids[1:4]]
    count = await client.post("/api/v1/contacts/count", json={"filter": {"contact_ids": chosen}}, headers=h)
    assert count.status_code == 200, count.text
    assert count.json()["count"] == 3
    r = await client.post(
        "/api/v1/actions",
        json={"type": "call", "title": "Selection", "filter": {"contact_ids": chosen}},
        headers=h,
    )
    assert r.status_code == 201, r.text
    targets = (await db.scalars(select(ActionTarget.contact_id).where(ActionTarget.action_id == r.json()["id"]))).all()
    assert sorted(map(str, targets)) == sorted(chosen)


async def test_a_selection_naming_a_contact_of_another_organization_is_a_422(
    client: AsyncClient, db: AsyncSession, world: World
) -> None:
    foreign = await insert_contacts(db, world.org_b.id, [(26.1, 44.43)])
    for cid in (foreign[0], uuid.uuid4()):
        r = await client.post(
            "/api/v1/contacts/count", json={"filter": {"contact_ids": [str(cid)]}}, headers=world.a["manager"].headers
        )
        assert r.status_code == 422, r.text
        assert r.json()["error"]["details"][0]["field"] == "filter.contact_ids.0"

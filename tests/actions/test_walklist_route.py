"""The walk list in route order from the volunteer's position (issue 18): nearest building first, as PostGIS
measures it, across pages, buildings with no location last."""

from __future__ import annotations

import random
import uuid
from typing import Any

from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tests.fixtures.contacts import insert_contacts
from tests.fixtures.factories import World

HERE = (44.4355, 26.1025)  # lat, lon


async def _action(client: AsyncClient, db: AsyncSession, world: World, n: int) -> tuple[str, list[uuid.UUID]]:
    rnd = random.Random(18)
    pts = [(rnd.uniform(26.09, 26.12), rnd.uniform(44.42, 44.45)) for _ in range(n)]
    ids = await insert_contacts(db, world.org_a.id, pts, tags=["route"])
    r = await client.post(
        "/api/v1/actions",
        headers=world.a["manager"].headers,
        json={
            "type": "door_to_door",
            "title": "Route",
            "filter": {"tags_any": ["route"]},
            "assignment": {
                "strategy": "geographic",
                "doors_per_turf": 50,
                "volunteer_ids": [str(world.a["volunteer"].user_id)],
            },
        },
    )
    assert r.status_code == 201, r.text
    return r.json()["id"], ids


async def _pages(client: AsyncClient, url: str, headers: dict[str, str]) -> list[dict[str, Any]]:
    buildings: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        r = await client.get(url + (f"&cursor={cursor}" if cursor else ""), headers=headers)
        assert r.status_code == 200, r.text
        body = r.json()
        buildings += [b for s in body["streets"] for b in s["buildings"]]
        cursor = body["next_cursor"]
        if cursor is None:
            return buildings


async def test_walklist_route_order_is_nearest_building_first_from_the_given_point(
    client: AsyncClient, db: AsyncSession, world: World
) -> None:
    aid, ids = await _action(client, db, world, 14)
    await db.execute(text("UPDATE contacts SET location = NULL WHERE id = :c"), {"c": ids[0]})
    vol = world.a["volunteer"].headers
    url = f"/api/v1/actions/{aid}/walklist?near_lat={HERE[0]}&near_lon={HERE[1]}&limit=4"
    buildings = await _pages(client, url, vol)

    expected = (
        await db.execute(
            text("""
            SELECT c.id, ST_Distance(c.location::geography, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography) AS d
            FROM action_targets t JOIN contacts c ON c.id = t.contact_id
            WHERE t.action_id = :a ORDER BY d NULLS LAST"""),
            {"a": aid, "lat": HERE[0], "lon": HERE[1]},
        )
    ).all()
    got = [uuid.UUID(h["contact_id"]) for b in buildings for h in b["households"]]
    assert got == [r.id for r in expected]  # every household once, nearest first, the unlocated one last
    assert got[-1] == ids[0] and buildings[-1]["distance_m"] is None
    dists = [b["distance_m"] for b in buildings[:-1]]
    assert dists == sorted(dists)
    assert dists == [round(r.d, 1) for r in expected[:-1]]

    # Without a position: the walking order, with no distances.
    plain = await client.get(f"/api/v1/actions/{aid}/walklist", headers=vol)
    numbers = [b["number"] for s in plain.json()["streets"] for b in s["buildings"]]
    assert [int(n) % 2 for n in numbers] == sorted((int(n) % 2 for n in numbers), reverse=True)
    assert all(b["distance_m"] is None for s in plain.json()["streets"] for b in s["buildings"])


async def test_walklist_route_needs_both_coordinates_and_its_own_cursor(
    client: AsyncClient, db: AsyncSession, world: World
) -> None:
    aid, _ = await _action(client, db, world, 6)
    vol = world.a["volunteer"].headers
    half = await client.get(f"/api/v1/actions/{aid}/walklist?near_lat=44.4", headers=vol)
    assert half.status_code == 422
    assert half.json()["error"]["details"][0]["field"] == "near_lon"
    far = await client.get(f"/api/v1/actions/{aid}/walklist?near_lat=91&near_lon=26", headers=vol)
    assert far.status_code == 422
    walking = (await client.get(f"/api/v1/actions/{aid}/walklist?limit=2", headers=vol)).json()["next_cursor"]
    mixed = await client.get(
        f"/api/v1/actions/{aid}/walklist?near_lat=44.4&near_lon=26.1&cursor={walking}", headers=vol
    )
    assert mixed.status_code == 422

from __future__ import annotations

import json
import random
import uuid
from urllib.parse import quote

import pytest
from httpx import AsyncClient
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import set_tenant
from app.models import Contact, Team
from tests.fixtures.contacts import insert_contacts
from tests.fixtures.factories import World
from tests.tiles.mvt import features, in_tile, pixel, tile_of

MVT = "application/vnd.mapbox-vector-tile"
CLUJ = (23.5900, 46.7700)


async def _levels(db: AsyncSession, org: uuid.UUID, ids: list[uuid.UUID], levels: list[int | None]) -> None:
    await set_tenant(db, org)
    for cid, level in zip(ids, levels, strict=True):
        await db.execute(
            update(Contact).where(Contact.organization_id == org, Contact.id == cid).values(support_level=level)
        )


def _url(z: int, x: int, y: int, **query: str) -> str:
    qs = "&".join(f"{k}={quote(v)}" for k, v in query.items())
    return f"/api/v1/tiles/contacts/{z}/{x}/{y}.mvt" + (f"?{qs}" if qs else "")


async def test_points_tile_has_each_visible_contact_where_it_is_with_its_support_level(
    client: AsyncClient, db: AsyncSession, world: World
) -> None:
    pts = [(CLUJ[0] + 0.0004 * i, CLUJ[1] + 0.0003 * i) for i in range(4)]
    ids = await insert_contacts(db, world.org_a.id, pts)
    await _levels(db, world.org_a.id, ids, [1, 3, None, 5])
    await insert_contacts(db, world.org_a.id, [(26.10, 44.43)])  # Bucharest: another tile
    other_org = await insert_contacts(db, world.org_b.id, pts)  # the same places, another organization
    z, x, y = tile_of(*pts[0], 16)
    assert all(in_tile(*p, z, x, y) for p in pts)

    r = await client.get(_url(z, x, y), headers=world.a["manager"].headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == MVT
    feats = features(r.content)
    got = {f["props"]["id"]: f for f in feats}
    assert set(got) == {str(i) for i in ids}
    assert not set(got) & {str(i) for i in other_org}
    for cid, level, p in zip(ids, [1, 3, None, 5], pts, strict=True):
        f = got[str(cid)]
        assert f["props"].get("support_level") == level  # unknown: no property
        ex, ey = pixel(*p, z, x, y)
        assert abs(f["xy"][0] - ex) <= 1 and abs(f["xy"][1] - ey) <= 1

    b = await client.get(_url(z, x, y), headers=world.b["manager"].headers)
    assert {f["props"]["id"] for f in features(b.content)} == {str(i) for i in other_org}


async def test_clustered_tile_counts_sum_to_the_contacts_in_it_with_dominant_and_mean_level(
    client: AsyncClient, db: AsyncSession, world: World
) -> None:
    z, x, y = tile_of(*CLUJ, 10)
    rnd = random.Random(14)
    scattered = [(CLUJ[0] + rnd.uniform(-0.3, 0.3), CLUJ[1] + rnd.uniform(-0.2, 0.2)) for _ in range(300)]
    await insert_contacts(db, world.org_a.id, scattered)
    # One dense block far from the others: a cluster of its own.
    block = [(CLUJ[0] + 0.00001 * i, CLUJ[1]) for i in range(5)]
    block_ids = await insert_contacts(db, world.org_a.id, block)
    await _levels(db, world.org_a.id, block_ids, [1, 1, 2, 5, None])
    await insert_contacts(db, world.org_b.id, block * 3)
    inside = sum(in_tile(*p, z, x, y) for p in scattered) + len(block)

    r = await client.get(_url(z, x, y), headers=world.a["manager"].headers)
    assert r.status_code == 200, r.text
    feats = features(r.content)
    assert sum(f["props"]["count"] for f in feats) == inside
    assert all("id" not in f["props"] for f in feats)
    ex, ey = pixel(*block[0], z, x, y)
    near = min(feats, key=lambda f: (f["xy"][0] - ex) ** 2 + (f["xy"][1] - ey) ** 2)
    # the block's cell may hold a few scattered points too: check against what the DB says for that cell
    assert near["props"]["count"] >= 5
    if near["props"]["count"] == 5:
        assert near["props"]["support_level"] == 1
        assert near["props"]["support_mean"] == 2.25

    only_block = await client.get(
        _url(z, x, y, filter=json.dumps({"support_levels": [1, 2, 5]})), headers=world.a["manager"].headers
    )
    (cluster,) = features(only_block.content)
    assert cluster["props"]["count"] == 4
    assert cluster["props"]["support_level"] == 1
    assert cluster["props"]["support_mean"] == 2.25


async def test_filter_and_saved_segment_choose_the_contacts_of_the_tile(
    client: AsyncClient, db: AsyncSession, world: World
) -> None:
    h = world.a["manager"].headers
    pts = [(CLUJ[0] + 0.0002 * i, CLUJ[1]) for i in range(6)]
    ids = await insert_contacts(db, world.org_a.id, pts[:3], tags=["pensions"])
    ids += await insert_contacts(db, world.org_a.id, pts[3:], tags=["housing"])
    await _levels(db, world.org_a.id, ids, [1, 2, 3, 3, 2, 1])
    z, x, y = tile_of(*pts[0], 15)

    async def seen(**query: str) -> set[uuid.UUID]:
        r = await client.get(_url(z, x, y, **query), headers=h)
        assert r.status_code in (200, 204), r.text
        return {uuid.UUID(f["props"]["id"]) for f in features(r.content)}

    assert await seen() == set(ids)
    assert await seen(filter=json.dumps({"tags_any": ["pensions"]})) == set(ids[:3])
    seg = await client.post(
        "/api/v1/segments", json={"name": "undecided", "filter": {"support_levels": [3]}}, headers=h
    )
    assert seg.status_code == 201, seg.text
    assert await seen(segment_id=seg.json()["id"]) == {ids[2], ids[3]}
    both = await seen(segment_id=seg.json()["id"], filter=json.dumps({"tags_any": ["pensions"]}))
    assert both == {ids[2]}

    empty = await client.get(_url(z, x, y, filter=json.dumps({"tags_any": ["nobody"]})), headers=h)
    assert empty.status_code == 204
    assert empty.content == b""


async def test_bad_filter_is_422_naming_the_field(client: AsyncClient, world: World) -> None:
    h = world.a["manager"].headers
    r = await client.get(_url(10, 500, 300, filter=json.dumps({"support_levels": [9]})), headers=h)
    assert r.status_code == 422
    assert r.json()["error"]["details"][0]["field"].startswith("filter.support_levels")
    r = await client.get(_url(10, 500, 300, filter="{not json"), headers=h)
    assert r.status_code == 422
    assert r.json()["error"]["details"][0]["field"].startswith("filter")
    r = await client.get(_url(10, 500, 300, filter=json.dumps({"colour": "red"})), headers=h)
    assert r.status_code == 422
    assert r.json()["error"]["details"][0]["field"] == "filter.colour"
    missing = await client.get(_url(10, 500, 300, segment_id=str(uuid.uuid4())), headers=h)
    assert missing.status_code == 422 and missing.json()["error"]["details"][0]["field"] == "segment_id"


async def test_tile_coordinates_out_of_range_are_422(client: AsyncClient, world: World) -> None:
    h = world.a["manager"].headers
    for (z, x, y), field in (((23, 0, 0), "z"), ((3, 8, 0), "x"), ((3, 0, 8), "y"), ((0, 1, 0), "x")):
        r = await client.get(_url(z, x, y), headers=h)
        assert r.status_code == 422, (z, x, y)
        assert r.json()["error"]["details"][0]["field"] == field
    for path in ("/api/v1/tiles/contacts/3/-1/0.mvt", "/api/v1/tiles/contacts/a/0/0.mvt"):
        r = await client.get(path, headers=h)
        assert r.status_code == 422, path
    assert (await client.get(_url(0, 0, 0))).status_code == 401


async def test_team_leader_sees_their_region_and_a_volunteer_only_their_targets(
    client: AsyncClient, db: AsyncSession, world: World
) -> None:
    pts = [(CLUJ[0] + 0.0002 * i, CLUJ[1]) for i in range(4)]
    cluj = await insert_contacts(db, world.org_a.id, pts[:2], city="Cluj-Napoca")
    iasi = await insert_contacts(db, world.org_a.id, pts[2:3], city="Iași", tags=["target"])
    iasi += await insert_contacts(db, world.org_a.id, pts[3:], city="Iași")
    z, x, y = tile_of(*pts[0], 15)
    leader, volunteer = world.a["team_leader"], world.a["volunteer"]

    async def seen(who: dict[str, str]) -> set[uuid.UUID]:
        r = await client.get(_url(z, x, y), headers=who)
        return {uuid.UUID(f["props"]["id"]) for f in features(r.content)}

    await set_tenant(db, world.org_a.id)
    await db.execute(
        update(Team)
        .where(Team.organization_id == world.org_a.id)
        .values(leader_user_id=leader.user_id, region="Cluj-Napoca")
    )
    assert await seen(leader.headers) == set(cluj)
    assert await seen(volunteer.headers) == set()
    r = await client.post(
        "/api/v1/actions",
        headers=world.a["manager"].headers,
        json={
            "type": "door_to_door",
            "title": "Iasi doors",
            "filter": {"tags_any": ["target"]},
            "assignment": {"strategy": "round_robin", "volunteer_ids": [str(volunteer.user_id)]},
        },
    )
    assert r.status_code == 201, r.text
    assert await seen(volunteer.headers) == {iasi[0]}


async def test_a_tile_over_its_statement_timeout_is_a_503_saying_so(
    app: object, client: AsyncClient, db: AsyncSession, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    rnd = random.Random(3)
    await insert_contacts(db, world.org_a.id, [(CLUJ[0] + rnd.uniform(-0.2, 0.2), CLUJ[1]) for _ in range(20000)])
    z, x, y = tile_of(*CLUJ, 9)
    monkeypatch.setattr(app.state.settings.limits, "tile_statement_timeout_ms", 1)  # type: ignore[attr-defined]
    r = await client.get(_url(z, x, y), headers=world.a["manager"].headers)
    assert r.status_code == 503
    assert r.json()["error"]["code"] == "tile_too_slow"
    monkeypatch.undo()
    ok = await client.get(_url(z, x, y), headers=world.a["manager"].headers)
    assert sum(f["props"]["count"] for f in features(ok.content)) == 20000

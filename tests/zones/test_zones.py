from __future__ import annotations

import json
import random
from pathlib import Path

import shapely
from httpx import AsyncClient
from shapely.geometry import MultiPolygon, Point, Polygon, shape
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Zone, ZonePiece
from tests.fixtures.contacts import insert_contacts
from tests.fixtures.factories import World

DATA = Path(__file__).resolve().parents[2] / "app" / "seed_data"
SQUARE = {"type": "Polygon", "coordinates": [[[26.0, 44.4], [26.1, 44.4], [26.1, 44.5], [26.0, 44.5], [26.0, 44.4]]]}


async def test_zone_is_stored_with_subdivided_pieces(client: AsyncClient, db: AsyncSession, world: World) -> None:
    sectors = json.loads((DATA / "bucharest-sectors.geojson").read_text())
    geom = sectors["features"][0]["geometry"]
    r = await client.post(
        "/api/v1/zones",
        json={"name": "Sector", "kind": "district", "geometry": geom},
        headers=world.a["manager"].headers,
    )
    assert r.status_code == 201, r.text
    zid = r.json()["id"]
    assert r.json()["vertex_count"] > 700
    pieces = await db.scalar(select(func.count()).select_from(ZonePiece).where(ZonePiece.zone_id == zid))
    assert pieces and pieces > 5
    zone_geom = select(Zone.geom).where(Zone.id == zid).scalar_subquery()
    diff = await db.scalar(
        select(func.ST_Area(func.ST_SymDifference(func.ST_Union(ZonePiece.geom), zone_geom))).where(
            ZonePiece.zone_id == zid
        )
    )
    assert diff is not None
    assert diff < 1e-9


async def test_invalid_geometries_are_422_with_reason_and_location(client: AsyncClient, world: World) -> None:
    h = world.a["manager"].headers
    bowtie = {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}
    open_ring = {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1]]]}
    swapped = {"type": "Polygon", "coordinates": [[[44.4, 126.0], [44.5, 126.0], [44.5, 126.1], [44.4, 126.0]]]}
    empty = {"type": "Polygon", "coordinates": []}
    cases = {
        "bowtie": (bowtie, "Self-intersection"),
        "open": (open_ring, "not closed"),
        "swapped": (swapped, "out of range"),
        "empty": (empty, "empty"),
    }
    for name, (geom, reason) in cases.items():
        r = await client.post("/api/v1/zones", json={"name": name, "geometry": geom}, headers=h)
        assert r.status_code == 422, name
        assert r.json()["error"]["code"] == "invalid_geometry"
        assert reason.lower() in r.json()["error"]["message"].lower(), (name, r.json())
    repaired = await client.post("/api/v1/zones?repair=true", json={"name": "fixed", "geometry": bowtie}, headers=h)
    assert repaired.status_code == 201
    huge = {"type": "Polygon", "coordinates": [[[0.0 + i * 1e-6, 0.0] for i in range(100_001)] + [[0.0, 0.0]]]}
    r = await client.post("/api/v1/zones", json={"name": "huge", "geometry": huge}, headers=h)
    assert r.status_code == 422
    assert "too many vertices" in r.json()["error"]["message"]
    assert (await client.get("/api/v1/zones", headers=h)).json()["items"][0]["name"] == "fixed"


async def test_import_feature_collection_with_attributes_and_rank(
    client: AsyncClient, db: AsyncSession, world: World
) -> None:
    fc = json.loads((DATA / "bucharest-sectors.geojson").read_text())
    name_prop = next(k for k, v in fc["features"][0]["properties"].items() if isinstance(v, str))
    for i, f in enumerate(fc["features"]):
        f["properties"]["turnout"] = 30 + i
    r = await client.post(
        "/api/v1/zones/import",
        json={"type": "FeatureCollection", "features": fc["features"], "name_property": name_prop},
        headers=world.a["manager"].headers,
    )
    assert r.status_code == 201, r.text
    assert r.json()["created"] == 6
    ranked = (
        await client.get("/api/v1/zones?rank_by=attributes.turnout&order=desc", headers=world.a["manager"].headers)
    ).json()["items"]
    assert [z["attributes"]["turnout"] for z in ranked] == [35, 34, 33, 32, 31, 30]
    # contacts ranking: put 3 contacts in the first sector
    first = shape(fc["features"][0]["geometry"])
    pts: list[tuple[float, float]] = []
    rnd = random.Random(1)
    minx, miny, maxx, maxy = first.bounds
    while len(pts) < 3:
        p = Point(rnd.uniform(minx, maxx), rnd.uniform(miny, maxy))
        if first.contains(p):
            pts.append((p.x, p.y))
    await insert_contacts(db, world.org_a.id, pts)
    by_contacts = (await client.get("/api/v1/zones?rank_by=contacts", headers=world.a["manager"].headers)).json()[
        "items"
    ]
    assert by_contacts[0]["figures"]["contacts"] == 3


def _random_points(geom: shapely.Geometry, n: int, rnd: random.Random) -> list[tuple[float, float]]:
    minx, miny, maxx, maxy = geom.bounds
    return [(rnd.uniform(minx - 0.01, maxx + 0.01), rnd.uniform(miny - 0.01, maxy + 0.01)) for _ in range(n)]


async def test_zone_targets_are_exactly_the_points_inside_per_shapely(
    client: AsyncClient, db: AsyncSession, world: World
) -> None:
    """Multipolygon with a hole, a detailed real boundary, and points on shared edges of subdivided pieces."""
    h = world.a["manager"].headers
    rnd = random.Random(42)
    outer = Polygon(
        [(26.0, 44.4), (26.2, 44.4), (26.2, 44.6), (26.0, 44.6)],
        holes=[[(26.05, 44.45), (26.15, 44.45), (26.15, 44.55), (26.05, 44.55)]],
    )
    island = Polygon([(26.3, 44.4), (26.35, 44.4), (26.35, 44.45), (26.3, 44.45)])
    holed = MultiPolygon([outer, island])
    sector = shape(json.loads((DATA / "bucharest-sectors.geojson").read_text())["features"][2]["geometry"])
    for geom in (holed, sector):
        z = await client.post(
            "/api/v1/zones", json={"name": f"z{rnd.random()}", "geometry": shapely.geometry.mapping(geom)}, headers=h
        )
        assert z.status_code == 201, z.text
        zid = z.json()["id"]
        pts = _random_points(geom, 600, rnd)
        # points exactly on the edges between subdivided pieces, and on the zone's own boundary
        piece_edges = (
            (await db.execute(select(func.ST_AsText(func.ST_Boundary(ZonePiece.geom))).where(ZonePiece.zone_id == zid)))
            .scalars()
            .all()
        )
        for wkt in piece_edges[:20]:
            line = shapely.from_wkt(wkt)
            pts += [(p.x, p.y) for p in (line.interpolate(0.37, normalized=True),)]
        ids = await insert_contacts(db, world.org_a.id, pts, with_phone=True)
        expected = {cid for cid, (x, y) in zip(ids, pts, strict=True) if geom.covers(Point(x, y))}
        found = await client.post(
            "/api/v1/contacts/search", json={"filter": {"zone_ids": [zid]}, "limit": 500}, headers=h
        )
        seen = {i["id"] for i in found.json()["items"]}
        cursor = found.json()["next_cursor"]
        while cursor:
            page = (
                await client.post(
                    "/api/v1/contacts/search",
                    json={"filter": {"zone_ids": [zid]}, "limit": 500, "cursor": cursor},
                    headers=h,
                )
            ).json()
            seen |= {i["id"] for i in page["items"]}
            cursor = page["next_cursor"]
        count = (await client.post("/api/v1/contacts/count", json={"filter": {"zone_ids": [zid]}}, headers=h)).json()
        assert seen == {str(i) for i in expected}
        assert count["count"] == len(expected)
        await db.execute(delete(ZonePiece).where(ZonePiece.zone_id == zid))
        from app.models import Contact

        await db.execute(delete(Contact).where(Contact.id.in_(ids)))

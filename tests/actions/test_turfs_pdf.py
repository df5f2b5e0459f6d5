"""Turfs of a door-to-door action on the map (GeoJSON with colour, assignee and counts) and a turf's printable
walk list (PDF): the households in walking order with their diacritics, and the download audited as an export."""

from __future__ import annotations

import io
import random
import uuid
from typing import Any

import pytest
from httpx import AsyncClient
from shapely.geometry import Point, shape
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import AuditLog
from tests.fixtures.contacts import insert_contacts
from tests.fixtures.factories import World

pypdf = pytest.importorskip("pypdf")


async def _d2d(client: AsyncClient, db: AsyncSession, world: World, n: int = 12) -> str:
    rnd = random.Random(5)
    pts = [(rnd.uniform(26.09, 26.12), rnd.uniform(44.42, 44.45)) for _ in range(n)]
    await insert_contacts(db, world.org_a.id, pts, tags=["turf"], street="Strada Mărășești", city="Țăndărei")
    vols = [str(world.a["volunteer"].user_id), str(world.a["volunteer2"].user_id)]
    r = await client.post(
        "/api/v1/actions",
        headers=world.a["manager"].headers,
        json={
            "type": "door_to_door",
            "title": "Porte-à-porte Înălțimi",
            "filter": {"tags_any": ["turf"]},
            "assignment": {"strategy": "geographic", "doors_per_turf": 6, "volunteer_ids": vols},
        },
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def test_turfs_geojson_has_a_coloured_polygon_per_turf_covering_its_doors_with_counts(
    client: AsyncClient, db: AsyncSession, world: World
) -> None:
    aid = await _d2d(client, db, world)
    r = await client.get(f"/api/v1/actions/{aid}/turfs", headers=world.a["manager"].headers)
    assert r.status_code == 200, r.text
    features: list[dict[str, Any]] = r.json()["features"]
    rows = (
        await db.execute(
            text("""SELECT t.turf_no, count(*) AS n,
                           array_agg(ST_X(c.location)) AS xs, array_agg(ST_Y(c.location)) AS ys
                    FROM action_targets t JOIN contacts c ON c.id = t.contact_id WHERE t.action_id = :a
                    GROUP BY 1 ORDER BY 1"""),
            {"a": aid},
        )
    ).all()
    assert [f["properties"]["turf_no"] for f in features] == [r.turf_no for r in rows] == [1, 2]
    names = {str(world.a["volunteer"].user_id), str(world.a["volunteer2"].user_id)}
    for f, row in zip(features, rows, strict=True):
        poly = shape(f["geometry"])
        assert all(poly.covers(Point(x, y)) for x, y in zip(row.xs, row.ys, strict=True))
        assert f["properties"]["targets"] == row.n and f["properties"]["done"] == 0
        assert f["properties"]["color"].startswith("#") and f["properties"]["assignee_user_id"] in names
        assert f["properties"]["assignee"]
    assert len({f["properties"]["color"] for f in features}) == 2
    assert (await client.get(f"/api/v1/actions/{aid}/turfs", headers=world.a["volunteer"].headers)).status_code == 403


async def test_walklist_pdf_lists_the_turfs_households_in_walking_order_with_diacritics_and_is_audited(
    client: AsyncClient, db: AsyncSession, world: World
) -> None:
    aid = await _d2d(client, db, world)
    await db.execute(
        text("""UPDATE contacts SET first_name = 'Ștefan' || substr(last_name, 2), last_name = 'Țuțuianu-Ăâî-é'
                WHERE id IN (SELECT contact_id FROM action_targets WHERE action_id = :a)"""),
        {"a": aid},
    )
    r = await client.get(f"/api/v1/actions/{aid}/walklist.pdf?turf=1&lang=ro", headers=world.a["manager"].headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/pdf"
    reader = pypdf.PdfReader(io.BytesIO(r.content))
    body = "\n".join(p.extract_text() for p in reader.pages)
    wl = (await client.get(f"/api/v1/actions/{aid}/walklist?turf=1", headers=world.a["manager"].headers)).json()
    names = [
        f"{h['first_name']} {h['last_name']}" for s in wl["streets"] for b in s["buildings"] for h in b["households"]
    ]
    assert len(names) == wl["total"] > 0
    positions = [body.find(n) for n in names]
    assert -1 not in positions, (names, body[:500])
    assert positions == sorted(positions)  # walking order
    for word in ("Strada Mărășești", "Țăndărei", "Nu e acasă", "A deschis", "Înălțimi", "Porte-à-porte"):
        assert word in body
    assert "Țuțuianu-Ăâî-é" in body
    fonts = {str(f) for p in reader.pages for f in p["/Resources"]["/Font"].values()}
    assert fonts  # the font is embedded, not a base-14 one that has no ș or ț
    log = (
        await db.scalars(select(AuditLog).where(AuditLog.action == "export.walklist_pdf", AuditLog.object_id == aid))
    ).one()
    assert log.details == {"turf": 1, "households": len(names)}


async def test_walklist_pdf_of_a_turf_that_does_not_exist_is_a_404_naming_the_turf(
    client: AsyncClient, db: AsyncSession, world: World
) -> None:
    aid = await _d2d(client, db, world)
    r = await client.get(f"/api/v1/actions/{aid}/walklist.pdf?turf=99", headers=world.a["manager"].headers)
    assert r.status_code == 404 and r.json()["error"]["code"] == "turf_not_found"
    r = await client.get(f"/api/v1/actions/{uuid.uuid4()}/walklist.pdf?turf=1", headers=world.a["manager"].headers)
    assert r.status_code == 404

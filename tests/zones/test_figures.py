from __future__ import annotations

import json
from datetime import UTC, datetime
from urllib.parse import quote

from httpx import AsyncClient
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import set_tenant
from app.models import ActionTarget, Contact, Team
from tests.fixtures.contacts import insert_contacts
from tests.fixtures.factories import World


def _square(x0: float, y0: float, d: float = 0.01) -> dict[str, object]:
    return {"type": "Polygon", "coordinates": [[[x0, y0], [x0 + d, y0], [x0 + d, y0 + d], [x0, y0 + d], [x0, y0]]]}


async def test_zone_layer_has_each_zone_with_counts_of_its_visible_contacts(
    client: AsyncClient, db: AsyncSession, world: World
) -> None:
    h = world.a["manager"].headers
    west = (
        await client.post("/api/v1/zones", json={"name": "West", "geometry": _square(26.0, 44.4)}, headers=h)
    ).json()
    east = (
        await client.post("/api/v1/zones", json={"name": "East", "geometry": _square(26.01, 44.4)}, headers=h)
    ).json()
    w_ids = await insert_contacts(db, world.org_a.id, [(26.005, 44.405)] * 5, city="Cluj-Napoca", tags=["pensions"])
    await insert_contacts(db, world.org_a.id, [(26.015, 44.405)] * 3, city="Iași")
    edge = await insert_contacts(db, world.org_a.id, [(26.01, 44.405)])  # on the shared edge: in both, once each
    await insert_contacts(db, world.org_b.id, [(26.005, 44.405)] * 7)  # another organization
    await set_tenant(db, world.org_a.id)
    for cid, level in zip(w_ids, [1, 1, 3, None, 5], strict=True):
        await db.execute(update(Contact).where(Contact.id == cid).values(support_level=level))
    await db.execute(
        update(Contact).where(Contact.id == w_ids[0]).values(last_contacted_at=datetime(2026, 11, 20, tzinfo=UTC))
    )

    r = await client.get("/api/v1/zones/figures", headers=h)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["type"] == "FeatureCollection"
    by_name = {f["properties"]["name"]: f for f in body["features"]}
    assert set(by_name) == {"West", "East"}
    assert by_name["West"]["id"] == west["id"] and by_name["East"]["id"] == east["id"]
    assert by_name["West"]["geometry"]["type"] == "MultiPolygon"
    wp, ep = by_name["West"]["properties"], by_name["East"]["properties"]
    assert wp["contacts"] == 6 and ep["contacts"] == 4
    assert (wp["support_1"], wp["support_3"], wp["support_5"], wp["support_unknown"]) == (2, 1, 1, 2)
    assert wp["contacted"] == 1 and wp["coverage"] == round(1 / 6, 4)
    assert wp["targets"] is None

    pensions = await client.get(
        "/api/v1/zones/figures?with_geometry=false&filter=" + quote(json.dumps({"tags_any": ["pensions"]})), headers=h
    )
    figs = {f["properties"]["name"]: f["properties"]["contacts"] for f in pensions.json()["features"]}
    assert figs == {"West": 5, "East": 0}
    assert all(f["geometry"] is None for f in pensions.json()["features"])

    leader = world.a["team_leader"]
    await db.execute(
        update(Team).where(Team.organization_id == world.org_a.id).values(leader_user_id=leader.user_id, region="Iași")
    )
    led = await client.get("/api/v1/zones/figures", headers=leader.headers)
    assert {f["properties"]["name"]: f["properties"]["contacts"] for f in led.json()["features"]} == {
        "West": 0,
        "East": 3,
    }
    other = await client.get("/api/v1/zones/figures", headers=world.b["manager"].headers)
    assert other.json()["features"] == []
    assert edge  # counted in both zones above


async def test_zone_layer_counts_an_actions_targets_and_those_done(
    client: AsyncClient, db: AsyncSession, world: World
) -> None:
    h = world.a["manager"].headers
    await client.post("/api/v1/zones", json={"name": "West", "geometry": _square(26.0, 44.4)}, headers=h)
    ids = await insert_contacts(db, world.org_a.id, [(26.005, 44.405)] * 4, tags=["d2d"])
    await insert_contacts(db, world.org_a.id, [(26.005, 44.405)] * 2)
    r = await client.post(
        "/api/v1/actions",
        headers=h,
        json={"type": "door_to_door", "title": "Doors", "filter": {"tags_any": ["d2d"]}},
    )
    assert r.status_code == 201, r.text
    aid = r.json()["id"]
    await set_tenant(db, world.org_a.id)
    await db.execute(
        update(ActionTarget)
        .where(ActionTarget.action_id == aid, ActionTarget.contact_id.in_(ids[:3]))
        .values(status="done")
    )
    figs = (await client.get(f"/api/v1/zones/figures?action_id={aid}", headers=h)).json()["features"][0]["properties"]
    assert (figs["contacts"], figs["targets"], figs["targets_done"]) == (6, 4, 3)
    bad = await client.get("/api/v1/zones/figures?filter=" + quote('{"age_min": -1}'), headers=h)
    assert bad.status_code == 422
    assert bad.json()["error"]["details"][0]["field"] == "filter.age_min"

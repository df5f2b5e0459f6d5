from __future__ import annotations

import random
from typing import Any

from httpx import AsyncClient
from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import ActionDocument, ActionTarget, AuditLog, Contact, Turf
from tests.fixtures.contacts import insert_contacts
from tests.fixtures.factories import World, make_actor

SQUARE = {"type": "Polygon", "coordinates": [[[26.0, 44.4], [26.1, 44.4], [26.1, 44.5], [26.0, 44.5], [26.0, 44.4]]]}


def _pts(n: int, seed: int = 1, inside: bool = True) -> list[tuple[float, float]]:
    rnd = random.Random(seed)
    if inside:
        return [(rnd.uniform(26.001, 26.099), rnd.uniform(44.401, 44.499)) for _ in range(n)]
    return [(rnd.uniform(26.2, 26.3), rnd.uniform(44.401, 44.499)) for _ in range(n)]


async def test_preview_counts_like_the_bare_sql_with_bbox_and_sample(
    client: AsyncClient, db: AsyncSession, world: World
) -> None:
    await insert_contacts(db, world.org_a.id, _pts(40), tags=["pensions"])
    await insert_contacts(db, world.org_a.id, _pts(25, seed=2), tags=["other"])
    await insert_contacts(db, world.org_a.id, _pts(30, inside=False), tags=["pensions"])
    await insert_contacts(db, world.org_b.id, _pts(50, seed=3), tags=["pensions"])
    r = await client.post(
        "/api/v1/actions/preview",
        headers=world.a["manager"].headers,
        json={"filter": {"polygon": SQUARE, "tags_any": ["pensions"]}, "type": "call"},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    bare = await db.scalar(
        text(
            "SELECT count(*) FROM contacts WHERE organization_id = :o AND 'pensions' = ANY(tags) AND "
            "ST_Covers(ST_GeomFromText('POLYGON((26 44.4,26.1 44.4,26.1 44.5,26 44.5,26 44.4))', 4326), location)"
        ),
        {"o": world.org_a.id},
    )
    assert body["count"] == bare == 40
    assert 26.0 <= body["bbox"][0] <= body["bbox"][2] <= 26.1
    assert len(body["sample"]) == 10
    assert "mobile" not in r.text and "+4072" not in r.text
    assert (
        await client.post("/api/v1/actions/preview", headers=world.a["volunteer"].headers, json={"filter": {}})
    ).status_code == 403


async def test_call_action_targets_only_callable_contacts_and_splits_within_one(
    client: AsyncClient, db: AsyncSession, world: World
) -> None:
    ids = await insert_contacts(db, world.org_a.id, _pts(31), tags=["pensions"])
    await insert_contacts(db, world.org_a.id, _pts(5, seed=9), tags=["pensions"], with_phone=False)
    await db.execute(update(Contact).where(Contact.id == ids[0]).values(dnc_phone=True))
    await db.execute(update(Contact).where(Contact.id == ids[1]).values(mobile_invalid=True))
    await db.execute(update(Contact).where(Contact.id == ids[2]).values(consent_phone="withdrawn"))
    vols = [world.a["volunteer"], world.a["volunteer2"], await make_actor(db, world.org_a, "volunteer")]
    r = await client.post(
        "/api/v1/actions",
        headers=world.a["manager"].headers,
        json={
            "type": "call",
            "title": "Phone bank",
            "filter": {"polygon": SQUARE, "tags_any": ["pensions"]},
            "assignment": {"strategy": "round_robin", "volunteer_ids": [str(v.user_id) for v in vols]},
        },
    )
    assert r.status_code == 201, r.text
    aid = r.json()["id"]
    assert r.json()["target_count"] == 28
    targets = set((await db.scalars(select(ActionTarget.contact_id).where(ActionTarget.action_id == aid))).all())
    assert not targets & {ids[0], ids[1], ids[2]}
    per = (
        await db.execute(
            select(ActionTarget.assignee_user_id, func.count())
            .where(ActionTarget.action_id == aid)
            .group_by(ActionTarget.assignee_user_id)
        )
    ).all()
    counts = sorted(n for _, n in per)
    assert counts == [9, 9, 10]
    # re-split to two volunteers, balanced within one
    r2 = await client.post(
        f"/api/v1/actions/{aid}/assign",
        headers=world.a["manager"].headers,
        json={"strategy": "round_robin", "volunteer_ids": [str(vols[0].user_id), str(vols[1].user_id)]},
    )
    assert sorted(r2.json()["per_volunteer"].values()) == [14, 14]
    # refresh adds only new matches
    await insert_contacts(db, world.org_a.id, _pts(3, seed=11), tags=["pensions"])
    ref = await client.post(f"/api/v1/actions/{aid}/refresh-targets", headers=world.a["manager"].headers)
    assert ref.json() == {"added": 3, "target_count": 31}


async def test_door_to_door_turfs_and_walklist(client: AsyncClient, db: AsyncSession, world: World) -> None:
    await insert_contacts(db, world.org_a.id, _pts(60, seed=5), tags=["d2d"])
    vols = [world.a["volunteer"], world.a["volunteer2"]]
    r = await client.post(
        "/api/v1/actions",
        headers=world.a["manager"].headers,
        json={
            "type": "door_to_door",
            "title": "Knock",
            "filter": {"tags_any": ["d2d"]},
            "assignment": {
                "strategy": "geographic",
                "doors_per_turf": 20,
                "volunteer_ids": [str(v.user_id) for v in vols],
            },
        },
    )
    assert r.status_code == 201, r.text
    aid = r.json()["id"]
    turfs = (await db.scalars(select(Turf).where(Turf.action_id == aid))).all()
    assert len(turfs) == 3
    assert sum(t.door_count for t in turfs) == 60
    unassigned = await db.scalar(
        select(func.count())
        .select_from(ActionTarget)
        .where(ActionTarget.action_id == aid, ActionTarget.assignee_user_id.is_(None))
    )
    assert unassigned == 0
    wl = await client.get(f"/api/v1/actions/{aid}/walklist", headers=vols[0].headers)
    assert wl.status_code == 200
    body = wl.json()
    mine = await db.scalar(
        select(func.count())
        .select_from(ActionTarget)
        .where(ActionTarget.action_id == aid, ActionTarget.assignee_user_id == vols[0].user_id)
    )
    assert body["total"] == mine
    numbers = [b["number"] for s in body["streets"] for b in s["buildings"]]
    odd = [int(n) for n in numbers if int(n) % 2 == 1]
    even = [int(n) for n in numbers if int(n) % 2 == 0]
    assert numbers == [str(n) for n in odd + even]  # odd side up, then even side
    assert odd == sorted(odd) and even == sorted(even)
    assert len(body["geojson"]["features"]) == mine
    other = await client.get(f"/api/v1/actions/{aid}/walklist?user_id={vols[1].user_id}", headers=vols[0].headers)
    assert other.status_code == 403


async def test_volunteers_see_only_their_actions_and_answer_attendance(
    client: AsyncClient, db: AsyncSession, world: World
) -> None:
    h = world.a["manager"].headers
    teams = (await client.get("/api/v1/teams", headers=h)).json()
    on = (
        await client.post(
            "/api/v1/actions", headers=h, json={"type": "event", "title": "Rally", "team_ids": [teams[0]["id"]]}
        )
    ).json()
    off = (await client.post("/api/v1/actions", headers=h, json={"type": "event", "title": "Secret"})).json()
    v = world.a["volunteer"]  # in Team 1
    listed = (await client.get("/api/v1/actions", headers=v.headers)).json()["items"]
    assert [a["title"] for a in listed] == ["Rally"]
    assert (await client.get(f"/api/v1/actions/{off['id']}", headers=v.headers)).status_code == 404
    assert (await client.get(f"/api/v1/actions/{on['id']}", headers=world.a["volunteer2"].headers)).status_code == 404
    assert (await client.get(f"/api/v1/actions/{on['id']}", headers=world.b["admin"].headers)).status_code == 404
    r = await client.put(
        f"/api/v1/actions/{on['id']}/participation",
        headers=v.headers,
        json={"status": "going", "availability": "10:00-14:00"},
    )
    assert r.status_code == 200
    assert r.json()["status"] == "going"
    hq = (await client.get(f"/api/v1/actions/{on['id']}/participation", headers=h)).json()
    assert hq["counts"] == {"going": 1, "maybe": 0, "not_going": 0}
    assert hq["participants"][0]["availability"] == "10:00-14:00"
    mine = (await client.get(f"/api/v1/actions/{on['id']}/participation", headers=v.headers)).json()
    assert mine["participants"] is None
    patch = await client.patch(f"/api/v1/actions/{on['id']}", headers=v.headers, json={"title": "Mine now"})
    assert patch.status_code == 403
    leader = await client.patch(
        f"/api/v1/actions/{on['id']}", headers=world.a["team_leader"].headers, json={"title": "Led"}
    )
    assert leader.status_code == 200


async def test_documents_are_served_only_to_people_on_the_action(client: AsyncClient, world: World) -> None:
    h = world.a["manager"].headers
    teams = (await client.get("/api/v1/teams", headers=h)).json()
    a = (
        await client.post(
            "/api/v1/actions", headers=h, json={"type": "leafleting", "title": "Flyers", "team_ids": [teams[0]["id"]]}
        )
    ).json()
    up = await client.post(
        f"/api/v1/actions/{a['id']}/documents",
        headers=h,
        files={"file": ("brief.pdf", b"%PDF-1.4 test", "application/pdf")},
    )
    assert up.status_code == 201, up.text
    url = up.json()["url"]
    assert (await client.get(url, headers=world.a["volunteer"].headers)).content == b"%PDF-1.4 test"
    assert (await client.get(url, headers=world.a["volunteer2"].headers)).status_code == 404
    bad = await client.post(
        f"/api/v1/actions/{a['id']}/documents", headers=h, files={"file": ("x.exe", b"MZ", "application/x-msdownload")}
    )
    assert bad.status_code == 415


async def test_action_updates_are_audited_with_the_fields_changed(
    client: AsyncClient, db: AsyncSession, world: World
) -> None:
    m = world.a["manager"]
    a = (await client.post("/api/v1/actions", headers=m.headers, json={"type": "event", "title": "Rally"})).json()
    r = await client.patch(
        f"/api/v1/actions/{a['id']}", headers=m.headers, json={"title": "Big rally", "max_attempts": 2}
    )
    assert r.status_code == 200, r.text
    rows = (
        await db.execute(
            select(AuditLog.actor_user_id, AuditLog.details).where(
                AuditLog.organization_id == world.org_a.id,
                AuditLog.action == "action.updated",
                AuditLog.object_id == a["id"],
            )
        )
    ).all()
    assert [(r.actor_user_id, r.details) for r in rows] == [(m.user_id, {"fields": ["max_attempts", "title"]})]


async def test_documents_are_capped_by_the_document_size_setting(
    app: Any, client: AsyncClient, db: AsyncSession, world: World
) -> None:
    h = world.a["manager"].headers
    a = (await client.post("/api/v1/actions", headers=h, json={"type": "event", "title": "Rally"})).json()
    saved = app.state.settings
    app.state.settings = saved.model_copy(update={"limits": saved.limits.model_copy(update={"max_document_bytes": 10})})
    try:
        big = await client.post(
            f"/api/v1/actions/{a['id']}/documents",
            headers=h,
            files={"file": ("brief.pdf", b"%PDF-1.4 eleven+", "application/pdf")},
        )
    finally:
        app.state.settings = saved
    assert big.status_code == 413, big.text
    assert big.json()["error"]["code"] == "payload_too_large"
    stored = await db.scalar(
        select(func.count()).select_from(ActionDocument).where(ActionDocument.organization_id == world.org_a.id)
    )
    assert stored == 0

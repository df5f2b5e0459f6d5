from __future__ import annotations

import csv
import io
import json

from httpx import AsyncClient
from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import set_tenant
from app.models import AuditLog, ConsentLog, Contact, ContactEvent, Team
from tests.fixtures.factories import World

IOANA = {
    "first_name": "Ioana",
    "last_name": "Popescu",
    "mobile": "0722 123 456",
    "email": "ioana@example.org",
    "address": {"street": "Strada Memorandumului", "number": "12", "city": "Cluj-Napoca"},
    "location": {"lon": 23.59, "lat": 46.77},
    "support_level": 3,
    "tags": ["pensions"],
    "consents": [{"channel": "sms", "status": "granted", "source": "app", "proof": "Checkbox"}],
}


async def test_create_normalizes_phone_and_records_consent(client: AsyncClient, db: AsyncSession, world: World) -> None:
    r = await client.post("/api/v1/contacts", json=IOANA, headers=world.a["manager"].headers)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["has_mobile"] is True
    assert "0722" not in r.text and "+40722123456" not in r.text
    c = await db.scalar(select(Contact).where(Contact.id == body["id"]))
    assert c is not None
    assert c.mobile_e164 == "+40722123456"
    assert c.mobile_raw == "0722 123 456"
    assert c.consent_sms == "granted"
    log = (await db.scalars(select(ConsentLog).where(ConsentLog.contact_id == c.id))).all()
    assert [(x.channel, x.status, x.proof) for x in log] == [("sms", "granted", "Checkbox")]


async def test_duplicate_phone_is_409_with_existing_id_unless_merge(
    client: AsyncClient, db: AsyncSession, world: World
) -> None:
    h = world.a["manager"].headers
    first = (await client.post("/api/v1/contacts", json=IOANA, headers=h)).json()
    dup = await client.post(
        "/api/v1/contacts", json={"first_name": "I.", "mobile": "+40 722 123 456", "tags": ["x"]}, headers=h
    )
    assert dup.status_code == 409
    assert dup.json()["error"]["code"] == "duplicate_contact"
    assert dup.json()["error"]["details"][0]["message"] == first["id"]
    merged = await client.post(
        "/api/v1/contacts?on_duplicate=merge",
        json={"first_name": "Ioana M", "mobile": "0722123456", "tags": ["x"]},
        headers=h,
    )
    assert merged.status_code == 200
    assert merged.json()["id"] == first["id"]
    assert sorted(merged.json()["tags"]) == ["pensions", "x"]
    assert (
        await db.scalar(select(func.count()).select_from(Contact).where(Contact.organization_id == world.org_a.id)) == 1
    )


async def test_invalid_phone_or_email_is_422_naming_the_field(
    client: AsyncClient, db: AsyncSession, world: World
) -> None:
    h = world.a["manager"].headers
    r = await client.post("/api/v1/contacts", json={"first_name": "X", "mobile": "12"}, headers=h)
    assert r.status_code == 422
    assert r.json()["error"]["details"][0]["field"] == "mobile"
    r = await client.post("/api/v1/contacts", json={"first_name": "X", "email": "not-an-email"}, headers=h)
    assert r.status_code == 422
    assert r.json()["error"]["details"][0]["field"] == "email"
    assert (
        await db.scalar(select(func.count()).select_from(Contact).where(Contact.organization_id == world.org_a.id)) == 0
    )


async def test_segment_filter_combines_fields_with_and(client: AsyncClient, world: World) -> None:
    h = world.a["manager"].headers
    await client.post("/api/v1/contacts", json=IOANA, headers=h)
    await client.post(
        "/api/v1/contacts",
        json={
            "first_name": "Mihai",
            "last_name": "Ionescu",
            "support_level": 1,
            "tags": ["pensions", "donor-list"],
            "birth_year": 1950,
            "address": {"city": "București"},
        },
        headers=h,
    )
    await client.post(
        "/api/v1/contacts", json={"first_name": "Ana", "last_name": "Dobre", "email": "ana@example.org"}, headers=h
    )

    async def count(f: dict[str, object]) -> int:
        r = await client.post("/api/v1/contacts/count", json={"filter": f}, headers=h)
        assert r.status_code == 200, r.text
        return int(r.json()["count"])

    assert await count({}) == 3
    assert await count({"tags_any": ["pensions"]}) == 2
    assert await count({"tags_all": ["pensions", "donor-list"]}) == 1
    assert await count({"tags_none": ["pensions"]}) == 1
    assert await count({"support_levels": [3]}) == 1
    assert await count({"support_levels": [None]}) == 1
    assert await count({"has_mobile": True}) == 1
    assert await count({"has_email": True, "tags_any": ["pensions"]}) == 1
    assert await count({"cities": ["bucurești"]}) == 1
    assert await count({"age_min": 65}) == 1
    assert await count({"consents": {"sms": "granted"}}) == 1
    assert await count({"consents": {"sms": "unknown"}}) == 2
    assert await count({"q": "popesku"}) == 1
    assert await count({"q": "0722123456"}) == 1
    square = {
        "type": "Polygon",
        "coordinates": [[[23.5, 46.7], [23.7, 46.7], [23.7, 46.8], [23.5, 46.8], [23.5, 46.7]]],
    }
    assert await count({"polygon": square}) == 1
    r = await client.post("/api/v1/contacts/count", json={"filter": {"support_levels": [7]}}, headers=h)
    assert r.status_code == 422
    r = await client.post(
        "/api/v1/contacts/count",
        json={"filter": {"polygon": {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0]]]}}},
        headers=h,
    )
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "invalid_geometry"


async def test_search_paginates_with_a_keyset_cursor(client: AsyncClient, world: World) -> None:
    h = world.a["manager"].headers
    for i in range(7):
        await client.post("/api/v1/contacts", json={"first_name": f"P{i}", "last_name": "Same"}, headers=h)
    seen: list[str] = []
    cursor = None
    while True:
        r = await client.post("/api/v1/contacts/search", json={"filter": {}, "limit": 3, "cursor": cursor}, headers=h)
        page = r.json()
        seen += [c["first_name"] for c in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"P{i}" for i in range(7)]


async def test_volunteer_sees_no_contact_not_assigned_to_them(client: AsyncClient, world: World) -> None:
    cid = (await client.post("/api/v1/contacts", json=IOANA, headers=world.a["manager"].headers)).json()["id"]
    assert (await client.get(f"/api/v1/contacts/{cid}", headers=world.a["volunteer"].headers)).status_code == 404
    r = await client.post("/api/v1/contacts/search", json={"filter": {}}, headers=world.a["volunteer"].headers)
    assert r.json()["items"] == []
    assert (await client.get(f"/api/v1/contacts/{cid}", headers=world.b["admin"].headers)).status_code == 404


async def test_team_leader_sees_the_base_of_their_teams_region_when_one_is_set(
    client: AsyncClient, db: AsyncSession, world: World
) -> None:
    h = world.a["manager"].headers
    for first, city in (("A", "Cluj-Napoca"), ("B", "Iași"), ("C", "cluj-napoca")):
        await client.post(
            "/api/v1/contacts", json={"first_name": first, "last_name": "Region", "address": {"city": city}}, headers=h
        )
    leader = world.a["team_leader"]
    body = {"filter": {"q": "Region"}}

    async def seen() -> set[str]:
        r = await client.post("/api/v1/contacts/search", json=body, headers=leader.headers)
        return {c["first_name"] for c in r.json()["items"]}

    assert await seen() == {"A", "B", "C"}  # no region: the whole base
    await set_tenant(db, world.org_a.id)
    await db.execute(
        update(Team)
        .where(Team.organization_id == world.org_a.id)
        .values(leader_user_id=leader.user_id, region="Cluj-Napoca")
    )
    assert await seen() == {"A", "C"}
    count = await client.post("/api/v1/contacts/count", json=body, headers=leader.headers)
    assert count.json()["count"] == 2
    r = await client.post("/api/v1/contacts/search", json=body, headers=h)
    assert len(r.json()["items"]) == 3  # managers still see everything


async def test_timeline_shows_notes_consents_and_creation_newest_first(client: AsyncClient, world: World) -> None:
    h = world.a["manager"].headers
    cid = (await client.post("/api/v1/contacts", json=IOANA, headers=h)).json()["id"]
    await client.post(f"/api/v1/contacts/{cid}/notes", json={"text": "Met at the market"}, headers=h)
    await client.post(
        f"/api/v1/contacts/{cid}/consents", json={"channel": "sms", "status": "withdrawn", "source": "app"}, headers=h
    )
    items = (await client.get(f"/api/v1/contacts/{cid}/timeline", headers=h)).json()["items"]
    kinds = [i["kind"] for i in items]
    assert kinds[0] == "consent"
    assert "note" in kinds
    assert kinds[-1] == "edit"
    assert items[0]["summary"] == "sms consent withdrawn"
    c = (await client.get(f"/api/v1/contacts/{cid}", headers=h)).json()
    assert c["consents"]["sms"] == "withdrawn"


async def test_merge_keeps_both_histories(client: AsyncClient, db: AsyncSession, world: World) -> None:
    h = world.a["manager"].headers
    a = (await client.post("/api/v1/contacts", json=IOANA, headers=h)).json()["id"]
    b = (
        await client.post(
            "/api/v1/contacts",
            json={"first_name": "Ioana", "last_name": "P", "email": "other@example.org", "tags": ["b"]},
            headers=h,
        )
    ).json()["id"]
    await client.post(f"/api/v1/contacts/{b}/notes", json={"text": "note on b"}, headers=h)
    r = await client.post(f"/api/v1/contacts/{a}/merge", json={"other_id": b}, headers=h)
    assert r.status_code == 200, r.text
    assert sorted(r.json()["tags"]) == ["b", "pensions"]
    assert await db.scalar(select(Contact.id).where(Contact.id == b)) is None
    notes = (await db.scalars(select(ContactEvent.summary).where(ContactEvent.contact_id == a))).all()
    assert "note on b" in notes


async def test_gdpr_erasure_leaves_no_identifier(
    client: AsyncClient, db: AsyncSession, world: World, owner_engine: object
) -> None:
    h = world.a["admin"].headers
    cid = (await client.post("/api/v1/contacts", json=IOANA, headers=h)).json()["id"]
    export = await client.get(f"/api/v1/contacts/{cid}/export", headers=h)
    assert export.status_code == 200
    assert export.json()["phones"]["mobile"] == "+40722123456"
    assert (await client.post(f"/api/v1/contacts/{cid}/erase", headers=h)).status_code == 204
    assert (await client.get(f"/api/v1/contacts/{cid}", headers=h)).status_code == 404
    await set_tenant(db, world.org_a.id)
    dump = json.dumps([list(r) for r in (await db.execute(select(AuditLog.details, AuditLog.object_id))).all()])
    assert "ioana@example.org" not in dump and "722123456" not in dump
    actions = (await db.scalars(select(AuditLog.action).where(AuditLog.object_id == cid))).all()
    assert {"contact.gdpr_export", "contact.erased"} <= set(actions)
    tables = (
        await db.scalars(
            text(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' "
                "AND table_type = 'BASE TABLE' AND table_name NOT IN ('spatial_ref_sys')"
            )
        )
    ).all()
    for t in tables:
        for ident in ("ioana@example.org", "722123456", "Popescu"):
            n = await db.scalar(text(f'SELECT count(*) FROM "{t}" x WHERE x::text ILIKE :p'), {"p": f"%{ident}%"})
            assert n == 0, (t, ident)
    search = await client.post("/api/v1/contacts/search", json={"filter": {"q": "Popescu"}}, headers=h)
    assert search.json()["items"] == []


async def test_export_streams_csv_for_managers_only_and_is_audited(
    client: AsyncClient, db: AsyncSession, world: World
) -> None:
    h = world.a["manager"].headers
    await client.post("/api/v1/contacts", json=IOANA, headers=h)
    assert (
        await client.post("/api/v1/exports", json={"filter": {}}, headers=world.a["volunteer"].headers)
    ).status_code == 403
    assert (
        await client.post("/api/v1/exports", json={"filter": {}}, headers=world.a["team_leader"].headers)
    ).status_code == 403
    r = await client.post(
        "/api/v1/exports", json={"filter": {"tags_any": ["pensions"]}, "columns": ["first_name", "mobile"]}, headers=h
    )
    assert r.status_code == 201, r.text
    dl = await client.get(r.json()["download_path"], headers=h)
    assert dl.status_code == 200
    rows = list(csv.reader(io.StringIO(dl.text.lstrip("\ufeff"))))
    assert rows == [["first_name", "mobile"], ["Ioana", "+40722123456"]]
    actions = set((await db.scalars(select(AuditLog.action).where(AuditLog.object_id == r.json()["id"]))).all())
    assert actions == {"export.created", "export.downloaded"}
    other = await client.get(r.json()["download_path"], headers=world.b["admin"].headers)
    assert other.status_code == 404

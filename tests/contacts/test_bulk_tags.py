"""Bulk tagging: one statement over a filter or a list of ids, in the caller's organization, audited."""

from __future__ import annotations

import uuid

from httpx import AsyncClient
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import set_tenant
from app.models import AuditLog, Contact
from tests.fixtures.contacts import insert_contacts
from tests.fixtures.factories import World

URL = "/api/v1/contacts/bulk-tags"


async def _tags(db: AsyncSession, org: uuid.UUID, ids: list[uuid.UUID]) -> dict[uuid.UUID, list[str]]:
    await set_tenant(db, org)
    rows = (await db.execute(select(Contact.id, Contact.tags).where(Contact.id.in_(ids)))).all()
    return {r.id: sorted(r.tags) for r in rows}


async def _seed(db: AsyncSession, world: World) -> tuple[list[uuid.UUID], list[uuid.UUID], list[uuid.UUID]]:
    pts = [(26.0 + i * 0.001, 44.4) for i in range(5)]
    bank = await insert_contacts(db, world.org_a.id, pts, tags=["bank", "old"])
    other = await insert_contacts(db, world.org_a.id, pts[:3], tags=["other"])
    foreign = await insert_contacts(db, world.org_b.id, pts, tags=["bank", "old"])
    await db.flush()
    return bank, other, foreign


async def test_tags_added_and_removed_on_every_contact_of_the_filter_only_in_this_org(
    client: AsyncClient, db: AsyncSession, world: World
) -> None:
    bank, other, foreign = await _seed(db, world)
    body = {"filter": {"tags_any": ["bank"]}, "add": ["walk", " walk "], "remove": ["old"]}
    r = await client.post(URL, json=body, headers=world.a["manager"].headers)
    assert r.status_code == 200, r.text
    assert r.json() == {"matched": 5, "updated": 5}
    assert list((await _tags(db, world.org_a.id, bank)).values()) == [["bank", "walk"]] * 5
    assert all(t == ["other"] for t in (await _tags(db, world.org_a.id, other)).values())
    assert all(t == ["bank", "old"] for t in (await _tags(db, world.org_b.id, foreign)).values())
    # again: nothing left to change, nothing written
    again = await client.post(URL, json=body, headers=world.a["manager"].headers)
    assert again.json() == {"matched": 5, "updated": 0}
    await set_tenant(db, world.org_a.id)
    audits = (
        await db.scalars(
            select(AuditLog).where(AuditLog.organization_id == world.org_a.id, AuditLog.action == "contacts.bulk_tags")
        )
    ).all()
    assert sorted((a.details["updated"], a.details["add"], a.details["remove"]) for a in audits) == [
        (0, ["walk"], ["old"]),
        (5, ["walk"], ["old"]),
    ]
    assert await db.scalar(
        text("SELECT count(*) FROM tags WHERE organization_id = :o AND name = 'walk'"), {"o": world.org_a.id}
    )


async def test_tags_on_a_list_of_ids_and_a_foreign_id_is_a_422_naming_it(
    client: AsyncClient, db: AsyncSession, world: World
) -> None:
    bank, other, foreign = await _seed(db, world)
    h = world.a["manager"].headers
    chosen = [bank[0], other[1]]
    r = await client.post(URL, json={"contact_ids": [str(i) for i in chosen], "add": ["call-me"]}, headers=h)
    assert r.status_code == 200 and r.json() == {"matched": 2, "updated": 2}, r.text
    tags = await _tags(db, world.org_a.id, bank + other)
    assert tags[bank[0]] == ["bank", "call-me", "old"] and tags[other[1]] == ["call-me", "other"]
    assert all("call-me" not in tags[i] for i in tags if i not in chosen)
    bad = await client.post(URL, json={"contact_ids": [str(bank[1]), str(foreign[0])], "add": ["x"]}, headers=h)
    assert bad.status_code == 422 and bad.json()["error"]["details"][0]["field"] == "contact_ids.1", bad.text
    assert (await _tags(db, world.org_b.id, [foreign[0]]))[foreign[0]] == ["bank", "old"]
    assert (await _tags(db, world.org_a.id, [bank[1]]))[bank[1]] == ["bank", "old"]


async def test_a_bulk_request_names_what_is_wrong_and_a_volunteer_may_not(
    client: AsyncClient, db: AsyncSession, world: World
) -> None:
    h = world.a["manager"].headers
    cases = {
        "contact_ids": {"add": ["x"]},
        "add": {"filter": {}, "add": [], "remove": []},
        "remove": {"filter": {}, "add": ["x"], "remove": ["x"]},
    }
    for field, body in cases.items():
        r = await client.post(URL, json=body, headers=h)
        assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == field, r.text
    both = await client.post(URL, json={"filter": {}, "contact_ids": [str(uuid.uuid4())], "add": ["x"]}, headers=h)
    assert both.status_code == 422
    r = await client.post(URL, json={"filter": {}, "add": ["x"]}, headers=world.a["volunteer"].headers)
    assert r.status_code == 403

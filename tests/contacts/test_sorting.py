from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import text, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.principal import Principal
from app.contacts import repository as repo
from app.contacts import sorting
from app.core.db import set_tenant
from app.models import Contact
from tests.fixtures.contacts import insert_contacts
from tests.fixtures.factories import World
from tests.fixtures.plans import plan_over_copy, uses_index

INDEXES = {
    "name": "ix_contacts_organization_id_last_name_first_name_id",
    "city": "ix_contacts_sort_city",
    "support_level": "ix_contacts_sort_support",
    "last_contacted_at": "ix_contacts_sort_contacted",
    "created_at": "ix_contacts_sort_created",
}
T0 = datetime(2026, 11, 1, tzinfo=UTC)
SQUARE = {"type": "Polygon", "coordinates": [[[26.0, 44.4], [26.2, 44.4], [26.2, 44.5], [26.0, 44.5], [26.0, 44.4]]]}


async def _base(db: AsyncSession, org: uuid.UUID) -> list[dict[str, Any]]:
    """12 contacts with repeated and missing values in every sortable column."""
    ids = await insert_contacts(db, org, [(26.1, 44.45)] * 6, tags=["pensions"])
    ids += await insert_contacts(db, org, [(26.1, 44.45)] * 3, tags=["housing"])
    ids += await insert_contacts(db, org, [(27.6, 47.16)] * 3, tags=["pensions"])  # Iași: outside the square
    rows = []
    for i, cid in enumerate(ids):
        row = {
            "id": cid,
            "last_name": ["Pop", "Ionescu", "Pop", "Avram"][i % 4],
            "first_name": f"F{i % 5}",
            "city": [None, "Cluj", "Arad", "Cluj"][i % 4],
            "support_level": [None, 1, 3, 5, 3][i % 5],
            "last_contacted_at": None if i % 3 == 0 else T0 + timedelta(days=i % 4),
            "created_at": T0 + timedelta(hours=i % 5),
        }
        await db.execute(update(Contact).where(Contact.organization_id == org, Contact.id == cid).values(**row))
        rows.append(row)
    return rows


def _expected(rows: list[dict[str, Any]], sort: str, order: str) -> list[uuid.UUID]:
    never = datetime.min.replace(tzinfo=UTC)
    keyf: Callable[[dict[str, Any]], tuple[Any, ...]] = {
        "name": lambda r: (r["last_name"], r["first_name"]),
        "city": lambda r: (r["city"] or "",),
        "support_level": lambda r: (r["support_level"] or 6,),
        "last_contacted_at": lambda r: (r["last_contacted_at"] or never,),
        "created_at": lambda r: (r["created_at"],),
    }[sort]
    return [r["id"] for r in sorted(rows, key=lambda r: (*keyf(r), r["id"]), reverse=order == "desc")]


async def _pages(client: AsyncClient, h: dict[str, str], body: dict[str, Any], limit: int) -> list[uuid.UUID]:
    seen: list[uuid.UUID] = []
    cursor = None
    while True:
        r = await client.post("/api/v1/contacts/search", json={**body, "limit": limit, "cursor": cursor}, headers=h)
        assert r.status_code == 200, r.text
        seen += [uuid.UUID(c["id"]) for c in r.json()["items"]]
        cursor = r.json()["next_cursor"]
        if cursor is None:
            return seen


@pytest.mark.parametrize("sort", ["name", "city", "support_level", "last_contacted_at", "created_at"])
async def test_search_pages_through_every_sort_in_both_orders_without_gaps_or_repeats(
    client: AsyncClient, db: AsyncSession, world: World, sort: str
) -> None:
    rows = await _base(db, world.org_a.id)
    h = world.a["manager"].headers
    for order in ("asc", "desc"):
        got = await _pages(client, h, {"filter": {}, "sort": sort, "order": order}, limit=5)
        assert got == _expected(rows, sort, order), (sort, order)


async def test_zone_and_tag_filter_page_in_the_chosen_order(
    client: AsyncClient, db: AsyncSession, world: World
) -> None:
    rows = await _base(db, world.org_a.id)
    h = world.a["manager"].headers
    zone = await client.post("/api/v1/zones", json={"name": "Center", "geometry": SQUARE}, headers=h)
    assert zone.status_code == 201, zone.text
    body = {"filter": {"zone_ids": [zone.json()["id"]], "tags_any": ["pensions"]}, "sort": "last_contacted_at"}
    got = await _pages(client, h, {**body, "order": "desc"}, limit=4)
    assert got == _expected(rows[:6], "last_contacted_at", "desc")
    first = await client.post("/api/v1/contacts/search", json={**body, "limit": 2, "with_total": True}, headers=h)
    assert first.json()["total"] == 6
    listed = await client.get("/api/v1/contacts?sort=city&order=desc&limit=50", headers=h)
    assert [uuid.UUID(c["id"]) for c in listed.json()["items"]] == _expected(rows, "city", "desc")


async def test_cursor_of_another_sort_or_forged_is_422(client: AsyncClient, db: AsyncSession, world: World) -> None:
    await _base(db, world.org_a.id)
    h = world.a["manager"].headers
    page = await client.post("/api/v1/contacts/search", json={"sort": "city", "limit": 2}, headers=h)
    cursor = page.json()["next_cursor"]
    other = await client.post("/api/v1/contacts/search", json={"sort": "name", "cursor": cursor}, headers=h)
    assert other.status_code == 422
    assert other.json()["error"]["details"][0]["field"] == "cursor"
    from app.core.pagination import encode_cursor

    forged = encode_cursor(["support_level", "asc", "three", str(uuid.uuid4())])
    bad = await client.post("/api/v1/contacts/search", json={"sort": "support_level", "cursor": forged}, headers=h)
    assert bad.status_code == 422
    unknown = await client.post("/api/v1/contacts/search", json={"sort": "phone"}, headers=h)
    assert unknown.status_code == 422
    assert unknown.json()["error"]["details"][0]["field"] == "sort"


@pytest.mark.parametrize("sort", ["name", "city", "support_level", "last_contacted_at", "created_at"])
async def test_each_sort_is_an_index_range(db: AsyncSession, world: World, sort: str) -> None:
    await _base(db, world.org_a.id)
    actor = Principal(uuid.uuid4(), world.org_a.id, "admin", "a@example.org", "A", uuid.uuid4())
    await set_tenant(db, world.org_a.id)
    await db.execute(text("SET LOCAL enable_seqscan = off"))
    await db.execute(text("SET LOCAL enable_sort = off"))
    for order in ("asc", "desc"):
        q = sorting.apply(repo.visible_to(actor), sort=sort, order=order, cursor=None, limit=50)
        compiled = q.compile(db.bind, compile_kwargs={"literal_binds": True})
        plan = await plan_over_copy(db, str(compiled), "contacts", world.org_a.id)  # not the shared statistics
        assert "Sort" not in plan.replace("Sort Key", ""), plan
        assert await uses_index(db, plan, INDEXES[sort]), plan

"""Lists that page: every household of a walk list, every action, in a stable order."""

from __future__ import annotations

import random

from httpx import AsyncClient
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import ActionTarget
from tests.fixtures.contacts import insert_contacts
from tests.fixtures.factories import World


async def _pages(client: AsyncClient, url: str, headers: dict[str, str], limit: int) -> list[dict[str, object]]:
    pages, cursor = [], None
    while True:
        params: dict[str, str | int] = {"limit": limit}
        if cursor:
            params["cursor"] = cursor
        r = await client.get(url, params=params, headers=headers)
        assert r.status_code == 200, r.text
        pages.append(r.json())
        cursor = r.json()["next_cursor"]
        if cursor is None:
            return pages


def _targets(page: dict[str, object]) -> list[str]:
    return [h["target_id"] for s in page["streets"] for b in s["buildings"] for h in b["households"]]  # type: ignore[attr-defined]


async def test_a_walk_list_past_5000_households_pages_through_all_of_them_with_the_true_total(
    client: AsyncClient, db: AsyncSession, world: World
) -> None:
    rnd = random.Random(13)
    pts = [(26.0 + rnd.random() / 10, 44.4 + rnd.random() / 10) for _ in range(5998)]
    await insert_contacts(db, world.org_a.id, pts, tags=["walk"])
    # addresses of every shape the order has to handle: no city, no number, "12A", buildings, a 12-digit number
    await db.execute(
        text("""
        UPDATE contacts SET city = CASE WHEN n % 7 = 0 THEN NULL ELSE city END,
               street = 'Strada ' || (n % 13),
               street_number = CASE WHEN n % 11 = 0 THEN NULL WHEN n % 5 = 0 THEN (n % 40) || 'A'
                                    WHEN n = 17 THEN '123456789012' ELSE street_number END,
               building = CASE WHEN n % 3 = 0 THEN 'B' || (n % 4) END
        FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM contacts WHERE organization_id = :o) x
        WHERE contacts.organization_id = :o AND contacts.id = x.id"""),
        {"o": world.org_a.id},
    )
    h = world.a["manager"].headers
    r = await client.post(
        "/api/v1/actions", headers=h, json={"type": "door_to_door", "title": "All", "filter": {"tags_any": ["walk"]}}
    )
    assert r.status_code == 201, r.text
    url = f"/api/v1/actions/{r.json()['id']}/walklist"
    pages = await _pages(client, url, h, limit=1000)
    assert len(pages) == 6
    assert {p["total"] for p in pages} == {5998}
    seen = [t for p in pages for t in _targets(p)]
    stored = (await db.scalars(select(ActionTarget.id).where(ActionTarget.action_id == r.json()["id"]))).all()
    assert len(seen) == len(set(seen)) == 5998
    assert set(seen) == {str(t) for t in stored}
    # the same walking order whatever the page size: the pages join exactly
    assert [t for p in await _pages(client, url, h, limit=777) for t in _targets(p)] == seen
    bad = await client.get(url, params={"cursor": "WyJ4Il0"}, headers=h)
    assert bad.status_code == 422 and bad.json()["error"]["details"][0]["field"] == "cursor"


async def test_the_list_of_actions_pages_past_its_page_size(
    client: AsyncClient, db: AsyncSession, world: World
) -> None:
    h = world.a["manager"].headers
    made = []
    for i in range(7):
        starts = None if i % 3 == 0 else f"2026-12-{10 + i % 2:02d}T09:00:00+00:00"  # ties and undated ones
        body = {"type": "event", "title": f"E{i}", "starts_at": starts}
        r = await client.post("/api/v1/actions", headers=h, json={k: v for k, v in body.items() if v is not None})
        assert r.status_code == 201, r.text
        made.append(r.json()["id"])
    seen, cursor, totals = [], None, []
    while True:
        r = await client.get("/api/v1/actions", params={"limit": 2} | ({"cursor": cursor} if cursor else {}), headers=h)
        assert r.status_code == 200, r.text
        seen += [a["id"] for a in r.json()["items"]]
        totals.append(r.json()["total"])
        if (cursor := r.json()["next_cursor"]) is None:
            break
    assert sorted(seen) == sorted(made) and len(seen) == 7
    assert totals == [7, None, None, None]  # the first page counts them all (the console's overview reads it)
    whole = (await client.get("/api/v1/actions", params={"limit": 500}, headers=h)).json()["items"]
    assert [a["id"] for a in whole] == seen

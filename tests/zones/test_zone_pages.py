"""The zones list pages with a cursor and reports the true total, by name and when ranked."""

from __future__ import annotations

from typing import Any

from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import set_tenant
from tests.fixtures.factories import World

N = 501  # one past the old cap of 500 rows


async def _insert_zones(db: AsyncSession, world: World, n: int) -> None:
    await set_tenant(db, world.org_a.id)
    await db.execute(
        text("""
        INSERT INTO zones (organization_id, id, name, kind, geom, vertex_count, attributes)
        SELECT :o, gen_random_uuid(), 'Zone ' || lpad(n::text, 4, '0'), 'custom',
               ST_Multi(ST_MakeEnvelope(26 + n * 0.001, 44.4, 26.0009 + n * 0.001, 44.4009, 4326)), 5,
               jsonb_build_object('turnout', n % 7)
        FROM generate_series(1, :n) AS n"""),
        {"o": world.org_a.id, "n": n},
    )
    await db.commit()


async def _walk(client: AsyncClient, world: World, **query: Any) -> tuple[list[dict[str, Any]], list[int]]:
    items: list[dict[str, Any]] = []
    totals: list[int] = []
    cursor: str | None = None
    for _ in range(20):
        params = {**query, **({"cursor": cursor} if cursor else {})}
        r = await client.get("/api/v1/zones", params=params, headers=world.a["manager"].headers)
        assert r.status_code == 200, r.text
        page = r.json()
        items += page["items"]
        totals.append(page["total"])
        if not (cursor := page["next_cursor"]):
            break
    return items, totals


async def test_zones_list_walks_past_500_with_a_cursor_and_the_true_total(
    client: AsyncClient, db: AsyncSession, world: World
) -> None:
    await _insert_zones(db, world, N)
    items, totals = await _walk(client, world, limit=500)
    assert len(items) == N and len({z["id"] for z in items}) == N
    assert totals == [N, N]
    assert [z["name"] for z in items] == sorted(z["name"] for z in items)


async def test_ranked_zones_page_in_rank_order_without_losing_one(
    client: AsyncClient, db: AsyncSession, world: World
) -> None:
    await _insert_zones(db, world, N)
    items, totals = await _walk(client, world, limit=100, rank_by="attributes.turnout", order="desc")
    assert len({z["id"] for z in items}) == N and set(totals) == {N}
    turnouts = [z["attributes"]["turnout"] for z in items]
    assert turnouts == sorted(turnouts, reverse=True)


async def test_a_cursor_that_is_not_ours_is_a_422_naming_cursor(client: AsyncClient, world: World) -> None:
    for q in (
        {"cursor": "bm90LWEtbGlzdA"},
        {"cursor": "WyJ4IiwgInkiXQ", "rank_by": "contacts"},
        {"cursor": "W2ZhbHNlLCAiYWJjIiwgIm4iLCAiaSJd", "rank_by": "contacts"},
    ):
        r = await client.get("/api/v1/zones", params=q, headers=world.a["manager"].headers)
        assert r.status_code == 422, r.text
        assert r.json()["error"]["details"][0]["field"] == "cursor"

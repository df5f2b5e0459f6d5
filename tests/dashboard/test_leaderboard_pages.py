"""Leaderboards page with a cursor: every volunteer and team is reachable, ranks run on, the total is true."""

from __future__ import annotations

from typing import Any

from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from tests.dashboard.test_figures import _scene
from tests.fixtures.factories import make_team


async def _walk(client: AsyncClient, headers: dict[str, str], **q: Any) -> tuple[list[dict[str, Any]], set[int]]:
    rows: list[dict[str, Any]] = []
    totals: set[int] = set()
    cursor: str | None = None
    for _ in range(30):
        r = await client.get(
            "/api/v1/dashboard/leaderboard", params={**q, **({"cursor": cursor} if cursor else {})}, headers=headers
        )
        assert r.status_code == 200, r.text
        rows += r.json()["items"]
        totals.add(r.json()["total"])
        if not (cursor := r.json()["next_cursor"]):
            break
    return rows, totals


async def test_leaderboard_pages_reach_every_row_with_running_ranks(client: AsyncClient, db: AsyncSession) -> None:
    s = await _scene(client, db)
    for i in range(7):
        await make_team(db, s.manager.org, [], name=f"Quiet {i}")
    await db.commit()
    h = s.manager.headers
    whole = (await client.get("/api/v1/dashboard/leaderboard", params={"metric": "calls"}, headers=h)).json()
    paged, totals = await _walk(client, h, metric="calls", limit=1)
    assert paged == whole["items"] and totals == {3} and whole["total"] == 3
    teams, totals = await _walk(client, h, by="teams", metric="reached", limit=2)
    assert [r["rank"] for r in teams] == list(range(1, 10)) and totals == {9}
    assert [r["name"] for r in teams[:2]] == ["Team A", "Team B"]
    assert len({r["team_id"] for r in teams}) == 9

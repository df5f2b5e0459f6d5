"""The calling lists page with a cursor past 500 people and report the true total; nothing is cut."""

from __future__ import annotations

from typing import Any

from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import set_tenant
from tests.calling.conftest import make_bank
from tests.fixtures.factories import Actor


async def _walk(client: AsyncClient, url: str, who: Actor, limit: int) -> tuple[list[dict[str, Any]], set[int]]:
    items: list[dict[str, Any]] = []
    totals: set[int] = set()
    cursor: str | None = None
    for _ in range(50):
        r = await client.get(
            url, params={"limit": limit, **({"cursor": cursor} if cursor else {})}, headers=who.headers
        )
        assert r.status_code == 200, r.text
        items += r.json()["items"]
        totals.add(r.json()["total"])
        if not (cursor := r.json()["next_cursor"]):
            break
    return items, totals


async def test_mine_and_others_walk_every_target_past_the_old_cap(client: AsyncClient, db: AsyncSession) -> None:
    bank = await make_bank(client, db, contacts=1003, volunteers=2)
    a, b = bank.volunteers
    # Some callbacks, so the keyset also crosses the nullable part of the order.
    await set_tenant(db, a.org.id)
    await db.execute(
        text("""UPDATE action_targets SET callback_at = now() + (random() * interval '3 days')
                WHERE organization_id = :o AND id IN (SELECT id FROM action_targets
                      WHERE organization_id = :o AND assignee_user_id = :u ORDER BY id LIMIT 37)"""),
        {"o": a.org.id, "u": a.user_id},
    )
    await db.commit()
    assigned = await db.scalar(
        text("SELECT count(*) FROM action_targets WHERE organization_id = :o AND assignee_user_id = :u"),
        {"o": a.org.id, "u": a.user_id},
    )
    assert assigned and assigned > 500
    mine, totals = await _walk(client, f"/api/v1/actions/{bank.action_id}/calls/mine", a, 500)
    assert len({t["id"] for t in mine}) == assigned == len(mine) and totals == {assigned}
    callbacks = [t["callback_at"] for t in mine if t["callback_at"]]
    assert len(callbacks) == 37 and callbacks == sorted(callbacks) and mine[0]["callback_at"] == callbacks[0]
    others, totals = await _walk(client, f"/api/v1/actions/{bank.action_id}/calls/others", b, 200)
    assert {t["id"] for t in others} == {t["id"] for t in mine} and totals == {assigned}

"""GET /actions/{id}/stats reads the live counters (a few statements, none over the reports, whatever the action's
size), and what it says equals a recount of the reports after calls, a visit, corrections (also of a correction)
and replayed reports."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from httpx import AsyncClient
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.core.db import set_tenant
from tests.dashboard.conftest import Scene, call, script, setup_scene

TX = ("savepoint", "release", "rollback", "begin", "commit")


@contextmanager
def statements(engine: AsyncEngine) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, sql: str, *_: Any) -> None:
        if not sql.strip().lower().startswith(TX):
            seen.append(" ".join(sql.split()))

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)


async def recount(db: AsyncSession, s: Scene) -> dict[str, Any]:
    """The stats' figures counted from the reports (the bench's bare GROUP BY, plus what the counters also keep)."""
    await set_tenant(db, s.org_id)
    rows = (
        await db.execute(
            text("""
            SELECT r.kind, r.outcome, count(*) AS n, count(*) FILTER (WHERE r.mobilized) AS mob,
                   count(*) FILTER (WHERE jsonb_array_length(coalesce(r.response->'opportunity_ids', '[]')) > 0) AS opp
            FROM field_reports r WHERE r.organization_id = :o AND r.action_id = :a GROUP BY 1, 2"""),
            {"o": s.org_id, "a": s.call_action},
        )
    ).all()
    levels = (
        await db.execute(
            text("""
            SELECT c.support_level::text, count(*) FROM field_reports r
            JOIN contacts c ON c.organization_id = r.organization_id AND c.id = r.contact_id
            WHERE r.organization_id = :o AND r.action_id = :a AND r.outcome IN ('answered', 'opened')
              AND c.support_level IS NOT NULL GROUP BY 1"""),
            {"o": s.org_id, "a": s.call_action},
        )
    ).all()
    targets = await db.scalar(
        text("SELECT count(*) FROM action_targets WHERE organization_id = :o AND action_id = :a"),
        {"o": s.org_id, "a": s.call_action},
    )
    await db.rollback()
    return {
        "targets": targets,
        "calls": sum(n for k, _, n, *_ in rows if k == "call"),
        "visits": sum(n for k, _, n, *_ in rows if k == "visit"),
        "reached": sum(n for _, o, n, *_ in rows if o in ("answered", "opened")),
        "mobilized": sum(m for *_, m, _ in rows),
        "opportunities": sum(p for *_, p in rows),
        "outcomes": {o: n for _, o, n, *_ in rows if n},
        "support_levels": dict(levels),
    }


def figures(stats: dict[str, Any]) -> dict[str, Any]:
    keys = ("targets", "calls", "visits", "reached", "mobilized", "opportunities", "outcomes", "support_levels")
    return {k: stats[k] for k in keys}


async def correct(client: AsyncClient, who: Any, report_id: str, body: dict[str, Any]) -> None:
    r = await client.post(
        f"/api/v1/reports/{report_id}/corrections", headers=who.headers, json={"id": str(uuid.uuid4()), **body}
    )
    assert r.status_code == 200, r.text


async def test_stats_equal_a_recount_after_reports_corrections_and_replays(
    client: AsyncClient, db: AsyncSession
) -> None:
    s = await setup_scene(client, db)
    await script(client, db, s)
    url = f"/api/v1/actions/{s.call_action}/stats"
    assert figures((await client.get(url, headers=s.manager.headers)).json()) == await recount(db, s)

    # More calls, one of them replayed (same id, same body: stored and counted once).
    nxt = await client.post(f"/api/v1/actions/{s.call_action}/calls/next", headers=s.v2.headers)
    tid = nxt.json()["id"]
    assert (await client.post(f"/api/v1/calls/{tid}/start", headers=s.v2.headers)).status_code == 200
    body = {"id": str(uuid.uuid4()), "outcome": "answered", "mobilized": True, "consent_given": True}
    first = await client.post(f"/api/v1/calls/{tid}/report", headers=s.v2.headers, json=body)
    assert first.status_code == 200, first.text
    replay = await client.post(f"/api/v1/calls/{tid}/report", headers=s.v2.headers, json=body)
    assert replay.status_code == 200 and replay.json() == first.json()
    absent = await call(client, s, s.v3, "absent")

    # Corrections: answered -> refused, absent -> answered and mobilized, then that correction corrected again.
    await correct(client, s.v2, first.json()["id"], {"outcome": "refused", "mobilized": False})
    await correct(client, s.v3, absent["id"], {"outcome": "answered", "mobilized": True, "consent_given": True})
    await correct(client, s.v3, absent["id"], {"outcome": "answered", "mobilized": False, "consent_given": True})

    got = (await client.get(url, headers=s.manager.headers)).json()
    assert got["source"] == "counters"
    want = await recount(db, s)
    assert want["calls"] == 9 and want["outcomes"]["refused"] == 2
    assert figures(got) == want


async def test_stats_read_only_the_counters(client: AsyncClient, db: AsyncSession, engine: AsyncEngine) -> None:
    s = await setup_scene(client, db)
    await script(client, db, s)
    await client.get(f"/api/v1/actions/{s.call_action}/stats", headers=s.manager.headers)  # the token is cached
    with statements(engine) as seen:
        r = await client.get(f"/api/v1/actions/{s.call_action}/stats", headers=s.manager.headers)
    assert r.status_code == 200, r.text
    assert len(seen) <= 3, seen  # the caller (when not cached), the action, its counters
    assert not [q for q in seen if "field_reports" in q or "action_targets" in q], seen

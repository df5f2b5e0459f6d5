"""The app's write paths keep the dashboard's rollups equal to a recount of the raw rows: a report's correction (to
an outcome that reaches no one, its answers dropped), a merge of duplicates, an erasure, an action's deletion; and
the dashboard reads a report the request after it commits."""

from __future__ import annotations

import uuid

from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import set_tenant
from tests.dashboard.conftest import Scene, call, script, setup_scene
from tests.dashboard.test_rollups import rollup_snapshot


async def assert_rollups_equal_the_recount(db: AsyncSession, org: uuid.UUID) -> None:
    """What the triggers kept, against the migration's recount from the rows, which is then rolled back."""
    await db.commit()  # the test session's own savepoint ends here, so that the rollback below undoes the recount only
    await set_tenant(db, org)
    kept = await rollup_snapshot(db, org)
    await db.execute(text("SELECT gg_dashboard_rollups_rebuild(:o)"), {"o": org})
    assert await rollup_snapshot(db, org) == kept
    await db.rollback()  # the next step starts from what the triggers kept


async def _scene(client: AsyncClient, db: AsyncSession) -> Scene:
    s = await setup_scene(client, db)
    await script(client, db, s)
    await assert_rollups_equal_the_recount(db, s.org_id)
    return s


async def _report_of(db: AsyncSession, s: Scene, contact: uuid.UUID) -> uuid.UUID:
    await set_tenant(db, s.org_id)
    rid = await db.scalar(
        text("SELECT id FROM field_reports WHERE organization_id = :o AND contact_id = :c"),
        {"o": s.org_id, "c": contact},
    )
    assert rid is not None
    await db.commit()
    return uuid.UUID(str(rid))


async def test_a_correction_moves_the_report_and_drops_its_answers(client: AsyncClient, db: AsyncSession) -> None:
    s = await _scene(client, db)
    before = (await client.get("/api/v1/dashboard?from=2000-01-01", headers=s.manager.headers)).json()
    rid = await _report_of(db, s, s.reached_contacts["v1"])
    body = {"id": str(uuid.uuid4()), "outcome": "absent"}
    r = await client.post(f"/api/v1/reports/{rid}/corrections", headers=s.v1.headers, json=body)
    assert r.status_code == 200, r.text
    await assert_rollups_equal_the_recount(db, s.org_id)
    after = (await client.get("/api/v1/dashboard?from=2000-01-01", headers=s.manager.headers)).json()
    assert after["outcomes"]["absent"] == before["outcomes"]["absent"] + 1
    assert after["support"]["strong_supporters"] == before["support"]["strong_supporters"] - 1
    assert not any(q["question_id"] == "topic" for q in after["surveys"])


async def test_a_merge_keeps_the_rollups_equal_to_the_recount(client: AsyncClient, db: AsyncSession) -> None:
    s = await _scene(client, db)
    keep, other = s.reached_contacts["v1"], s.reached_contacts["v2"]
    r = await client.post(f"/api/v1/contacts/{keep}/merge", json={"other_id": str(other)}, headers=s.manager.headers)
    assert r.status_code == 200, r.text
    await assert_rollups_equal_the_recount(db, s.org_id)
    f = (await client.get("/api/v1/dashboard?from=2000-01-01", headers=s.manager.headers)).json()
    assert f["support"]["by_level"] == {"1": 1, "2": 1, "5": 1}  # two people reached are one now


async def test_an_erasure_and_an_actions_deletion_keep_the_rollups_equal(client: AsyncClient, db: AsyncSession) -> None:
    s = await _scene(client, db)
    cid = s.reached_contacts["v1"]
    assert (await client.post(f"/api/v1/contacts/{cid}/erase", headers=s.manager.headers)).status_code == 204
    await assert_rollups_equal_the_recount(db, s.org_id)
    f = (await client.get("/api/v1/dashboard?from=2000-01-01", headers=s.manager.headers)).json()
    assert f["support"]["strong_supporters"] == 0
    assert not any(q["question_id"] == "topic" for q in f["surveys"])
    await set_tenant(db, s.org_id)
    await db.execute(
        text("DELETE FROM actions WHERE organization_id = :o AND id = :a"), {"o": s.org_id, "a": s.call_action}
    )
    await db.commit()
    await assert_rollups_equal_the_recount(db, s.org_id)
    f = (await client.get("/api/v1/dashboard?from=2000-01-01", headers=s.manager.headers)).json()
    assert (f["calls_made"], f["surveys"]) == (0, [])


async def test_the_next_request_counts_a_committed_report(client: AsyncClient, db: AsyncSession) -> None:
    s = await _scene(client, db)
    url = "/api/v1/dashboard?from=2000-01-01&bucket=hour"
    before = (await client.get(url, headers=s.manager.headers)).json()
    await call(client, s, s.v2, "answered", contact_updates={"support_level": 4})
    after = (await client.get(url, headers=s.manager.headers)).json()
    assert after["calls_made"] == before["calls_made"] + 1
    assert after["reached"] == before["reached"] + 1
    assert after["support"]["opposed"] == before["support"]["opposed"] + 1
    assert sum(x["calls"] for x in after["series"]) == after["calls_made"]
    assert after["targets_left"] == before["targets_left"] - 1

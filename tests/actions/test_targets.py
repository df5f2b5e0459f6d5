"""The action page's targets table and reassignment (issue 14): keyset pages in the chosen order, filters by
status and assignee, team leaders limited to their teams and the pool; one UPDATE that moves a selection or a
filter's matches to a volunteer or a team of the action or back to the pool, never a target under a live lease."""

from __future__ import annotations

import random
import uuid
from typing import Any

from httpx import AsyncClient
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import ActionTarget, AuditLog
from tests.fixtures.contacts import insert_contacts
from tests.fixtures.factories import World, make_actor, make_team


def _pts(n: int, seed: int = 14) -> list[tuple[float, float]]:
    rnd = random.Random(seed)
    return [(rnd.uniform(26.09, 26.12), rnd.uniform(44.42, 44.45)) for _ in range(n)]


async def _action(client: AsyncClient, db: AsyncSession, world: World, n: int = 12, **extra: Any) -> str:
    await insert_contacts(db, world.org_a.id, _pts(n), tags=["tbl"])
    team = await db.scalar(
        text("SELECT id FROM teams WHERE organization_id = :o AND name = 'Team 1'"), {"o": world.org_a.id}
    )
    body: dict[str, Any] = {
        "type": "call",
        "title": "Table",
        "filter": {"tags_any": ["tbl"]},
        "team_ids": [str(team)],
        "volunteer_ids": [str(world.a["volunteer2"].user_id)],
        **extra,
    }
    r = await client.post("/api/v1/actions", headers=world.a["manager"].headers, json=body)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def _assignees(db: AsyncSession, aid: str) -> dict[uuid.UUID, uuid.UUID | None]:
    rows = await db.execute(select(ActionTarget.id, ActionTarget.assignee_user_id).where(ActionTarget.action_id == aid))
    return dict(rows.tuples().all())


async def _all_pages(client: AsyncClient, url: str, headers: dict[str, str]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    cursor = None
    while True:
        r = await client.get(url + (f"&cursor={cursor}" if cursor else ""), headers=headers)
        assert r.status_code == 200, r.text
        out += r.json()["items"]
        cursor = r.json()["next_cursor"]
        if cursor is None:
            return out


async def test_targets_table_pages_by_keyset_in_the_sorted_order_the_database_gives(
    client: AsyncClient, db: AsyncSession, world: World
) -> None:
    aid = await _action(client, db, world, 12)
    await db.execute(
        text("UPDATE action_targets SET attempts = (abs(hashtext(id::text)) % 4) WHERE action_id = :a"), {"a": aid}
    )
    mgr = world.a["manager"].headers
    rows = await _all_pages(client, f"/api/v1/actions/{aid}/targets?sort=-attempts&limit=5", mgr)
    expected = (
        await db.execute(
            text("""SELECT t.id FROM action_targets t JOIN contacts c ON c.id = t.contact_id WHERE t.action_id = :a
                    ORDER BY t.attempts DESC, c.last_name DESC, c.first_name DESC, t.id DESC"""),
            {"a": aid},
        )
    ).scalars()
    assert [uuid.UUID(r["id"]) for r in rows] == list(expected)
    first = (await client.get(f"/api/v1/actions/{aid}/targets?limit=5", headers=mgr)).json()
    assert first["total"] == 12 and len(first["items"]) == 5
    assert set(first["items"][0]) >= {"status", "assignee_name", "assignee_teams", "last_outcome", "attempts"}
    # A cursor from another sort is refused, naming the field.
    r = await client.get(f"/api/v1/actions/{aid}/targets?sort=status&cursor={first['next_cursor']}", headers=mgr)
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "cursor"


async def test_targets_table_filters_by_status_and_by_assignee_or_team(
    client: AsyncClient, db: AsyncSession, world: World
) -> None:
    vol, vol2 = world.a["volunteer"], world.a["volunteer2"]
    aid = await _action(
        client,
        db,
        world,
        9,
        assignment={"strategy": "round_robin", "volunteer_ids": [str(vol.user_id), str(vol2.user_id)]},
    )
    await db.execute(
        text(
            "UPDATE action_targets SET status = 'done', last_outcome = 'answered' "
            "WHERE id IN (SELECT id FROM action_targets WHERE action_id = :a ORDER BY id LIMIT 3)"
        ),
        {"a": aid},
    )
    mgr = world.a["manager"].headers
    done = (await client.get(f"/api/v1/actions/{aid}/targets?status=done", headers=mgr)).json()
    assert done["total"] == 3 and {r["last_outcome"] for r in done["items"]} == {"answered"}
    mine = (await client.get(f"/api/v1/actions/{aid}/targets?assignee_user_id={vol.user_id}", headers=mgr)).json()
    in_db = await db.scalar(
        text("SELECT count(*) FROM action_targets WHERE action_id = :a AND assignee_user_id = :u"),
        {"a": aid, "u": vol.user_id},
    )
    assert mine["total"] == in_db > 0
    team = await db.scalar(
        text("SELECT id FROM teams WHERE organization_id = :o AND name = 'Team 1'"), {"o": world.org_a.id}
    )
    by_team = (await client.get(f"/api/v1/actions/{aid}/targets?team_id={team}", headers=mgr)).json()
    assert by_team["total"] == in_db  # vol is the only member of Team 1 with targets
    assert {tuple(r["assignee_teams"]) for r in by_team["items"]} == {("Team 1",)}
    # A team of another organization is named in a 422.
    foreign = await db.scalar(text("SELECT id FROM teams WHERE organization_id = :o"), {"o": world.org_b.id})
    r = await client.get(f"/api/v1/actions/{aid}/targets?team_id={foreign}", headers=mgr)
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "team_id"


async def test_a_team_leader_sees_only_their_teams_targets_and_the_pool_and_a_volunteer_none(
    client: AsyncClient, db: AsyncSession, world: World
) -> None:
    vol, vol2 = world.a["volunteer"], world.a["volunteer2"]
    aid = await _action(client, db, world, 9)
    ids = list(await _assignees(db, aid))
    await db.execute(
        text("UPDATE action_targets SET assignee_user_id = :u WHERE id = ANY(:i)"), {"u": vol.user_id, "i": ids[:3]}
    )
    await db.execute(
        text("UPDATE action_targets SET assignee_user_id = :u WHERE id = ANY(:i)"), {"u": vol2.user_id, "i": ids[3:6]}
    )
    rows = await _all_pages(client, f"/api/v1/actions/{aid}/targets?limit=100", world.a["team_leader"].headers)
    assert {uuid.UUID(r["id"]) for r in rows} == set(ids[:3]) | set(ids[6:])  # vol2 is in no team of the leader
    r = await client.get(f"/api/v1/actions/{aid}/targets", headers=vol.headers)
    assert r.status_code == 403


async def test_reassign_moves_the_selection_to_a_volunteer_and_skips_a_leased_target(
    client: AsyncClient, db: AsyncSession, world: World
) -> None:
    vol, vol2 = world.a["volunteer"], world.a["volunteer2"]
    aid = await _action(client, db, world, 6)
    ids = list(await _assignees(db, aid))
    await db.execute(
        text(
            "UPDATE action_targets SET lease_user_id = :u, lease_expires_at = now() + interval '10 minutes' "
            "WHERE id = :t"
        ),
        {"u": vol.user_id, "t": ids[0]},
    )
    await db.execute(text("UPDATE action_targets SET status = 'done' WHERE id = :t"), {"t": ids[1]})
    r = await client.post(
        f"/api/v1/actions/{aid}/targets/reassign",
        headers=world.a["manager"].headers,
        json={"target_ids": [str(i) for i in ids[:4]], "to_user_id": str(vol2.user_id)},
    )
    assert r.status_code == 200, r.text
    assert r.json() == {"matched": 4, "updated": 2, "skipped_leased": 1, "skipped_finished": 1}
    after = await _assignees(db, aid)
    assert [after[i] for i in ids[:4]] == [None, None, vol2.user_id, vol2.user_id]
    assert all(after[i] is None for i in ids[4:])
    log = (
        await db.scalars(
            select(AuditLog).where(AuditLog.action == "action.targets_reassigned", AuditLog.object_id == aid)
        )
    ).one()
    assert log.details["updated"] == 2 and log.details["skipped_leased"] == 1
    assert log.details["to_user_id"] == str(vol2.user_id)


async def test_reassign_everything_a_filter_matches_to_a_team_spreads_it_and_release_empties_it(
    client: AsyncClient, db: AsyncSession, world: World
) -> None:
    vol, leader = world.a["volunteer"], world.a["team_leader"]
    aid = await _action(client, db, world, 9)
    team = await db.scalar(
        text("SELECT id FROM teams WHERE organization_id = :o AND name = 'Team 1'"), {"o": world.org_a.id}
    )
    r = await client.post(
        f"/api/v1/actions/{aid}/targets/reassign",
        headers=leader.headers,
        json={"matching": {"unassigned": True}, "to_team_id": str(team)},
    )
    assert r.status_code == 200, r.text
    assert r.json()["updated"] == 9
    counts = (
        (
            await db.execute(
                text("SELECT assignee_user_id, count(*) FROM action_targets WHERE action_id = :a GROUP BY 1"),
                {"a": aid},
            )
        )
        .tuples()
        .all()
    )
    assert sorted(n for _, n in counts) == [4, 5]  # two members (the leader and the volunteer), within one
    assert {u for u, _ in counts} == {vol.user_id, leader.user_id}
    r = await client.post(
        f"/api/v1/actions/{aid}/targets/reassign",
        headers=leader.headers,
        json={"matching": {"assignee_user_id": str(vol.user_id)}, "release": True},
    )
    assert r.status_code == 200, r.text
    after = await _assignees(db, aid)
    assert vol.user_id not in after.values() and list(after.values()).count(None) == r.json()["updated"] > 0


async def test_reassign_names_the_field_of_a_foreign_or_off_action_id_and_changes_nothing(
    client: AsyncClient, db: AsyncSession, world: World
) -> None:
    aid = await _action(client, db, world, 3)
    ids = [str(i) for i in await _assignees(db, aid)]
    outsider = await make_actor(db, world.org_a, "volunteer")  # in the organization, not on the action
    other_team = await make_team(db, world.org_a, [outsider], name="Elsewhere")
    mgr = world.a["manager"].headers
    cases = [
        ({"target_ids": ids, "to_user_id": str(world.b["volunteer"].user_id)}, "to_user_id"),
        ({"target_ids": ids, "to_user_id": str(outsider.user_id)}, "to_user_id"),
        ({"target_ids": ids, "to_team_id": str(other_team.id)}, "to_team_id"),
        ({"target_ids": [*ids, str(uuid.uuid4())], "release": True}, "target_ids.3"),
        ({"target_ids": ids}, None),  # no destination
    ]
    for body, field in cases:
        r = await client.post(f"/api/v1/actions/{aid}/targets/reassign", headers=mgr, json=body)
        assert r.status_code == 422, (body, r.text)
        if field:
            assert [d["field"] for d in r.json()["error"]["details"]] == [field]
    assert set((await _assignees(db, aid)).values()) == {None}


async def test_a_team_leader_cannot_reassign_the_targets_of_another_teams_action(
    client: AsyncClient, db: AsyncSession, world: World
) -> None:
    other = await make_team(db, world.org_a, [world.a["volunteer2"]], name="Other")
    await insert_contacts(db, world.org_a.id, _pts(3), tags=["other"])
    r = await client.post(
        "/api/v1/actions",
        headers=world.a["manager"].headers,
        json={"type": "call", "title": "Theirs", "filter": {"tags_any": ["other"]}, "team_ids": [str(other.id)]},
    )
    assert r.status_code == 201, r.text
    aid = r.json()["id"]
    r = await client.post(
        f"/api/v1/actions/{aid}/targets/reassign",
        headers=world.a["team_leader"].headers,
        json={"matching": {}, "to_user_id": str(world.a["volunteer2"].user_id)},
    )
    assert r.status_code in (403, 404), r.text
    assert set((await _assignees(db, aid)).values()) == {None}

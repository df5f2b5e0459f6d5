"""Which targets a caller may claim and whose phone numbers they may see: the action must be running (not a
draft, paused or closed, and within its dates), and "others" means team-mates unless HQ opens the action."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from httpx import AsyncClient
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.core.db import set_tenant
from app.models import ActionTarget, AuditLog
from tests.calling.conftest import make_bank
from tests.fixtures.contacts import insert_contacts
from tests.fixtures.factories import Actor, make_actor, make_org, make_team


def _iso(delta: timedelta) -> str:
    return (datetime.now(UTC) + delta).isoformat()


async def _reveals(db: AsyncSession, org: uuid.UUID) -> int:
    await set_tenant(db, org)
    n = await db.scalar(
        select(func.count())
        .select_from(AuditLog)
        .where(AuditLog.organization_id == org, AuditLog.action == "phone.revealed")
    )
    await db.commit()
    return int(n or 0)


async def _lease(db: AsyncSession, org: uuid.UUID, target_id: str) -> uuid.UUID | None:
    await set_tenant(db, org)
    lease = await db.scalar(
        select(ActionTarget.lease_user_id).where(
            ActionTarget.organization_id == org, ActionTarget.id == uuid.UUID(target_id)
        )
    )
    await db.commit()
    return lease


# A volunteer does not see a draft at all (404, like any action they are not on); a paused, closed, ended or
# not yet started action is visible but refuses claims and phone reveals with 409 `action_not_running`.
NOT_RUNNING = [
    pytest.param({"status": "draft"}, 404, "target_not_found", "action_not_found", id="draft"),
    pytest.param({"status": "paused"}, 409, "action_not_running", "action_not_running", id="paused"),
    pytest.param({"status": "closed"}, 409, "action_not_running", "action_not_running", id="closed"),
    pytest.param(
        {"starts_at": _iso(timedelta(hours=-3)), "ends_at": _iso(timedelta(hours=-1))},
        409,
        "action_not_running",
        "action_not_running",
        id="ended",
    ),
    pytest.param(
        {"starts_at": _iso(timedelta(hours=2))}, 409, "action_not_running", "action_not_running", id="not_started"
    ),
]


@pytest.mark.parametrize(("change", "status", "start_code", "next_code"), NOT_RUNNING)
async def test_no_phone_number_is_revealed_and_nobody_claimed_on_an_action_that_is_not_running(
    live_client: AsyncClient,
    live_db: AsyncSession,
    cleanup: list[uuid.UUID],
    change: dict[str, str],
    status: int,
    start_code: str,
    next_code: str,
) -> None:
    bank = await make_bank(live_client, live_db, contacts=2, volunteers=1)
    cleanup.append(bank.manager.org.id)
    v, org = bank.volunteers[0], bank.manager.org.id
    tid = (await live_client.get(f"/api/v1/actions/{bank.action_id}/calls/mine", headers=v.headers)).json()["items"][0][
        "id"
    ]
    r = await live_client.patch(f"/api/v1/actions/{bank.action_id}", headers=bank.manager.headers, json=change)
    assert r.status_code == 200, r.text

    start = await live_client.post(f"/api/v1/calls/{tid}/start", headers=v.headers)
    assert (start.status_code, start.json()["error"]["code"]) == (status, start_code)
    nxt = await live_client.post(f"/api/v1/actions/{bank.action_id}/calls/next", headers=v.headers)
    assert (nxt.status_code, nxt.json()["error"]["code"]) == (status, next_code)
    # HQ sees drafts, but may not call on them either.
    hq = await live_client.post(f"/api/v1/calls/{tid}/start", headers=bank.manager.headers)
    assert (hq.status_code, hq.json()["error"]["code"]) == (409, "action_not_running")

    assert "phones" not in start.text + hq.text
    assert await _reveals(live_db, org) == 0
    assert await _lease(live_db, org, tid) is None


async def test_calls_go_ahead_within_the_dates_of_a_scheduled_action(
    live_client: AsyncClient, live_db: AsyncSession, cleanup: list[uuid.UUID]
) -> None:
    bank = await make_bank(live_client, live_db, contacts=2, volunteers=1)
    cleanup.append(bank.manager.org.id)
    v = bank.volunteers[0]
    r = await live_client.patch(
        f"/api/v1/actions/{bank.action_id}",
        headers=bank.manager.headers,
        json={"status": "scheduled", "starts_at": _iso(timedelta(hours=-1)), "ends_at": _iso(timedelta(hours=1))},
    )
    assert r.status_code == 200, r.text
    nxt = await live_client.post(f"/api/v1/actions/{bank.action_id}/calls/next", headers=v.headers)
    assert nxt.status_code == 200, nxt.text
    start = await live_client.post(f"/api/v1/calls/{nxt.json()['id']}/start", headers=v.headers)
    assert start.status_code == 200, start.text
    assert start.json()["contact"]["phones"]
    assert await _reveals(live_db, bank.manager.org.id) == 1


@dataclass
class TwoTeams:
    manager: Actor
    leader: Actor
    a1: Actor  # holds every target
    a2: Actor  # a1's team-mate
    b: Actor  # on the action through another team
    action_id: str
    targets: list[str]


async def _two_teams(client: AsyncClient, db: AsyncSession, cleanup: list[uuid.UUID]) -> TwoTeams:
    org = await make_org(db)
    cleanup.append(org.id)
    manager = await make_actor(db, org, "manager")
    leader = await make_actor(db, org, "team_leader")
    a1, a2, b = [await make_actor(db, org, "volunteer") for _ in range(3)]
    team_a = await make_team(db, org, [leader, a1, a2])
    team_b = await make_team(db, org, [b])
    rnd = random.Random(11)
    await insert_contacts(
        db, org.id, [(rnd.uniform(26.0, 26.1), rnd.uniform(44.4, 44.5)) for _ in range(4)], tags=["tt"]
    )
    await db.commit()
    r = await client.post(
        "/api/v1/actions",
        headers=manager.headers,
        json={
            "type": "call",
            "title": "Two teams",
            "filter": {"tags_any": ["tt"]},
            "team_ids": [str(team_a.id), str(team_b.id)],
            "allow_others": True,
            "status": "active",
            "assignment": {"strategy": "round_robin", "volunteer_ids": [str(a1.user_id)]},
        },
    )
    assert r.status_code == 201, r.text
    aid = r.json()["id"]
    mine = (await client.get(f"/api/v1/actions/{aid}/calls/mine", headers=a1.headers)).json()["items"]
    assert len(mine) == 4
    return TwoTeams(manager, leader, a1, a2, b, aid, [t["id"] for t in mine])


async def test_others_are_team_mates_on_the_action_not_volunteers_of_another_team(
    live_client: AsyncClient, live_db: AsyncSession, cleanup: list[uuid.UUID]
) -> None:
    w = await _two_teams(live_client, live_db, cleanup)
    org = w.manager.org.id
    others_b = await live_client.get(f"/api/v1/actions/{w.action_id}/calls/others", headers=w.b.headers)
    assert others_b.json()["items"] == []
    nxt_b = await live_client.post(f"/api/v1/actions/{w.action_id}/calls/next", headers=w.b.headers)
    assert (nxt_b.status_code, nxt_b.json()["error"]["code"]) == (404, "no_target_available")
    start_b = await live_client.post(f"/api/v1/calls/{w.targets[0]}/start", headers=w.b.headers)
    assert (start_b.status_code, start_b.json()["error"]["code"]) == (404, "target_not_found")
    report_b = await live_client.post(
        f"/api/v1/calls/{w.targets[0]}/report",
        headers=w.b.headers,
        json={"id": str(uuid.uuid4()), "outcome": "refused"},
    )
    assert report_b.status_code == 404
    assert await _reveals(live_db, org) == 0
    assert await _lease(live_db, org, w.targets[0]) is None

    others_a2 = await live_client.get(f"/api/v1/actions/{w.action_id}/calls/others", headers=w.a2.headers)
    assert sorted(t["id"] for t in others_a2.json()["items"]) == sorted(w.targets)
    nxt_a2 = await live_client.post(f"/api/v1/actions/{w.action_id}/calls/next", headers=w.a2.headers)
    assert nxt_a2.status_code == 200, nxt_a2.text
    assert nxt_a2.json()["id"] in w.targets
    start_a2 = await live_client.post(f"/api/v1/calls/{nxt_a2.json()['id']}/start", headers=w.a2.headers)
    assert start_a2.status_code == 200, start_a2.text
    assert await _lease(live_db, org, nxt_a2.json()["id"]) == w.a2.user_id


async def test_hq_may_open_an_action_to_every_volunteer_on_it_and_team_leaders_may_not(
    live_client: AsyncClient, live_db: AsyncSession, cleanup: list[uuid.UUID]
) -> None:
    w = await _two_teams(live_client, live_db, cleanup)
    url = f"/api/v1/actions/{w.action_id}"
    assert (await live_client.get(url, headers=w.manager.headers)).json()["open_to_all_volunteers"] is False
    by_leader = await live_client.patch(url, headers=w.leader.headers, json={"open_to_all_volunteers": True})
    assert by_leader.status_code == 403, by_leader.text
    by_hq = await live_client.patch(url, headers=w.manager.headers, json={"open_to_all_volunteers": True})
    assert by_hq.status_code == 200, by_hq.text
    assert by_hq.json()["open_to_all_volunteers"] is True

    others_b = await live_client.get(f"{url}/calls/others", headers=w.b.headers)
    assert sorted(t["id"] for t in others_b.json()["items"]) == sorted(w.targets)
    nxt_b = await live_client.post(f"{url}/calls/next", headers=w.b.headers)
    assert nxt_b.status_code == 200, nxt_b.text
    start_b = await live_client.post(f"/api/v1/calls/{nxt_b.json()['id']}/start", headers=w.b.headers)
    assert start_b.status_code == 200, start_b.text
    assert await _lease(live_db, w.manager.org.id, nxt_b.json()["id"]) == w.b.user_id
    assert await _reveals(live_db, w.manager.org.id) == 1


async def test_nobody_takes_team_mates_targets_when_the_action_is_not_open_to_others(
    live_client: AsyncClient, live_db: AsyncSession, cleanup: list[uuid.UUID]
) -> None:
    w = await _two_teams(live_client, live_db, cleanup)
    url = f"/api/v1/actions/{w.action_id}"
    r = await live_client.patch(
        url, headers=w.manager.headers, json={"allow_others": False, "open_to_all_volunteers": True}
    )
    assert r.status_code == 200, r.text
    for who in (w.a2, w.b):
        assert (await live_client.get(f"{url}/calls/others", headers=who.headers)).json()["items"] == []
        nxt = await live_client.post(f"{url}/calls/next", headers=who.headers)
        assert nxt.status_code == 404
        start = await live_client.post(f"/api/v1/calls/{w.targets[0]}/start", headers=who.headers)
        assert start.status_code == 404
    assert await _reveals(live_db, w.manager.org.id) == 0


async def test_others_lists_team_mates_first_then_one_members_list_and_nothing_for_another_team(
    live_client: AsyncClient, live_db: AsyncSession, cleanup: list[uuid.UUID], owner_engine: AsyncEngine
) -> None:
    w = await _two_teams(live_client, live_db, cleanup)
    url = f"/api/v1/actions/{w.action_id}"
    async with owner_engine.begin() as conn:  # b (another team) holds two of the four
        await conn.execute(
            text("UPDATE action_targets SET assignee_user_id = :b WHERE id = ANY(CAST(:ids AS uuid[]))"),
            {"b": w.b.user_id, "ids": w.targets[:2]},
        )
    members = (await live_client.get(f"{url}/calls/others/members", headers=w.a2.headers)).json()
    assert members["pool"] == 0
    assert [(m["user_id"], m["teammate"], m["open"]) for m in members["members"]] == [(str(w.a1.user_id), True, 2)]
    a1_list = await live_client.get(
        f"{url}/calls/others", headers=w.a2.headers, params={"member_id": str(w.a1.user_id)}
    )
    assert sorted(t["id"] for t in a1_list.json()["items"]) == sorted(w.targets[2:])
    b_list = await live_client.get(f"{url}/calls/others", headers=w.a2.headers, params={"member_id": str(w.b.user_id)})
    assert b_list.status_code == 200 and b_list.json()["items"] == []
    # b, of another team, gets nothing from a1's list.
    from_b = await live_client.get(f"{url}/calls/others", headers=w.b.headers, params={"member_id": str(w.a1.user_id)})
    assert from_b.json()["items"] == []
    assert (await live_client.get(f"{url}/calls/others/members", headers=w.b.headers)).json()["members"] == []

    assert (
        await live_client.patch(url, headers=w.manager.headers, json={"open_to_all_volunteers": True})
    ).status_code == 200
    members = (await live_client.get(f"{url}/calls/others/members", headers=w.a2.headers)).json()["members"]
    assert [(m["user_id"], m["teammate"]) for m in members] == [(str(w.a1.user_id), True), (str(w.b.user_id), False)]
    unknown = await live_client.get(
        f"{url}/calls/others", headers=w.a2.headers, params={"member_id": str(uuid.uuid4())}
    )
    assert unknown.status_code == 422 and unknown.json()["error"]["details"][0]["field"] == "member_id"

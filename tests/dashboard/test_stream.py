"""GET /stream over real HTTP against uvicorn: committed reports arrive within a second, to those who may see
them; a rolled-back report and another organization's work never do; Last-Event-ID resumes exactly."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import httpx
import pytest
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request

from app.core.db import get_session, set_tenant
from app.models import FieldReport
from tests.dashboard.conftest import Scene, SseReader, call, setup_scene
from tests.fixtures.factories import make_actor, make_org


async def _ticket(api: httpx.AsyncClient, headers: dict[str, str]) -> str:
    r = await api.post("/api/v1/stream/token", headers=headers)
    assert r.status_code == 200, r.text
    return str(r.json()["ticket"])


@pytest.fixture
async def api(api_server: str) -> Any:
    async with httpx.AsyncClient(base_url=api_server, timeout=30) as c:
        yield c


async def test_committed_report_reaches_viewers_within_a_second_and_only_those_who_may_see_it(
    api: httpx.AsyncClient, live_client: AsyncClient, live_db: AsyncSession
) -> None:
    s: Scene = await setup_scene(live_client, live_db)
    other_org = await make_org(live_db)
    other_manager = await make_actor(live_db, other_org, "manager")
    await live_db.commit()
    hq_url = f"/api/v1/stream?ticket={await _ticket(api, s.manager.headers)}"
    async with (
        SseReader(api, hq_url) as hq,
        SseReader(api, "/api/v1/stream", s.leader_a.headers) as leader,
        SseReader(api, "/api/v1/stream", s.outsider.headers) as outsider,
        SseReader(api, "/api/v1/stream", s.v3.headers) as v3,
        SseReader(api, "/api/v1/stream", other_manager.headers) as other,
    ):
        assert {r.status for r in (hq, leader, outsider, v3, other)} == {200}
        assert hq.first_status == {"live": True, "reason": None}
        # v1 (team A) reports: HQ and team A's leader see it, within a second of the commit.
        rep = await call(live_client, s, s.v1, "answered", mobilized=True)
        done = time.monotonic()  # the report's transaction committed before its response
        got = await hq.next()
        assert got.data["report_id"] == rep["id"] and got.data["outcome"] == "answered" and got.data["reached"]
        assert got.at - done < 1.0
        assert got.id is not None
        assert (await leader.next()).data["report_id"] == rep["id"]
        assert "phones" not in got.data and "comment" not in got.data
        # v3 (team B) reports: HQ and v3 see it; team A's leader does not.
        rep3 = await call(live_client, s, s.v3, "absent")
        assert (await hq.next()).data["report_id"] == rep3["id"]
        assert (await v3.next()).data["report_id"] == rep3["id"]
        # A report whose transaction rolls back publishes nothing (the real request session, handler fails).
        request = Request({"type": "http", "app": live_client._transport.app, "headers": []})  # type: ignore[attr-defined]
        gen: Any = get_session(request)
        session = await gen.__anext__()
        await set_tenant(session, s.org_id)
        ghost = uuid.uuid4()
        session.add(
            FieldReport(
                organization_id=s.org_id,
                id=ghost,
                kind="call",
                action_id=uuid.UUID(s.call_action),
                user_id=s.v1.user_id,
                outcome="answered",
                request_hash="x",
                response={},
            )
        )
        await session.flush()
        with pytest.raises(RuntimeError):
            await gen.athrow(RuntimeError("handler failed"))
        rep_after = await call(live_client, s, s.v1, "refused")
        seen = [e.data["report_id"] for e in await hq.drain(wait=1.0)]
        assert seen == [rep_after["id"]]  # the next committed report, and never the rolled-back one
        assert [e.data["report_id"] for e in await leader.drain(wait=0.2)] == [rep_after["id"]]
        assert [e.data["report_id"] for e in await v3.drain(wait=0.2)] == []
        assert await outsider.drain(wait=0.2) == []
        assert await other.drain(wait=0.2) == []


async def test_reconnect_with_last_event_id_gets_exactly_the_missed_events_it_may_see(
    api: httpx.AsyncClient, live_client: AsyncClient, live_db: AsyncSession
) -> None:
    s = await setup_scene(live_client, live_db)
    async with SseReader(api, "/api/v1/stream", s.leader_a.headers) as leader:
        first = await call(live_client, s, s.v1, "absent")
        e = await leader.next()
        assert e.data["report_id"] == first["id"]
        last_id = e.id
    assert last_id is not None
    missed_a = [await call(live_client, s, s.v2, "refused"), await call(live_client, s, s.v1, "absent")]
    await call(live_client, s, s.v3, "absent")  # team B: not the leader's
    async with SseReader(api, "/api/v1/stream", {**s.leader_a.headers, "Last-Event-ID": last_id}) as again:
        got = await again.drain(wait=1.0)
    assert [g.data["report_id"] for g in got] == [m["id"] for m in missed_a]
    # The same with a fresh EventSource: a new ticket and ?last_event_id= (it cannot set the header).
    url = f"/api/v1/stream?ticket={await _ticket(api, s.manager.headers)}&last_event_id={last_id}"
    async with SseReader(api, url) as hq:
        got = await hq.drain(wait=1.0)
    assert len(got) == 3 and [g.data["report_id"] for g in got][:2] == [m["id"] for m in missed_a]


async def test_stream_refuses_bad_credentials(
    api: httpx.AsyncClient, live_client: AsyncClient, live_db: AsyncSession
) -> None:
    s = await setup_scene(live_client, live_db)
    assert (await api.get("/api/v1/stream")).status_code == 401
    bad = await api.get("/api/v1/stream?ticket=abc.def")
    assert bad.status_code == 401 and bad.json()["error"]["code"] == "unauthorized"
    t = await _ticket(api, s.manager.headers)
    forged = t[:-2] + ("AA" if not t.endswith("AA") else "BB")
    assert (await api.get(f"/api/v1/stream?ticket={forged}")).status_code == 401
    plain = await api.get("/api/v1/stream", headers=s.manager.headers)  # no Accept: text/event-stream
    assert plain.status_code == 406 and plain.json()["error"]["code"] == "not_acceptable"
    sse = {**s.manager.headers, "Accept": "text/event-stream"}
    odd = await api.get("/api/v1/stream?last_event_id=nope", headers=sse)
    assert odd.status_code == 422 and odd.json()["error"]["details"][0]["field"] == "last_event_id"
    # Revoking the session ends its tickets.
    t = await _ticket(api, s.v1.headers)
    assert (await api.post("/api/v1/auth/logout", headers=s.v1.headers)).status_code in (200, 204)
    assert (await api.get(f"/api/v1/stream?ticket={t}")).status_code == 401


async def test_without_redis_the_stream_says_so_and_the_app_keeps_working(
    server_without_redis: str, live_client: AsyncClient, live_db: AsyncSession
) -> None:
    s = await setup_scene(live_client, live_db)
    async with httpx.AsyncClient(base_url=server_without_redis, timeout=30) as down:
        async with SseReader(down, "/api/v1/stream", s.manager.headers) as hq:
            assert hq.first_status == {"live": False, "reason": "redis_unavailable"}
        rep = await call(down, s, s.v1, "answered")
        assert rep["outcome"] == "answered"
        f = (await down.get("/api/v1/dashboard", headers=s.manager.headers)).json()
        assert f["calls_made"] == 1


async def test_a_volunteer_hears_of_a_task_assigned_to_them_and_of_nothing_else(
    api: httpx.AsyncClient, live_client: AsyncClient, live_db: AsyncSession
) -> None:
    s = await setup_scene(live_client, live_db)
    async with (
        SseReader(api, "/api/v1/stream", s.v2.headers) as v2,
        SseReader(api, "/api/v1/stream", s.v3.headers) as v3,
        SseReader(api, "/api/v1/stream", s.outsider.headers) as outsider,
    ):
        # A teammate's report (before the targets go to someone of no team: 'others' means team-mates only).
        await call(live_client, s, s.v1, "absent")  # not for a volunteer
        assigned = await live_client.post(
            f"/api/v1/actions/{s.call_action}/assign",
            headers=s.manager.headers,
            json={"strategy": "round_robin", "volunteer_ids": [str(s.outsider.user_id)]},
        )
        assert assigned.status_code == 200, assigned.text
        got = await outsider.next("assigned")
        assert got.data["action_id"] == s.call_action
        assert await v3.drain("assigned", wait=0.2) == []
        task = await live_client.post(
            "/api/v1/opportunities",
            headers=s.manager.headers,
            json={"type_id": s.opp_type_id, "note": "Call back Mrs. Pop", "assignee_user_id": str(s.v2.user_id)},
        )
        assert task.status_code == 201, task.text
        got = await v2.next("opportunity")
        assert got.data["opportunity_id"] == task.json()["id"]
        assert got.data["assignee_user_id"] == str(s.v2.user_id) and "note" not in got.data
        assert await v2.drain("report", wait=0.5) == []
        assert await v3.drain("opportunity", wait=0.2) == []


async def test_an_idle_stream_sends_heartbeats(
    api: httpx.AsyncClient, live_client: AsyncClient, live_db: AsyncSession
) -> None:
    s = await setup_scene(live_client, live_db)
    async with SseReader(api, "/api/v1/stream?heartbeat=1", s.manager.headers) as hq:
        await asyncio.sleep(2.5)
        assert hq.comments >= 2


async def test_a_savepoint_rolled_back_inside_a_committed_request_publishes_nothing_of_its_own(
    api: httpx.AsyncClient, live_client: AsyncClient, live_db: AsyncSession
) -> None:
    s = await setup_scene(live_client, live_db)

    def report() -> FieldReport:
        return FieldReport(
            organization_id=s.org_id,
            id=uuid.uuid4(),
            kind="call",
            action_id=uuid.UUID(s.call_action),
            user_id=s.v1.user_id,
            outcome="other",
            request_hash="x",
            response={},
        )

    async with SseReader(api, "/api/v1/stream", s.manager.headers) as hq:
        request = Request({"type": "http", "app": live_client._transport.app, "headers": []})  # type: ignore[attr-defined]
        gen: Any = get_session(request)
        session = await gen.__anext__()
        await set_tenant(session, s.org_id)
        undone, kept = report(), report()
        nested = await session.begin_nested()
        session.add(undone)
        await session.flush()
        await nested.rollback()
        session.add(kept)
        await session.flush()
        with pytest.raises(StopAsyncIteration):
            await gen.__anext__()  # the handler returned: commit, then the after-commit hooks
        got = await hq.drain(wait=1.0)
    assert [g.data["report_id"] for g in got] == [str(kept.id)]

"""The stream's other events: an import's progress reaches HQ as the worker commits it (and nobody else), and a
volunteer hears of the work assigned to them and of nothing from another team or organization."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

import httpx
import pytest
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from tests.dashboard.conftest import Sse, SseReader, setup_scene
from tests.fixtures.factories import make_actor, make_org

pytestmark = pytest.mark.usefixtures("arq_worker")

CSV = "first_name,last_name,mobile\n" + "".join(f"Ana{i},Pop,07221234{i:02d}\n" for i in range(30))


async def everything(reader: SseReader, wait: float = 1.0) -> list[Sse]:
    """Every event but the status ones received within `wait` seconds, in order."""
    out: list[Sse] = []
    with contextlib.suppress(TimeoutError):
        while True:
            e = await asyncio.wait_for(reader.events.get(), wait)
            if e.event != "status":
                out.append(e)
    return out


@pytest.fixture
async def api(api_server: str) -> Any:
    async with httpx.AsyncClient(base_url=api_server, timeout=30) as c:
        yield c


async def _import(client: AsyncClient, headers: dict[str, str]) -> str:
    r = await client.post(
        "/api/v1/imports",
        headers=headers,
        files={"file": ("people.csv", CSV.encode(), "text/csv")},
        data={"mapping": json.dumps({"first_name": "first_name", "last_name": "last_name", "mobile": "mobile"})},
    )
    assert r.status_code == 202, r.text
    return str(r.json()["id"])


async def test_import_progress_reaches_hq_as_it_is_committed_and_no_one_else(
    api: httpx.AsyncClient, live_client: AsyncClient, live_db: AsyncSession
) -> None:
    s = await setup_scene(live_client, live_db)
    other_org = await make_org(live_db)
    other_manager = await make_actor(live_db, other_org, "manager")
    await live_db.commit()
    async with (
        SseReader(api, "/api/v1/stream", s.manager.headers) as hq,
        SseReader(api, "/api/v1/stream", s.v1.headers) as volunteer,
        SseReader(api, "/api/v1/stream", other_manager.headers) as other,
    ):
        iid = await _import(live_client, s.manager.headers)
        seen: list[dict[str, Any]] = []
        while not seen or seen[-1]["status"] not in ("done", "failed"):
            seen.append((await hq.next("import", wait=20)).data)
        assert {e["import_id"] for e in seen} == {iid}
        assert seen[0]["status"] == "running" and seen[-1]["status"] == "done"
        assert seen[-1]["rows_done"] == seen[-1]["rows_total"] == 30
        assert [e["phase"] for e in seen][:1] == ["reading"]
        assert "first_name" not in json.dumps(seen)  # counts only, never the file's contents
        # What the stream said is what the API says.
        body = (await live_client.get(f"/api/v1/imports/{iid}", headers=s.manager.headers)).json()
        assert (body["status"], body["rows_done"]) == ("done", 30)
        assert await volunteer.drain("import", wait=0.3) == []
        assert await other.drain("import", wait=0.2) == []


async def test_a_volunteers_stream_carries_their_assignment_and_nothing_of_another_organization(
    api: httpx.AsyncClient, live_client: AsyncClient, live_db: AsyncSession
) -> None:
    s = await setup_scene(live_client, live_db)
    # Another organization, with the same shape of work: its assignments must never reach our volunteers.
    t = await setup_scene(live_client, live_db)
    async with (
        SseReader(api, "/api/v1/stream", s.outsider.headers) as ours,
        SseReader(api, "/api/v1/stream", t.outsider.headers) as theirs,
    ):
        for scene in (t, s):
            r = await live_client.post(
                f"/api/v1/actions/{scene.call_action}/assign",
                headers=scene.manager.headers,
                json={"strategy": "round_robin", "volunteer_ids": [str(scene.outsider.user_id)]},
            )
            assert r.status_code == 200, r.text
        task = await live_client.post(
            "/api/v1/opportunities",
            headers=t.manager.headers,
            json={"type_id": t.opp_type_id, "note": "Other org task", "assignee_user_id": str(t.outsider.user_id)},
        )
        assert task.status_code == 201, task.text
        ours_got, theirs_got = await everything(ours), await everything(theirs)
    assert [(e.event, e.data["action_id"]) for e in ours_got] == [("assigned", s.call_action)]
    assert {e.data["organization_id"] for e in ours_got} == {str(s.org_id)}
    assert [e.data["action_id"] for e in theirs_got if e.event == "assigned"] == [t.call_action]
    assert [e.data["opportunity_id"] for e in theirs_got if e.event == "opportunity"] == [task.json()["id"]]

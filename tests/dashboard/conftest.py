"""A scripted day of field work: two teams, a phone bank and a door-to-door action, reports through the real API."""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import ROOT
from app.core.embedded import free_port
from tests.fixtures.contacts import insert_contacts
from tests.fixtures.factories import Actor, make_actor, make_org, make_team
from tests.fixtures.uvicorn import serve_app

ARTIFACTS = ROOT / "test-artifacts" / "dashboard"
SURVEY = {
    "title": "Pensions",
    "questions": [
        {
            "id": "worried",
            "kind": "yes_no",
            "label": "Worried about pensions?",
            "required": True,
            "skip_logic": [{"equals": False, "goto_question_id": None}],
        },
        {
            "id": "topic",
            "kind": "single_choice",
            "label": "Main topic",
            "required": True,
            "options": [{"value": "pensions", "label": "Pensions"}, {"value": "health", "label": "Health"}],
        },
        {"id": "score", "kind": "scale", "label": "How much?", "min": 1, "max": 5},
    ],
}


@dataclass
class Scene:
    org_id: uuid.UUID
    manager: Actor
    leader_a: Actor
    v1: Actor
    v2: Actor
    v3: Actor
    outsider: Actor  # a volunteer in no team
    team_a: uuid.UUID
    team_b: uuid.UUID
    call_action: str
    door_action: str
    opp_type_id: str
    contact_ids: list[uuid.UUID]
    reached_contacts: dict[str, uuid.UUID] = field(default_factory=dict)


async def setup_scene(client: AsyncClient, db: AsyncSession) -> Scene:
    org = await make_org(db)
    manager = await make_actor(db, org, "manager")
    leader_a = await make_actor(db, org, "team_leader")
    v1, v2, v3 = [await make_actor(db, org, "volunteer") for _ in range(3)]
    outsider = await make_actor(db, org, "volunteer")
    team_a = await make_team(db, org, [leader_a, v1, v2], name="Team A")
    team_b = await make_team(db, org, [v3], name="Team B")
    rnd = random.Random(3)
    ids = await insert_contacts(
        db, org.id, [(rnd.uniform(26.0, 26.1), rnd.uniform(44.4, 44.5)) for _ in range(12)], tags=["bank"]
    )
    await db.commit()
    h = manager.headers
    survey = await client.post("/api/v1/surveys", headers=h, json=SURVEY)
    assert survey.status_code == 201, survey.text
    opp = await client.post("/api/v1/opportunity-types", headers=h, json={"name": "Wants to volunteer"})
    assert opp.status_code == 201, opp.text
    call = await client.post(
        "/api/v1/actions",
        headers=h,
        json={
            "type": "call",
            "title": "Phone bank",
            "filter": {"tags_any": ["bank"]},
            "survey_id": survey.json()["id"],
            "team_ids": [str(team_a.id), str(team_b.id)],
            "status": "active",
            "assignment": {"strategy": "round_robin", "volunteer_ids": [str(v.user_id) for v in (v1, v2, v3)]},
        },
    )
    assert call.status_code == 201, call.text
    door = await client.post(
        "/api/v1/actions",
        headers=h,
        json={
            "type": "door_to_door",
            "title": "Doors",
            "filter": {"tags_any": ["nobody-has-this"]},
            "team_ids": [str(team_a.id)],
            "status": "active",
        },
    )
    assert door.status_code == 201, door.text
    return Scene(
        org.id,
        manager,
        leader_a,
        v1,
        v2,
        v3,
        outsider,
        team_a.id,
        team_b.id,
        call.json()["id"],
        door.json()["id"],
        opp.json()["id"],
        ids,
    )


async def call(client: AsyncClient, scene: Scene, who: Actor, outcome: str, **body: Any) -> dict[str, Any]:
    nxt = await client.post(f"/api/v1/actions/{scene.call_action}/calls/next", headers=who.headers)
    assert nxt.status_code == 200, nxt.text
    tid = nxt.json()["id"]
    start = await client.post(f"/api/v1/calls/{tid}/start", headers=who.headers)
    assert start.status_code == 200, start.text
    rep = await client.post(
        f"/api/v1/calls/{tid}/report", headers=who.headers, json={"id": str(uuid.uuid4()), "outcome": outcome, **body}
    )
    assert rep.status_code == 200, rep.text
    return dict(rep.json())


async def script(client: AsyncClient, db: AsyncSession, scene: Scene) -> None:
    """7 calls and 1 visit. Team A (v1, v2): 4 calls + the visit; team B (v3): 3 calls."""
    s = scene
    r = await call(
        client,
        s,
        s.v1,
        "answered",
        consent_given=True,
        mobilized=True,
        survey_answers=[
            {"question_id": "worried", "value": True},
            {"question_id": "topic", "value": "pensions"},
            {"question_id": "score", "value": 4},
        ],
        contact_updates={"support_level": 1, "consents": {"sms": "granted"}},
        opportunities=[{"type_id": s.opp_type_id, "note": "Can help Saturday"}],
    )
    s.reached_contacts["v1"] = uuid.UUID(r["contact_id"])
    await call(client, s, s.v1, "absent")
    r = await call(
        client,
        s,
        s.v2,
        "answered",
        consent_given=True,
        survey_answers=[{"question_id": "worried", "value": False}],
        contact_updates={"support_level": 3},
    )
    s.reached_contacts["v2"] = uuid.UUID(r["contact_id"])
    await call(client, s, s.v2, "refused")
    r = await call(client, s, s.v3, "answered", contact_updates={"support_level": 5})
    s.reached_contacts["v3"] = uuid.UUID(r["contact_id"])
    await call(client, s, s.v3, "absent")
    await call(client, s, s.v3, "wrong_number")
    visit = await client.post(
        f"/api/v1/actions/{s.door_action}/visits",
        headers=s.v1.headers,
        json={
            "id": str(uuid.uuid4()),
            "outcome": "opened",
            "new_contact": {"first_name": "Ioana", "consent_data_processing": True, "support_level": 2},
        },
    )
    assert visit.status_code == 200, visit.text
    s.reached_contacts["visit"] = uuid.UUID(visit.json()["contact_id"])
    # v3's person turns out to be a donor (HQ knows it from elsewhere).
    await db.execute(
        text("UPDATE contacts SET is_donor = true WHERE organization_id = :o AND id = :c"),
        {"o": s.org_id, "c": s.reached_contacts["v3"]},
    )
    await db.commit()


def _serve(env_extra: dict[str, str], ready_path: str) -> Iterator[str]:
    port_log = ARTIFACTS / f"server-{'no-redis' if env_extra else 'api'}.log"
    yield from serve_app(env_extra, ready_path=ready_path, log_path=port_log)


@pytest.fixture(scope="session")
def api_server(services: object) -> Iterator[str]:
    """The real app under uvicorn (another process than the test's in-process app: events cross Redis)."""
    yield from _serve({}, "/readyz")


@pytest.fixture(scope="session")
def server_without_redis(services: object) -> Iterator[str]:
    """The same app with Redis unreachable (a closed port)."""
    yield from _serve({"REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"}, "/healthz")


@dataclass
class Sse:
    id: str | None
    event: str
    data: dict[str, Any]
    at: float


class SseReader:
    """Reads a text/event-stream over real HTTP into a queue of events."""

    def __init__(self, client: httpx.AsyncClient, url: str, headers: dict[str, str] | None = None) -> None:
        self.client, self.url = client, url
        self.headers = {"Accept": "text/event-stream", **(headers or {})}
        self.events: asyncio.Queue[Sse] = asyncio.Queue()
        self.status: int | None = None
        self.first_status: dict[str, Any] = {}
        self.comments = 0
        self._task: asyncio.Task[None] | None = None
        self._opened = asyncio.Event()

    async def __aenter__(self) -> SseReader:
        self._task = asyncio.create_task(self._run())
        await asyncio.wait_for(self._opened.wait(), 10)
        if self.status == 200:  # the server's first event says whether the stream is live: from then on, it is fed
            self.first_status = (await self.next("status", 10)).data
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._task

    async def _run(self) -> None:
        async with self.client.stream("GET", self.url, headers=self.headers, timeout=None) as resp:
            self.status = resp.status_code
            self._opened.set()
            if resp.status_code != 200:
                return
            ev: dict[str, str] = {}
            async for line in resp.aiter_lines():
                if line == "":
                    if "data" in ev:
                        self.events.put_nowait(
                            Sse(ev.get("id"), ev.get("event", "message"), json.loads(ev["data"]), time.monotonic())
                        )
                    ev = {}
                elif line.startswith(":"):
                    self.comments += 1
                else:
                    k, _, v = line.partition(":")
                    ev[k] = v[1:] if v.startswith(" ") else v

    async def next(self, kind: str = "report", wait: float = 5) -> Sse:
        deadline = time.monotonic() + wait
        while True:
            e = await asyncio.wait_for(self.events.get(), max(deadline - time.monotonic(), 0.01))
            if e.event == kind:
                return e

    async def drain(self, kind: str = "report", wait: float = 1.0) -> list[Sse]:
        """Every `kind` event received within `wait` seconds."""
        out: list[Sse] = []
        with contextlib.suppress(TimeoutError):
            while True:
                out.append(await self.next(kind, wait))
        return out

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Organization
from tests.fixtures.contacts import insert_contacts
from tests.fixtures.factories import Actor, make_actor, make_org, make_team


@dataclass
class Bank:
    manager: Actor
    volunteers: list[Actor]
    action_id: str
    survey_id: str
    opp_type_id: str
    contact_ids: list[uuid.UUID]


async def make_bank(
    client: AsyncClient,
    db: AsyncSession,
    *,
    contacts: int = 20,
    volunteers: int = 2,
    assign: bool = True,
    allow_others: bool = True,
) -> Bank:
    org = await make_org(db)
    manager = await make_actor(db, org, "manager")
    vols = [await make_actor(db, org, "volunteer") for _ in range(volunteers)]
    team = await make_team(db, org, vols)
    rnd = random.Random(7)
    ids = await insert_contacts(
        db, org.id, [(rnd.uniform(26.0, 26.1), rnd.uniform(44.4, 44.5)) for _ in range(contacts)], tags=["bank"]
    )
    await db.commit()
    h = manager.headers
    survey = await client.post(
        "/api/v1/surveys",
        headers=h,
        json={
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
        },
    )
    assert survey.status_code == 201, survey.text
    opp = await client.post("/api/v1/opportunity-types", headers=h, json={"name": "Wants to volunteer"})
    assert opp.status_code == 201, opp.text
    body: dict[str, object] = {
        "type": "call",
        "title": "Bank",
        "filter": {"tags_any": ["bank"]},
        "survey_id": survey.json()["id"],
        "team_ids": [str(team.id)],
        "reached_tag": "reached",
        "allow_others": allow_others,
        "status": "active",
    }
    if assign:
        body["assignment"] = {"strategy": "round_robin", "volunteer_ids": [str(v.user_id) for v in vols]}
    a = await client.post("/api/v1/actions", headers=h, json=body)
    assert a.status_code == 201, a.text
    return Bank(manager, vols, a.json()["id"], survey.json()["id"], opp.json()["id"], ids)


@pytest.fixture
async def bank(live_client: AsyncClient, live_db: AsyncSession) -> Bank:
    return await make_bank(live_client, live_db)


@dataclass
class Walk:
    """A door-to-door action walked by one volunteer, and the first door of its walk list."""

    org: Organization
    volunteer: Actor
    action_id: str
    url: str  # the walk list
    building: dict[str, Any]  # its first building
    door: dict[str, Any]  # that building's first door

    @property
    def visits(self) -> str:
        return f"/api/v1/actions/{self.action_id}/visits"


async def make_walk(client: AsyncClient, db: AsyncSession, doors: list[tuple[float, float]]) -> Walk:
    """A door-to-door action of a door at each (lon, lat) of `doors`, in one turf of its one volunteer."""
    org = await make_org(db)
    manager = await make_actor(db, org, "manager")
    vol = await make_actor(db, org, "volunteer")
    team = await make_team(db, org, [vol])
    await insert_contacts(db, org.id, doors, tags=["door"])
    await db.commit()
    a = await client.post(
        "/api/v1/actions",
        headers=manager.headers,
        json={
            "type": "door_to_door",
            "title": "Knock",
            "filter": {"tags_any": ["door"]},
            "team_ids": [str(team.id)],
            "assignment": {"strategy": "geographic", "doors_per_turf": 5, "volunteer_ids": [str(vol.user_id)]},
        },
    )
    assert a.status_code == 201, a.text
    aid = a.json()["id"]
    url = f"/api/v1/actions/{aid}/walklist"
    building = (await client.get(url, headers=vol.headers)).json()["streets"][0]["buildings"][0]
    return Walk(org, vol, aid, url, building, building["households"][0])

"""Issue 13.1: an id in a body names an object of the caller's organization that the caller may see, or the
request is a 422 naming the field, and nothing is stored."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import set_tenant
from app.models import ContactEvent, FieldReport, Opportunity
from tests.calling.conftest import Bank, make_bank
from tests.fixtures.factories import Actor, make_actor, make_org, make_team


async def _count(db: AsyncSession, org: uuid.UUID, model: Any) -> int:
    await set_tenant(db, org)
    return int(await db.scalar(select(func.count()).select_from(model).where(model.organization_id == org)) or 0)


@pytest.fixture
async def bank(client: AsyncClient, db: AsyncSession) -> Bank:
    return await make_bank(client, db, contacts=4)


@pytest.fixture
async def foreign(client: AsyncClient, db: AsyncSession) -> dict[str, str]:
    """Another organization with a member, a team and an action."""
    org = await make_org(db)
    mgr = await make_actor(db, org, "manager")
    team = await make_team(db, org, [mgr])
    await db.commit()
    a = await client.post("/api/v1/actions", headers=mgr.headers, json={"type": "call", "title": "Theirs"})
    assert a.status_code == 201, a.text
    return {"user": str(mgr.user_id), "team": str(team.id), "action": a.json()["id"]}


def _nobody() -> str:
    return str(uuid.uuid4())


@pytest.mark.parametrize("whose", ["foreign", "random"])
async def test_opportunity_with_an_action_of_another_org_is_422_and_not_stored(
    client: AsyncClient, db: AsyncSession, bank: Bank, foreign: dict[str, str], whose: str
) -> None:
    action_id = foreign["action"] if whose == "foreign" else _nobody()
    org = bank.manager.org.id
    before = await _count(db, org, Opportunity)
    r = await client.post(
        "/api/v1/opportunities",
        headers=bank.manager.headers,
        json={"type_id": bank.opp_type_id, "action_id": action_id, "note": "x"},
    )
    assert r.status_code == 422, r.text
    assert [d["field"] for d in r.json()["error"]["details"]] == ["action_id"]
    assert await _count(db, org, Opportunity) == before


async def test_opportunity_names_every_bad_field_at_once(
    client: AsyncClient, db: AsyncSession, bank: Bank, foreign: dict[str, str]
) -> None:
    r = await client.post(
        "/api/v1/opportunities",
        headers=bank.manager.headers,
        json={
            "type_id": _nobody(),
            "action_id": foreign["action"],
            "assignee_user_id": foreign["user"],
            "assignee_team_id": foreign["team"],
            "contact_id": _nobody(),
        },
    )
    assert r.status_code == 422, r.text
    fields = sorted(d["field"] for d in r.json()["error"]["details"])
    assert fields == ["action_id", "assignee_team_id", "assignee_user_id", "contact_id", "type_id"]


async def test_opportunity_with_own_references_is_created(client: AsyncClient, db: AsyncSession, bank: Bank) -> None:
    r = await client.post(
        "/api/v1/opportunities",
        headers=bank.manager.headers,
        json={
            "type_id": bank.opp_type_id,
            "action_id": bank.action_id,
            "assignee_user_id": str(bank.volunteers[0].user_id),
            "contact_id": str(bank.contact_ids[0]),
        },
    )
    assert r.status_code == 201, r.text
    await set_tenant(db, bank.manager.org.id)
    row = await db.scalar(select(Opportunity).where(Opportunity.id == uuid.UUID(r.json()["id"])))
    assert row is not None
    assert (str(row.action_id), row.assignee_user_id) == (bank.action_id, bank.volunteers[0].user_id)


async def test_volunteer_cannot_name_an_action_they_are_not_on(
    client: AsyncClient, db: AsyncSession, bank: Bank
) -> None:
    """Visibility, not just the organization: a volunteer of the same organization, not on the action."""
    outsider = await make_actor(db, bank.manager.org, "volunteer")
    await db.commit()
    r = await client.post(
        "/api/v1/opportunities",
        headers=outsider.headers,
        json={"type_id": bank.opp_type_id, "action_id": bank.action_id},
    )
    assert r.status_code == 422, r.text
    assert r.json()["error"]["details"][0]["field"] == "action_id"


async def _claim(client: AsyncClient, bank: Bank, v: Actor) -> str:
    nxt = await client.post(f"/api/v1/actions/{bank.action_id}/calls/next", headers=v.headers)
    assert nxt.status_code == 200, nxt.text
    tid = str(nxt.json()["id"])
    assert (await client.post(f"/api/v1/calls/{tid}/start", headers=v.headers)).status_code == 200
    return tid


@pytest.mark.parametrize(("field", "whose"), [(f, w) for f in ("user", "team") for w in ("foreign", "random")])
async def test_report_raising_an_opportunity_for_a_foreign_assignee_is_422_and_stores_nothing(
    client: AsyncClient, db: AsyncSession, bank: Bank, foreign: dict[str, str], field: str, whose: str
) -> None:
    v = bank.volunteers[0]
    tid = await _claim(client, bank, v)
    org = bank.manager.org.id
    before = (await _count(db, org, Opportunity), await _count(db, org, ContactEvent))
    ok = {"type_id": bank.opp_type_id, "note": "fine"}
    bad = {"type_id": bank.opp_type_id, f"assignee_{field}_id": foreign[field] if whose == "foreign" else _nobody()}
    rid = str(uuid.uuid4())
    r = await client.post(
        f"/api/v1/calls/{tid}/report",
        headers=v.headers,
        json={"id": rid, "outcome": "answered", "opportunities": [ok, bad]},
    )
    assert r.status_code == 422, r.text
    assert [d["field"] for d in r.json()["error"]["details"]] == [f"opportunities.1.assignee_{field}_id"]
    await set_tenant(db, org)
    assert await db.scalar(select(FieldReport.id).where(FieldReport.id == uuid.UUID(rid))) is None
    assert (await _count(db, org, Opportunity), await _count(db, org, ContactEvent)) == before


async def test_report_details_check_opportunity_references_too(
    client: AsyncClient, db: AsyncSession, bank: Bank, foreign: dict[str, str]
) -> None:
    v = bank.volunteers[0]
    tid = await _claim(client, bank, v)
    rid = str(uuid.uuid4())
    r = await client.post(f"/api/v1/calls/{tid}/report", headers=v.headers, json={"id": rid, "outcome": "answered"})
    assert r.status_code == 200, r.text
    org = bank.manager.org.id
    before = await _count(db, org, Opportunity)
    d = await client.post(
        f"/api/v1/reports/{rid}/details",
        headers=v.headers,
        json={"opportunities": [{"type_id": bank.opp_type_id, "assignee_user_id": foreign["user"]}]},
    )
    assert d.status_code == 422, d.text
    assert d.json()["error"]["details"][0]["field"] == "opportunities.0.assignee_user_id"
    assert await _count(db, org, Opportunity) == before

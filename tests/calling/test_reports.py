"""Reports: exactly once however often and however concurrently the same one arrives, and a target the caller
may not call is a 404 exactly like a random id."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from httpx import AsyncClient, Response
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import set_tenant
from app.models import (
    ActionCounter,
    ActionTarget,
    ConsentLog,
    Contact,
    ContactEvent,
    FieldReport,
    Opportunity,
    SurveyAnswer,
)
from tests.calling.conftest import Bank, make_bank, make_walk
from tests.calling.test_calling import _answered
from tests.fixtures.factories import make_actor

AT_ONCE = 6


async def _count(db: AsyncSession, model: Any, org: uuid.UUID, *where: Any) -> int:
    n = await db.scalar(select(func.count()).select_from(model).where(model.organization_id == org, *where))
    return int(n or 0)


async def _counters(db: AsyncSession, org: uuid.UUID) -> dict[str, int]:
    rows = await db.execute(
        select(ActionCounter.key, func.sum(ActionCounter.value))
        .where(ActionCounter.organization_id == org)
        .group_by(ActionCounter.key)
    )
    return {k: int(v) for k, v in rows.all()}


def _all_the_first(responses: list[Response]) -> None:
    assert [r.status_code for r in responses] == [200] * len(responses), [r.text for r in responses]
    assert all(r.json() == responses[0].json() for r in responses)


async def _started(client: AsyncClient, bank: Bank) -> str:
    v = bank.volunteers[0]
    tid = (await client.post(f"/api/v1/actions/{bank.action_id}/calls/next", headers=v.headers)).json()["id"]
    assert (await client.post(f"/api/v1/calls/{tid}/start", headers=v.headers)).status_code == 200
    return str(tid)


async def test_identical_reports_sent_at_once_are_stored_once_and_all_get_the_first_response(
    live_client: AsyncClient, live_db: AsyncSession, cleanup: list[uuid.UUID]
) -> None:
    bank = await make_bank(live_client, live_db, contacts=2)
    org = bank.manager.org.id
    cleanup.append(org)
    tid = await _started(live_client, bank)
    body = _answered(bank)
    url, headers = f"/api/v1/calls/{tid}/report", bank.volunteers[0].headers
    _all_the_first(await asyncio.gather(*(live_client.post(url, headers=headers, json=body) for _ in range(AT_ONCE))))
    _all_the_first([*(await asyncio.gather(*(live_client.post(url, headers=headers, json=body) for _ in range(2))))])

    await set_tenant(live_db, org)
    rid = uuid.UUID(str(body["id"]))
    assert await _count(live_db, FieldReport, org) == 1
    assert await _count(live_db, SurveyAnswer, org, SurveyAnswer.report_id == rid) == 3
    assert await _count(live_db, Opportunity, org) == 1
    assert await _count(live_db, ContactEvent, org, ContactEvent.kind == "call") == 1
    counters = await _counters(live_db, org)
    assert (counters["calls"], counters["reached"], counters["mobilized"]) == (1, 1, 1)
    target = await live_db.scalar(
        select(ActionTarget).where(ActionTarget.organization_id == org, ActionTarget.id == uuid.UUID(tid))
    )
    assert target is not None
    assert (target.status, target.attempts, target.lease_user_id) == ("done", 1, None)


async def test_identical_details_sent_at_once_are_applied_once(
    live_client: AsyncClient, live_db: AsyncSession, cleanup: list[uuid.UUID]
) -> None:
    bank = await make_bank(live_client, live_db, contacts=2)
    org = bank.manager.org.id
    cleanup.append(org)
    tid = await _started(live_client, bank)
    v, rid = bank.volunteers[0], str(uuid.uuid4())
    first = await live_client.post(
        f"/api/v1/calls/{tid}/report", headers=v.headers, json={"id": rid, "outcome": "answered"}
    )
    assert first.status_code == 200, first.text
    full = _answered(bank)
    details = {k: full[k] for k in ("consent_given", "survey_answers", "comment", "mobilized", "opportunities")}
    url = f"/api/v1/reports/{rid}/details"
    _all_the_first(
        await asyncio.gather(*(live_client.post(url, headers=v.headers, json=details) for _ in range(AT_ONCE)))
    )

    await set_tenant(live_db, org)
    assert await _count(live_db, Opportunity, org) == 1
    assert await _count(live_db, SurveyAnswer, org) == 3
    assert (await _counters(live_db, org))["mobilized"] == 1


async def test_identical_visits_meeting_a_new_person_sent_at_once_create_one_contact(
    live_client: AsyncClient, live_db: AsyncSession, cleanup: list[uuid.UUID]
) -> None:
    w = await make_walk(live_client, live_db, [(26.05, 44.45), (26.06, 44.46)])
    org, vol, target = w.org, w.volunteer, w.door["target_id"]
    cleanup.append(org.id)
    body = {
        "id": str(uuid.uuid4()),
        "target_id": target,
        "outcome": "opened",
        "consent_given": True,
        "new_contact": {
            "first_name": "Irina",
            "last_name": "Concurrent",
            "mobile": "0744 555 667",
            "consent_data_processing": True,
            "consents": {"sms": "granted"},
        },
    }
    url = w.visits
    _all_the_first(
        await asyncio.gather(*(live_client.post(url, headers=vol.headers, json=body) for _ in range(AT_ONCE)))
    )

    await set_tenant(live_db, org.id)
    assert await _count(live_db, FieldReport, org.id) == 1
    met = (
        await live_db.scalars(
            select(Contact.id).where(Contact.organization_id == org.id, Contact.last_name == "Concurrent")
        )
    ).all()
    assert len(met) == 1
    assert await _count(live_db, ConsentLog, org.id, ConsentLog.contact_id == met[0]) == 2
    door = await live_db.scalar(
        select(ActionTarget).where(ActionTarget.organization_id == org.id, ActionTarget.id == uuid.UUID(target))
    )
    assert door is not None and (door.status, door.attempts) == ("done", 1)
    assert (await _counters(live_db, org.id))["visits"] == 1


async def test_a_target_or_report_one_may_not_touch_is_a_404_exactly_like_a_random_id(
    live_client: AsyncClient, live_db: AsyncSession, cleanup: list[uuid.UUID]
) -> None:
    bank = await make_bank(live_client, live_db, contacts=2)
    org = bank.manager.org.id
    cleanup.append(org)
    outsider = await make_actor(live_db, bank.manager.org, "volunteer")  # in the organization, not on the action
    await live_db.commit()
    tid = await _started(live_client, bank)
    v = bank.volunteers[0]
    report = {"id": str(uuid.uuid4()), "outcome": "refused"}

    theirs = await live_client.post(f"/api/v1/calls/{tid}/report", headers=outsider.headers, json=report)
    random_id = await live_client.post(f"/api/v1/calls/{uuid.uuid4()}/report", headers=outsider.headers, json=report)
    assert theirs.status_code == random_id.status_code == 404
    assert theirs.json() == random_id.json()

    visit = {"id": str(uuid.uuid4()), "target_id": tid, "outcome": "opened"}
    on_theirs = await live_client.post(f"/api/v1/actions/{bank.action_id}/visits", headers=outsider.headers, json=visit)
    on_random = await live_client.post(f"/api/v1/actions/{uuid.uuid4()}/visits", headers=outsider.headers, json=visit)
    assert on_theirs.status_code == on_random.status_code == 404
    assert on_theirs.json() == on_random.json()

    done = await live_client.post(f"/api/v1/calls/{tid}/report", headers=v.headers, json=report)
    assert done.status_code == 200, done.text
    details = {"comment": "Mine"}
    their_report = await live_client.post(
        f"/api/v1/reports/{report['id']}/details", headers=outsider.headers, json=details
    )
    random_report = await live_client.post(
        f"/api/v1/reports/{uuid.uuid4()}/details", headers=outsider.headers, json=details
    )
    assert their_report.status_code == random_report.status_code == 404
    assert their_report.json() == random_report.json()

    await set_tenant(live_db, org)
    assert await _count(live_db, FieldReport, org) == 1
    stored = await live_db.scalar(select(FieldReport).where(FieldReport.organization_id == org))
    assert stored is not None and (stored.user_id, stored.comment) == (v.user_id, None)

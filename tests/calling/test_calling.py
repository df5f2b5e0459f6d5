from __future__ import annotations

import asyncio
import json
import re
import uuid
from datetime import UTC, datetime, timedelta

from httpx import AsyncClient
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import set_tenant
from app.models import (
    ActionCounter,
    ActionTarget,
    AuditLog,
    Contact,
    ContactEvent,
    FieldReport,
    Opportunity,
    SurveyAnswer,
)
from tests.calling.conftest import Bank, make_bank

PHONE = re.compile(r"\+40\d{9}")


def _answered(bank: Bank, **extra: object) -> dict[str, object]:
    return {
        "id": str(uuid.uuid4()),
        "outcome": "answered",
        "consent_given": True,
        "survey_answers": [
            {"question_id": "worried", "value": True},
            {"question_id": "topic", "value": "pensions"},
            {"question_id": "score", "value": 4},
        ],
        "contact_updates": {
            "email": "new@example.org",
            "support_level": 2,
            "tags_add": ["pensions"],
            "consents": {"sms": "granted"},
        },
        "comment": "Nice talk",
        "quality": 4,
        "mobilized": True,
        "opportunities": [{"type_id": bank.opp_type_id, "note": "Can help Saturday"}],
        **extra,
    }


async def test_lists_never_show_numbers_and_start_reveals_and_audits(
    live_client: AsyncClient, live_db: AsyncSession, bank: Bank
) -> None:
    v = bank.volunteers[0]
    mine = await live_client.get(f"/api/v1/actions/{bank.action_id}/calls/mine", headers=v.headers)
    others = await live_client.get(f"/api/v1/actions/{bank.action_id}/calls/others", headers=v.headers)
    assert len(mine.json()["items"]) == 10
    assert len(others.json()["items"]) == 10
    assert not PHONE.search(mine.text + others.text)
    nxt = await live_client.post(f"/api/v1/actions/{bank.action_id}/calls/next", headers=v.headers)
    assert nxt.status_code == 200
    assert not PHONE.search(nxt.text)
    tid = nxt.json()["id"]
    start = await live_client.post(f"/api/v1/calls/{tid}/start", headers=v.headers)
    assert start.status_code == 200, start.text
    assert PHONE.fullmatch(start.json()["contact"]["phones"][0]["e164"])
    await set_tenant(live_db, bank.manager.org.id)
    audits = (
        await live_db.scalars(
            select(AuditLog).where(AuditLog.organization_id == bank.manager.org.id, AuditLog.action == "phone.revealed")
        )
    ).all()
    assert [a.details["target_id"] for a in audits] == [tid]
    assert audits[0].actor_user_id == v.user_id
    taken = await live_client.post(f"/api/v1/calls/{tid}/start", headers=bank.volunteers[1].headers)
    assert taken.status_code == 409
    assert taken.json()["error"]["code"] == "target_taken"


async def test_full_report_is_stored_once_and_replays_return_the_first_response(
    live_client: AsyncClient, live_db: AsyncSession, bank: Bank
) -> None:
    v = bank.volunteers[0]
    tid = (await live_client.post(f"/api/v1/actions/{bank.action_id}/calls/next", headers=v.headers)).json()["id"]
    await live_client.post(f"/api/v1/calls/{tid}/start", headers=v.headers)
    body = _answered(bank)
    first = await live_client.post(f"/api/v1/calls/{tid}/report", headers=v.headers, json=body)
    assert first.status_code == 200, first.text
    again = await live_client.post(f"/api/v1/calls/{tid}/report", headers=v.headers, json=body)
    assert again.json() == first.json()
    changed = await live_client.post(f"/api/v1/calls/{tid}/report", headers=v.headers, json={**body, "comment": "x"})
    assert changed.status_code == 409
    assert changed.json()["error"]["code"] == "idempotency_conflict"
    org = bank.manager.org.id
    await set_tenant(live_db, org)
    rid = uuid.UUID(str(body["id"]))
    assert await live_db.scalar(select(func.count()).select_from(FieldReport).where(FieldReport.id == rid)) == 1
    assert (
        await live_db.scalar(select(func.count()).select_from(SurveyAnswer).where(SurveyAnswer.report_id == rid)) == 3
    )
    assert await live_db.scalar(select(func.count()).select_from(Opportunity).where(Opportunity.report_id == rid)) == 1
    target = await live_db.scalar(
        select(ActionTarget).where(ActionTarget.organization_id == org, ActionTarget.id == uuid.UUID(tid))
    )
    assert target is not None
    assert (target.status, target.attempts, target.lease_user_id) == ("done", 1, None)
    c = await live_db.scalar(select(Contact).where(Contact.organization_id == org, Contact.id == target.contact_id))
    assert c is not None
    assert c.email == "new@example.org" and c.support_level == 2 and c.consent_sms == "granted"
    assert {"pensions", "reached"} <= set(c.tags)
    assert c.last_contacted_at is not None
    kinds = (
        await live_db.scalars(
            select(ContactEvent.kind).where(ContactEvent.organization_id == org, ContactEvent.contact_id == c.id)
        )
    ).all()
    assert sorted(kinds) == ["call", "edit", "opportunity"] or "call" in kinds
    counters = dict(
        (
            await live_db.execute(
                select(ActionCounter.key, func.sum(ActionCounter.value))
                .where(ActionCounter.organization_id == org)
                .group_by(ActionCounter.key)
            )
        ).all()
    )
    assert counters["calls"] == 1 and counters["reached"] == 1 and counters["outcome:answered"] == 1
    results = (await live_client.get(f"/api/v1/surveys/{bank.survey_id}/results", headers=bank.manager.headers)).json()
    by_id = {q["question_id"]: q for q in results["questions"]}
    assert results["responses"] == 1
    assert (by_id["topic"]["answers"], by_id["topic"]["counts"]) == (1, {"pensions": 1})
    assert (by_id["score"]["counts"], by_id["score"]["mean"]) == ({"4": 1}, 4.0)
    tasks = (await live_client.get("/api/v1/opportunities?status=open", headers=bank.manager.headers)).json()
    assert tasks["items"][0]["note"] == "Can help Saturday"


async def test_bad_reports_are_4xx_naming_the_problem_and_write_nothing(
    live_client: AsyncClient, live_db: AsyncSession, bank: Bank
) -> None:
    v, other = bank.volunteers
    tid = (await live_client.post(f"/api/v1/actions/{bank.action_id}/calls/next", headers=v.headers)).json()["id"]
    await live_client.post(f"/api/v1/calls/{tid}/start", headers=v.headers)
    wrong_type = _answered(
        bank, survey_answers=[{"question_id": "worried", "value": "yes"}, {"question_id": "topic", "value": "pensions"}]
    )
    r = await live_client.post(f"/api/v1/calls/{tid}/report", headers=v.headers, json=wrong_type)
    assert r.status_code == 422
    assert r.json()["error"]["details"][0]["field"] == "survey_answers.0.value"
    foreign = _answered(bank, survey_answers=[{"question_id": "not_ours", "value": 1}])
    r = await live_client.post(f"/api/v1/calls/{tid}/report", headers=v.headers, json=foreign)
    assert r.status_code == 422
    missing = _answered(bank, survey_answers=[{"question_id": "worried", "value": True}])
    r = await live_client.post(f"/api/v1/calls/{tid}/report", headers=v.headers, json=missing)
    assert r.status_code == 422
    assert "topic is required" in json.dumps(r.json())
    r = await live_client.post(
        f"/api/v1/calls/{tid}/report", headers=v.headers, json={"id": str(uuid.uuid4()), "outcome": "teleported"}
    )
    assert r.status_code == 422
    assert r.json()["error"]["details"][0]["field"] == "outcome"
    r = await live_client.post(
        f"/api/v1/calls/{tid}/report", headers=other.headers, json={"id": str(uuid.uuid4()), "outcome": "refused"}
    )
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "target_not_leased"
    await set_tenant(live_db, bank.manager.org.id)
    assert (
        await live_db.scalar(
            select(func.count()).select_from(FieldReport).where(FieldReport.organization_id == bank.manager.org.id)
        )
        == 0
    )
    assert (
        await live_db.scalar(
            select(func.count()).select_from(Opportunity).where(Opportunity.organization_id == bank.manager.org.id)
        )
        == 0
    )


async def test_callback_comes_back_at_its_time_and_not_before(live_client: AsyncClient, live_db: AsyncSession) -> None:
    bank = await make_bank(live_client, live_db, contacts=1, volunteers=1)
    v = bank.volunteers[0]
    tid = (await live_client.post(f"/api/v1/actions/{bank.action_id}/calls/next", headers=v.headers)).json()["id"]
    await live_client.post(f"/api/v1/calls/{tid}/start", headers=v.headers)
    at = datetime.now(UTC) + timedelta(seconds=2)
    r = await live_client.post(
        f"/api/v1/calls/{tid}/report",
        headers=v.headers,
        json={"id": str(uuid.uuid4()), "outcome": "callback", "callback_at": at.isoformat()},
    )
    assert r.json()["target_status"] == "callback"
    early = await live_client.post(f"/api/v1/actions/{bank.action_id}/calls/next", headers=v.headers)
    assert early.status_code == 404
    assert early.json()["error"]["code"] == "no_target_available"
    await asyncio.sleep(max(0.0, (at - datetime.now(UTC)).total_seconds()) + 0.3)
    back = await live_client.post(f"/api/v1/actions/{bank.action_id}/calls/next", headers=v.headers)
    assert back.status_code == 200
    assert back.json()["id"] == tid


async def test_wrong_number_and_do_not_call_never_come_back_in_any_action(
    live_client: AsyncClient, live_db: AsyncSession
) -> None:
    bank = await make_bank(live_client, live_db, contacts=2, volunteers=1)
    v, h = bank.volunteers[0], bank.manager.headers
    outcomes = ["wrong_number", "do_not_call"]
    for outcome in outcomes:
        tid = (await live_client.post(f"/api/v1/actions/{bank.action_id}/calls/next", headers=v.headers)).json()["id"]
        await live_client.post(f"/api/v1/calls/{tid}/start", headers=v.headers)
        r = await live_client.post(
            f"/api/v1/calls/{tid}/report", headers=v.headers, json={"id": str(uuid.uuid4()), "outcome": outcome}
        )
        assert r.json()["target_status"] == "closed"
    again = await live_client.post(
        "/api/v1/actions",
        headers=h,
        json={
            "type": "call",
            "title": "Second",
            "filter": {"tags_any": ["bank"]},
            "volunteer_ids": [str(v.user_id)],
            "assignment": {"strategy": "round_robin", "volunteer_ids": [str(v.user_id)]},
        },
    )
    assert again.json()["target_count"] == 0
    assert (
        await live_client.post(f"/api/v1/actions/{bank.action_id}/calls/next", headers=v.headers)
    ).status_code == 404


async def test_phone_reveals_are_rate_limited(live_client: AsyncClient, live_db: AsyncSession) -> None:
    bank = await make_bank(live_client, live_db, contacts=25, volunteers=1)
    v = bank.volunteers[0]
    codes = []
    for _ in range(25):
        nxt = await live_client.post(f"/api/v1/actions/{bank.action_id}/calls/next", headers=v.headers)
        if nxt.status_code != 200:
            break
        s = await live_client.post(f"/api/v1/calls/{nxt.json()['id']}/start", headers=v.headers)
        codes.append(s.status_code)
        if s.status_code == 200:
            await live_client.post(
                f"/api/v1/calls/{nxt.json()['id']}/report",
                headers=v.headers,
                json={"id": str(uuid.uuid4()), "outcome": "refused"},
            )
    assert codes.count(200) == 20
    assert codes[-1] == 429


async def test_fifty_concurrent_volunteers_never_share_a_contact_and_reports_land_once(
    live_client: AsyncClient, live_db: AsyncSession
) -> None:
    bank = await make_bank(live_client, live_db, contacts=150, volunteers=50, assign=False)
    acked: list[str] = []
    seen_leases: dict[str, str] = {}
    clash: list[str] = []

    async def volunteer(i: int) -> None:
        v = bank.volunteers[i]
        while True:
            nxt = await live_client.post(f"/api/v1/actions/{bank.action_id}/calls/next", headers=v.headers)
            if nxt.status_code == 404:
                return
            assert nxt.status_code == 200, nxt.text
            tid = nxt.json()["id"]
            if tid in seen_leases:
                clash.append(tid)
            seen_leases[tid] = str(v.user_id)
            start = await live_client.post(f"/api/v1/calls/{tid}/start", headers=v.headers)
            assert start.status_code == 200, start.text
            body = {"id": str(uuid.uuid4()), "outcome": "refused"}
            for _ in range(2):  # a flaky network: the client sends the same report twice
                r = await live_client.post(f"/api/v1/calls/{tid}/report", headers=v.headers, json=body)
                assert r.status_code == 200, r.text
            acked.append(body["id"])

    await asyncio.gather(*(volunteer(i) for i in range(50)))
    assert clash == []
    assert len(acked) == 150
    await set_tenant(live_db, bank.manager.org.id)
    ids = (
        await live_db.scalars(select(FieldReport.id).where(FieldReport.organization_id == bank.manager.org.id))
    ).all()
    assert sorted(str(i) for i in ids) == sorted(acked)
    reveals = await live_db.scalar(
        select(func.count())
        .select_from(AuditLog)
        .where(AuditLog.organization_id == bank.manager.org.id, AuditLog.action == "phone.revealed")
    )
    assert reveals == 150
    open_targets = await live_db.scalar(
        text("SELECT count(*) FROM action_targets WHERE organization_id = :o AND status <> 'done'"),
        {"o": bank.manager.org.id},
    )
    assert open_targets == 0


async def test_outcome_first_then_details_step_by_step_and_stats_follow(
    live_client: AsyncClient, live_db: AsyncSession, bank: Bank
) -> None:
    v = bank.volunteers[0]
    tid = (await live_client.post(f"/api/v1/actions/{bank.action_id}/calls/next", headers=v.headers)).json()["id"]
    await live_client.post(f"/api/v1/calls/{tid}/start", headers=v.headers)
    rid = str(uuid.uuid4())
    first = await live_client.post(
        f"/api/v1/calls/{tid}/report", headers=v.headers, json={"id": rid, "outcome": "answered"}
    )
    assert first.status_code == 200, first.text
    full = _answered(bank)
    details = {
        k: full[k]
        for k in (
            "consent_given",
            "survey_answers",
            "contact_updates",
            "comment",
            "quality",
            "mobilized",
            "opportunities",
        )
    }
    d1 = await live_client.post(f"/api/v1/reports/{rid}/details", headers=v.headers, json=details)
    assert d1.status_code == 200, d1.text
    assert len(d1.json()["opportunity_ids"]) == 1
    d2 = await live_client.post(f"/api/v1/reports/{rid}/details", headers=v.headers, json=details)
    assert d2.json() == d1.json()
    d3 = await live_client.post(f"/api/v1/reports/{rid}/details", headers=v.headers, json={**details, "quality": 1})
    assert d3.status_code == 409
    other = await live_client.post(f"/api/v1/reports/{rid}/details", headers=bank.volunteers[1].headers, json=details)
    assert other.status_code == 404
    await set_tenant(live_db, bank.manager.org.id)
    rep = await live_db.scalar(
        select(FieldReport).where(FieldReport.organization_id == bank.manager.org.id, FieldReport.id == uuid.UUID(rid))
    )
    assert rep is not None
    assert (rep.comment, rep.quality, rep.mobilized) == ("Nice talk", 4, True)
    assert (
        await live_db.scalar(
            select(func.count()).select_from(SurveyAnswer).where(SurveyAnswer.report_id == uuid.UUID(rid))
        )
        == 3
    )
    stats = (await live_client.get(f"/api/v1/actions/{bank.action_id}/stats", headers=bank.manager.headers)).json()
    assert (stats["calls"], stats["reached"], stats["mobilized"], stats["opportunities"]) == (1, 1, 1, 1)
    assert stats["outcomes"] == {"answered": 1}
    assert (await live_client.get(f"/api/v1/actions/{bank.action_id}/stats", headers=v.headers)).status_code == 403

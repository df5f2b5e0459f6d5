"""A volunteer corrects their own report: a new version (the old one kept), HQ's figures and the timeline follow
the latest, the counters move once however often the correction arrives; another person's report, or one past
the window, cannot be corrected."""

from __future__ import annotations

import asyncio
import uuid

from httpx import AsyncClient
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.core.db import set_tenant
from app.models import ContactEvent, FieldReport, FieldReportCorrection, SurveyAnswer
from tests.calling.conftest import make_bank
from tests.calling.test_calling import _answered
from tests.calling.test_reports import _count, _counters, _started


async def test_a_correction_is_a_new_version_that_moves_the_figures_once(
    live_client: AsyncClient, live_db: AsyncSession, cleanup: list[uuid.UUID]
) -> None:
    bank = await make_bank(live_client, live_db, contacts=2)
    org = bank.manager.org.id
    cleanup.append(org)
    vol = bank.volunteers[0]
    tid = await _started(live_client, bank)
    report = _answered(bank)
    assert (await live_client.post(f"/api/v1/calls/{tid}/report", headers=vol.headers, json=report)).status_code == 200
    await set_tenant(live_db, org)
    before = await _counters(live_db, org)
    assert before["outcome:answered"] == 1 and before["reached"] == 1 and before["mobilized"] == 1

    mine = await live_client.get(f"/api/v1/actions/{bank.action_id}/reports/mine", headers=vol.headers)
    assert mine.status_code == 200, mine.text
    [listed] = mine.json()
    assert listed["id"] == report["id"] and listed["version"] == 1 and listed["outcome"] == "answered"

    fix = {"id": str(uuid.uuid4()), "outcome": "refused", "comment": "Hung up, my mistake", "mobilized": False}
    url = f"/api/v1/reports/{report['id']}/corrections"
    sent = await asyncio.gather(*(live_client.post(url, headers=vol.headers, json=fix) for _ in range(4)))
    assert [r.status_code for r in sent] == [200] * 4, [r.text for r in sent]
    assert all(r.json() == sent[0].json() for r in sent)
    assert sent[0].json()["version"] == 2
    again = await live_client.post(url, headers=vol.headers, json=fix)
    assert again.json() == sent[0].json()
    other_body = await live_client.post(url, headers=vol.headers, json={**fix, "comment": "else"})
    assert other_body.status_code == 409 and other_body.json()["error"]["code"] == "idempotency_conflict"

    await live_db.rollback()
    await set_tenant(live_db, org)
    after = await _counters(live_db, org)
    assert after["outcome:answered"] == 0 and after["outcome:refused"] == 1
    assert after["reached"] == 0 and after["mobilized"] == 0 and after["calls"] == 1
    assert after.get("support:2", 0) == 0 and after["opportunities"] == before["opportunities"]
    rep = await live_db.scalar(select(FieldReport).where(FieldReport.organization_id == org))
    assert rep is not None and rep.version == 2 and rep.outcome == "refused" and rep.corrected_at is not None
    kept = (
        await live_db.scalars(select(FieldReportCorrection).where(FieldReportCorrection.organization_id == org))
    ).all()
    assert (
        len(kept) == 1
        and kept[0].previous["outcome"] == "answered"
        and kept[0].previous["survey"]["topic"] == "pensions"
    )
    assert await _count(live_db, SurveyAnswer, org) == 0  # not reached after all: the answers are not counted
    event = await live_db.scalar(
        select(ContactEvent).where(
            ContactEvent.organization_id == org, ContactEvent.data["report_id"].astext == report["id"]
        )
    )
    assert event is not None and event.data["outcome"] == "refused" and event.data["version"] == 2
    figures = (
        await live_client.get(f"/api/v1/dashboard/actions/{bank.action_id}", headers=bank.manager.headers)
    ).json()
    assert figures["outcomes"].get("answered", 0) == 0 and figures["outcomes"]["refused"] == 1


async def test_only_the_reporter_corrects_and_only_within_the_window(
    live_client: AsyncClient, live_db: AsyncSession, cleanup: list[uuid.UUID], owner_engine: AsyncEngine
) -> None:
    bank = await make_bank(live_client, live_db, contacts=2)
    cleanup.append(bank.manager.org.id)
    vol, other = bank.volunteers
    tid = await _started(live_client, bank)
    report = _answered(bank)
    assert (await live_client.post(f"/api/v1/calls/{tid}/report", headers=vol.headers, json=report)).status_code == 200
    url = f"/api/v1/reports/{report['id']}/corrections"
    fix = {"id": str(uuid.uuid4()), "outcome": "refused"}
    assert (await live_client.post(url, headers=other.headers, json=fix)).status_code == 404
    bad = await live_client.post(url, headers=vol.headers, json={**fix, "outcome": "callback"})
    assert bad.status_code == 422 and bad.json()["error"]["details"][0]["field"] == "outcome"
    async with owner_engine.begin() as conn:
        await conn.execute(
            text("UPDATE field_reports SET created_at = now() - interval '25 hours' WHERE id = :r"), {"r": report["id"]}
        )
    late = await live_client.post(url, headers=vol.headers, json=fix)
    assert late.status_code == 409 and late.json()["error"]["code"] == "correction_window_closed"
    mine = await live_client.get(f"/api/v1/actions/{bank.action_id}/reports/mine", headers=vol.headers)
    assert mine.json() == []

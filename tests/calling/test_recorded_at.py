"""A report carries the phone's time (`recorded_at`), kept by the server within the call's lease start and now;
HQ's figures and the timeline use it, not the time it was synced."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import set_tenant
from app.models import ActionTarget, ContactEvent, FieldReport
from tests.calling.conftest import Bank, make_bank
from tests.calling.test_reports import _started


async def _started_at(client: AsyncClient, db: AsyncSession, bank: Bank, org: uuid.UUID) -> tuple[str, datetime]:
    """A call started (the lease taken), and when."""
    tid = await _started(client, bank)
    await db.rollback()
    await set_tenant(db, org)
    started = await db.scalar(
        select(ActionTarget.last_attempt_at).where(
            ActionTarget.organization_id == org, ActionTarget.id == uuid.UUID(tid)
        )
    )
    assert started is not None
    return tid, started


async def _report(client: AsyncClient, bank: Bank, tid: str, at: datetime, outcome: str = "refused") -> str:
    rid = str(uuid.uuid4())
    body = {"id": rid, "outcome": outcome, "recorded_at": at.isoformat()}
    r = await client.post(f"/api/v1/calls/{tid}/report", headers=bank.volunteers[0].headers, json=body)
    assert r.status_code == 200, r.text
    assert datetime.fromisoformat(r.json()["recorded_at"]) is not None
    return rid


async def test_recorded_at_is_the_phones_time_within_the_lease_and_now(
    live_client: AsyncClient, live_db: AsyncSession, cleanup: list[uuid.UUID]
) -> None:
    bank = await make_bank(live_client, live_db, contacts=3)
    org = bank.manager.org.id
    cleanup.append(org)
    tid, _ = await _started_at(live_client, live_db, bank, org)
    future = await _report(live_client, bank, tid, datetime.now(UTC) + timedelta(days=2))
    tid, lease_start = await _started_at(live_client, live_db, bank, org)
    past = await _report(live_client, bank, tid, datetime.now(UTC) - timedelta(days=3))
    await live_db.rollback()
    await set_tenant(live_db, org)
    rows = {
        str(r.id): r for r in (await live_db.scalars(select(FieldReport).where(FieldReport.organization_id == org)))
    }
    # Ahead of the server: now. Before the lease was taken: the lease's start.
    assert abs((rows[future].recorded_at - rows[future].created_at).total_seconds()) < 5
    assert rows[past].recorded_at == lease_start

    # Within the bounds, the phone's time is kept: HQ's figures count the report in the hour it was recorded.
    tid = await _started(live_client, bank)
    await live_db.rollback()
    await set_tenant(live_db, org)
    started = await live_db.scalar(
        select(ActionTarget.last_attempt_at).where(
            ActionTarget.organization_id == org, ActionTarget.id == uuid.UUID(tid)
        )
    )
    assert started is not None
    # A report recorded just after the start call, synced later: its time is the phone's.
    phone_time = started + timedelta(milliseconds=1)
    rid = await _report(live_client, bank, tid, phone_time, outcome="answered")
    await live_db.rollback()
    await set_tenant(live_db, org)
    rep = await live_db.scalar(
        select(FieldReport).where(FieldReport.organization_id == org, FieldReport.id == uuid.UUID(rid))
    )
    assert rep is not None and rep.recorded_at == phone_time
    ev = await live_db.scalar(
        select(ContactEvent.at).where(ContactEvent.organization_id == org, ContactEvent.data["report_id"].astext == rid)
    )
    assert ev == phone_time
    window = {
        "from": (phone_time - timedelta(microseconds=1)).isoformat(),
        "to": (phone_time + timedelta(microseconds=1)).isoformat(),
    }
    figures = await live_client.get(
        f"/api/v1/dashboard/actions/{bank.action_id}", headers=bank.manager.headers, params=window
    )
    assert figures.status_code == 200, figures.text
    assert figures.json()["outcomes"] == {"answered": 1}

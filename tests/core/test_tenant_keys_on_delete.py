"""The composite foreign keys keep what deletes did before them: `ON DELETE SET NULL (col)` clears only the
reference (never organization_id), so removing a member or an action keeps the rows that named them."""

from __future__ import annotations

import uuid

from httpx import AsyncClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import set_tenant
from app.models import ActionTarget, ContactEvent, Opportunity
from tests.calling.conftest import make_bank
from tests.fixtures.factories import make_actor


async def test_removing_a_member_returns_their_targets_to_the_pool_and_unassigns_their_tasks(
    client: AsyncClient, db: AsyncSession
) -> None:
    bank = await make_bank(client, db, contacts=6)
    org, vol = bank.manager.org.id, bank.volunteers[0]
    admin = await make_actor(db, bank.manager.org, "admin")
    await db.commit()
    opp = await client.post(
        "/api/v1/opportunities",
        headers=bank.manager.headers,
        json={"type_id": bank.opp_type_id, "assignee_user_id": str(vol.user_id)},
    )
    assert opp.status_code == 201, opp.text
    await set_tenant(db, org)
    theirs = set((await db.scalars(select(ActionTarget.id).where(ActionTarget.assignee_user_id == vol.user_id))).all())
    assert len(theirs) == 3
    total = await db.scalar(select(func.count()).select_from(ActionTarget).where(ActionTarget.organization_id == org))

    r = await client.delete(f"/api/v1/users/{vol.user_id}", headers=admin.headers)
    assert r.status_code == 204, r.text

    await set_tenant(db, org)
    rows = (await db.execute(select(ActionTarget).where(ActionTarget.id.in_(theirs)))).scalars().all()
    assert {(t.organization_id, t.assignee_user_id) for t in rows} == {(org, None)}
    assert len(rows) == 3
    assert (
        await db.scalar(select(func.count()).select_from(ActionTarget).where(ActionTarget.organization_id == org))
    ) == total
    task = await db.scalar(select(Opportunity).where(Opportunity.id == uuid.UUID(opp.json()["id"])))
    assert task is not None
    assert (task.organization_id, task.assignee_user_id) == (org, None)


async def test_deleting_an_action_keeps_its_opportunities_and_timeline_unlinked(
    client: AsyncClient, db: AsyncSession
) -> None:
    bank = await make_bank(client, db, contacts=2, volunteers=1)
    org, vol = bank.manager.org.id, bank.volunteers[0]
    nxt = await client.post(f"/api/v1/actions/{bank.action_id}/calls/next", headers=vol.headers)
    tid = nxt.json()["id"]
    assert (await client.post(f"/api/v1/calls/{tid}/start", headers=vol.headers)).status_code == 200
    rep = await client.post(
        f"/api/v1/calls/{tid}/report",
        headers=vol.headers,
        json={"id": str(uuid.uuid4()), "outcome": "answered", "opportunities": [{"type_id": bank.opp_type_id}]},
    )
    assert rep.status_code == 200, rep.text
    (opp_id,) = rep.json()["opportunity_ids"]
    contact_id = uuid.UUID(rep.json()["contact_id"])
    await set_tenant(db, org)
    events = await db.scalar(
        select(func.count()).select_from(ContactEvent).where(ContactEvent.contact_id == contact_id)
    )
    assert events

    r = await client.delete(f"/api/v1/actions/{bank.action_id}", headers=bank.manager.headers)
    assert r.status_code == 204, r.text

    await set_tenant(db, org)
    task = await db.scalar(select(Opportunity).where(Opportunity.id == uuid.UUID(opp_id)))
    assert task is not None
    assert (task.organization_id, task.action_id, task.report_id, task.contact_id) == (org, None, None, contact_id)
    kept = (await db.execute(select(ContactEvent).where(ContactEvent.contact_id == contact_id))).scalars().all()
    assert len(kept) == events
    assert {(e.organization_id, e.action_id) for e in kept} == {(org, None)}

from __future__ import annotations

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import set_tenant
from app.models import Action, ActionTarget, Contact, Organization, Zone
from app.seed import DEMO_SLUG, seed_demo


async def test_demo_seed_creates_a_working_organization_once(db: AsyncSession) -> None:
    created, logins = await seed_demo(db)
    assert created is True
    assert {d.role for d in logins} == {"admin", "manager", "team_leader", "volunteer"}
    org_id = await db.scalar(text("SELECT gg_org_by_slug(:s)"), {"s": DEMO_SLUG})
    await set_tenant(db, org_id)
    assert await db.scalar(select(Organization.name).where(Organization.id == org_id))
    assert await db.scalar(select(func.count()).select_from(Zone).where(Zone.organization_id == org_id)) == 6
    assert await db.scalar(select(func.count()).select_from(Contact).where(Contact.organization_id == org_id)) == 360
    actions = (await db.scalars(select(Action).where(Action.organization_id == org_id))).all()
    assert {a.type for a in actions} == {"call", "door_to_door"}
    for a in actions:
        assigned = await db.scalar(
            select(func.count())
            .select_from(ActionTarget)
            .where(
                ActionTarget.organization_id == org_id,
                ActionTarget.action_id == a.id,
                ActionTarget.assignee_user_id.is_not(None),
            )
        )
        assert assigned and assigned == a.target_count
    again, _ = await seed_demo(db)
    assert again is False

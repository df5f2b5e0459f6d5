"""The reminder before an action starts: found across organizations by gg_actions_to_remind (row-level
security hides them otherwise), claimed once per action (`reminder_sent_at`), sent to its volunteers."""

from __future__ import annotations

from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine

from app.core.db import make_sessionmaker, set_tenant
from app.models import Action, ActionVolunteer
from app.push import triggers


async def remind(engine: AsyncEngine, lead_minutes: int) -> int:
    async with engine.connect() as conn:
        due = (
            await conn.execute(text("SELECT organization_id, id FROM gg_actions_to_remind(:m)"), {"m": lead_minutes})
        ).all()
    maker = make_sessionmaker(engine)
    n = 0
    for org, action_id in due:
        async with maker() as session:
            async with session.begin():
                await set_tenant(session, org)
                title = await session.scalar(
                    update(Action)
                    .where(Action.organization_id == org, Action.id == action_id, Action.reminder_sent_at.is_(None))
                    .values(reminder_sent_at=text("now()"))
                    .returning(Action.title)
                )
                if title is None:
                    continue  # another run took it
                users = list(
                    await session.scalars(
                        select(ActionVolunteer.user_id).where(
                            ActionVolunteer.organization_id == org, ActionVolunteer.action_id == action_id
                        )
                    )
                )
                triggers.action_reminder(session, org, action_id, title, users)
                n += 1
            for hook in session.info.pop("after_commit", []):
                await hook()
    return n

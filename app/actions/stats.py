"""Live action figures from the sharded counters written with each report: reading them costs a few hundred
rows whatever the action's size (the bare alternative recounts every report)."""

from __future__ import annotations

import uuid

from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Action, ActionCounter


class ActionStats(BaseModel):
    action_id: uuid.UUID
    targets: int
    calls: int
    visits: int
    reached: int
    mobilized: int
    opportunities: int
    outcomes: dict[str, int]
    support_levels: dict[str, int]
    reach_rate: float | None


async def stats(session: AsyncSession, a: Action) -> ActionStats:
    rows = dict(
        (
            await session.execute(
                select(ActionCounter.key, func.sum(ActionCounter.value))
                .where(ActionCounter.organization_id == a.organization_id, ActionCounter.action_id == a.id)
                .group_by(ActionCounter.key)
            )
        ).all()
    )
    n = {k: int(v) for k, v in rows.items()}
    attempts = n.get("calls", 0) + n.get("visits", 0)
    return ActionStats(
        action_id=a.id,
        targets=a.target_count,
        calls=n.get("calls", 0),
        visits=n.get("visits", 0),
        reached=n.get("reached", 0),
        mobilized=n.get("mobilized", 0),
        opportunities=n.get("opportunities", 0),
        outcomes={k.split(":", 1)[1]: v for k, v in n.items() if k.startswith("outcome:")},
        support_levels={k.split(":", 1)[1]: v for k, v in n.items() if k.startswith("support:")},
        reach_rate=round(n.get("reached", 0) / attempts, 4) if attempts else None,
    )

"""Which live events a subscriber may receive: the same rule as the dashboards (app.dashboard.scope)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.permissions import Perm
from app.auth.principal import Principal
from app.dashboard.scope import team_members


@dataclass(frozen=True)
class Audience:
    organization_id: str
    user_id: str
    everything: bool
    members: frozenset[str]  # users whose work this subscriber may follow (team leader: their teams' members)
    team_ids: frozenset[str]

    def may_see(self, ev: dict[str, Any]) -> bool:
        if ev.get("organization_id") != self.organization_id:
            return False
        if self.everything:
            return True
        if ev.get("assignee_user_id") == self.user_id or ev.get("user_id") == self.user_id:
            return True
        if ev.get("assignee_team_id") is not None and ev["assignee_team_id"] in self.team_ids:
            return True
        return ev.get("user_id") in self.members


async def audience(session: AsyncSession, actor: Principal) -> Audience:
    members: frozenset[uuid.UUID] = frozenset()
    if actor.can(Perm.lead_actions) and not actor.can(Perm.manage_actions):
        members = await team_members(session, actor.organization_id, frozenset(actor.team_ids))
    return Audience(
        organization_id=str(actor.organization_id),
        user_id=str(actor.user_id),
        everything=actor.can(Perm.manage_actions),
        members=frozenset(str(m) for m in members),
        team_ids=frozenset(str(t) for t in actor.team_ids),
    )

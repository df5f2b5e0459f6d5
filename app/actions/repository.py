"""Which actions a user may see, edit and work on, in SQL: written once as conditions on an `actions` row, so
the ORM loaders and the calling statements (which alias the table) apply the same rule."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.permissions import Perm
from app.auth.principal import Principal
from app.auth.references import Kind
from app.core.sql import const, one_of
from app.models import Action, ActionTeam, ActionVolunteer

# Statuses in which field work (claims, phone reveals) may happen; draft, paused and closed actions refuse it.
RUNNING_STATUSES = ("scheduled", "active")


def on_action(actor: Principal) -> Select[object]:
    """Ids of the actions the user is on, directly or through a team."""
    direct = select(ActionVolunteer.action_id).where(
        ActionVolunteer.organization_id == actor.organization_id, ActionVolunteer.user_id == actor.user_id
    )
    via_team = select(ActionTeam.action_id).where(
        ActionTeam.organization_id == actor.organization_id, ActionTeam.team_id.in_(actor.team_ids)
    )
    return direct.union(via_team)  # type: ignore[return-value]


def visible(actor: Principal, a: Any = Action) -> ColumnElement[bool]:
    """The action row `a` (the entity or an alias of it) is one the user may see: managers see every action of
    their organization; others the actions they are on, drafts only for team leaders."""
    conds = [a.organization_id == actor.organization_id]
    if not actor.can(Perm.manage_actions):
        conds.append(a.id.in_(on_action(actor)))
        if not actor.can(Perm.lead_actions):  # drafts are for those who prepare the action
            conds.append(a.status != const("draft"))
    return and_(*conds)


def running(a: Any = Action) -> ColumnElement[bool]:
    """The action is open for field work now: scheduled or active, and within its dates (either may be unset)."""
    now = func.now()
    return and_(
        one_of(a.status, RUNNING_STATUSES),
        or_(a.starts_at.is_(None), a.starts_at <= now),
        or_(a.ends_at.is_(None), a.ends_at > now),
    )


def workable(actor: Principal, a: Any = Action) -> ColumnElement[bool]:
    """Visible to the user and running: where they may claim targets and reveal phone numbers."""
    return and_(visible(actor, a), running(a))


def visible_to(actor: Principal) -> Select[Action]:
    return select(Action).where(visible(actor))


def can_edit(actor: Principal, team_ids: set[object]) -> bool:
    """Managers edit every action; team leaders the actions of their teams."""
    if actor.can(Perm.manage_actions):
        return True
    return actor.can(Perm.lead_actions) and bool(team_ids & set(actor.team_ids))


async def _visible_ids(session: AsyncSession, actor: Principal, ids: set[uuid.UUID]) -> set[uuid.UUID]:
    q = visible_to(actor).with_only_columns(Action.id).where(Action.id.in_(ids))
    return set((await session.scalars(q)).all())


# An action id in a request must name one the caller may see (app/auth/references.py).
ACTION = Kind("action", _visible_ids)

"""Which actions a user may see and edit, in SQL."""

from __future__ import annotations

from sqlalchemy import Select, select

from app.auth.permissions import Perm
from app.auth.principal import Principal
from app.models import Action, ActionTeam, ActionVolunteer


def on_action(actor: Principal) -> Select[object]:
    """Ids of the actions the user is on, directly or through a team."""
    direct = select(ActionVolunteer.action_id).where(
        ActionVolunteer.organization_id == actor.organization_id, ActionVolunteer.user_id == actor.user_id
    )
    via_team = select(ActionTeam.action_id).where(
        ActionTeam.organization_id == actor.organization_id, ActionTeam.team_id.in_(actor.team_ids)
    )
    return direct.union(via_team)  # type: ignore[return-value]


def visible_to(actor: Principal) -> Select[Action]:
    q = select(Action).where(Action.organization_id == actor.organization_id)
    if actor.can(Perm.manage_actions):
        return q
    q = q.where(Action.id.in_(on_action(actor)))
    if not actor.can(Perm.lead_actions):  # drafts are for those who prepare the action
        q = q.where(Action.status != "draft")
    return q


def can_edit(actor: Principal, team_ids: set[object]) -> bool:
    """Managers edit every action; team leaders the actions of their teams."""
    if actor.can(Perm.manage_actions):
        return True
    return actor.can(Perm.lead_actions) and bool(team_ids & set(actor.team_ids))

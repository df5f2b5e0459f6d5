"""Who the viewer may count: the one rule for every dashboard figure, leaderboard, map and stream event.

Managers and admins see the whole organization; a team leader sees the work of the members of their teams and
the actions of their teams; a volunteer has no dashboard (the stream carries only their own events)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import references
from app.auth.permissions import Perm
from app.auth.principal import Principal
from app.auth.references import MEMBER, TEAM
from app.core.errors import Forbidden, NotFound, Unprocessable
from app.models import ActionTeam, Organization, TeamMember


class TeamNotVisible(NotFound):
    code = "team_not_found"
    message = "Team not found."


class UserNotVisible(NotFound):
    code = "user_not_found"
    message = "User not found."


@dataclass(frozen=True)
class Scope:
    organization_id: uuid.UUID
    timezone: str
    # None: everyone in the organization; else only reports/opportunities/contacts by these users.
    user_ids: frozenset[uuid.UUID] | None
    # None: every action; else only the actions of these teams (targets left, coverage, maps).
    team_ids: frozenset[uuid.UUID] | None

    @property
    def whole_org(self) -> bool:
        return self.user_ids is None

    @property
    def tz(self) -> tzinfo:
        return ZoneInfo(self.timezone)

    def user_list(self) -> list[uuid.UUID] | None:
        return sorted(self.user_ids) if self.user_ids is not None else None


@dataclass(frozen=True)
class Period:
    start: datetime | None
    end: datetime | None

    @property
    def bounded(self) -> bool:
        return self.start is not None or self.end is not None


async def team_members(session: AsyncSession, org: uuid.UUID, teams: frozenset[uuid.UUID]) -> frozenset[uuid.UUID]:
    if not teams:
        return frozenset()
    rows = await session.scalars(
        select(TeamMember.user_id).where(TeamMember.organization_id == org, TeamMember.team_id.in_(teams))
    )
    return frozenset(rows.all())


async def viewer_scope(
    session: AsyncSession,
    actor: Principal,
    *,
    team_id: uuid.UUID | None = None,
    user_id: uuid.UUID | None = None,
) -> Scope:
    """The viewer's scope, narrowed to one team or one person when asked. An id that names no team or member of
    the organization is a 422 naming the field (app/auth/references.py); a team or person of the organization
    outside a team leader's scope is a 404, as if it did not exist."""
    tzname = await session.scalar(select(Organization.timezone).where(Organization.id == actor.organization_id))
    tzname = tzname or "UTC"
    if actor.can(Perm.manage_actions):
        users: frozenset[uuid.UUID] | None = None
        teams: frozenset[uuid.UUID] | None = None
    elif actor.can(Perm.lead_actions):
        teams = frozenset(actor.team_ids)
        users = (await team_members(session, actor.organization_id, teams)) | {actor.user_id}
    else:
        raise Forbidden("Dashboards are for HQ and team leaders.")
    await references.check_query(session, actor, {"team_id": TEAM, "user_id": MEMBER}, team_id=team_id, user_id=user_id)
    if team_id is not None:
        if teams is not None and team_id not in teams:
            raise TeamNotVisible(details=[{"field": "team_id", "message": "not found"}])
        users = await team_members(session, actor.organization_id, frozenset({team_id}))
        teams = frozenset({team_id})
    if user_id is not None:
        if users is not None and user_id not in users:
            raise UserNotVisible(details=[{"field": "user_id", "message": "not found"}])
        users = frozenset({user_id})
    return Scope(actor.organization_id, tzname, users, teams)


async def action_in_scope(session: AsyncSession, scope: Scope, action_id: uuid.UUID) -> bool:
    """Whether counting a whole action is allowed by the scope's teams (managers: always)."""
    if scope.team_ids is None:
        return True
    found = await session.scalar(
        select(ActionTeam.action_id).where(
            ActionTeam.organization_id == scope.organization_id,
            ActionTeam.action_id == action_id,
            ActionTeam.team_id.in_(scope.team_ids),
        )
    )
    return found is not None


def period(scope: Scope, start: datetime | None, end: datetime | None) -> Period:
    """A naive time (or a bare date) is read in the organization's time zone; `end` is exclusive."""

    def aware(d: datetime | None) -> datetime | None:
        if d is None:
            return None
        return (d if d.tzinfo is not None else d.replace(tzinfo=scope.tz)).astimezone(UTC)

    p = Period(aware(start), aware(end))
    if p.start is not None and p.end is not None and p.end <= p.start:
        raise Unprocessable("`to` must be after `from`.", details=[{"field": "to", "message": "before from"}])
    return p

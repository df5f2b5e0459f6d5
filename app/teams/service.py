"""Teams: name, region, leader, members."""

from __future__ import annotations

import uuid

from sqlalchemy import Select, delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import service as audit
from app.auth import cache as auth_cache
from app.auth import references
from app.auth.permissions import Perm
from app.auth.principal import Principal
from app.auth.references import MEMBER, Kind
from app.core.errors import Conflict, NotFound
from app.models import Team, TeamMember
from app.teams.schemas import TeamCreate, TeamRead, TeamUpdate


class TeamNotFound(NotFound):
    code = "team_not_found"
    message = "Team not found."


def visible_to(actor: Principal) -> Select[Team]:
    q = select(Team).where(Team.organization_id == actor.organization_id)
    if not actor.can(Perm.view_members):
        q = q.where(Team.id.in_(actor.team_ids))
    return q


async def _visible_ids(session: AsyncSession, actor: Principal, ids: set[uuid.UUID]) -> set[uuid.UUID]:
    return set((await session.scalars(visible_to(actor).with_only_columns(Team.id).where(Team.id.in_(ids)))).all())


# A team named as an assignee or a filter must be one the caller may see (app/auth/references.py).
VISIBLE_TEAM = Kind("team", _visible_ids)


async def _members(
    session: AsyncSession, org: uuid.UUID, team_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[uuid.UUID]]:
    rows = (
        await session.execute(
            select(TeamMember.team_id, TeamMember.user_id).where(
                TeamMember.organization_id == org, TeamMember.team_id.in_(team_ids)
            )
        )
    ).all()
    out: dict[uuid.UUID, list[uuid.UUID]] = {t: [] for t in team_ids}
    for t, u in rows:
        out[t].append(u)
    return out


async def to_read(session: AsyncSession, team: Team) -> TeamRead:
    members = await _members(session, team.organization_id, [team.id])
    return TeamRead.model_validate(team).model_copy(update={"member_ids": members[team.id]})


async def get(session: AsyncSession, team_id: uuid.UUID, *, actor: Principal) -> Team:
    team = await session.scalar(visible_to(actor).where(Team.id == team_id))
    if team is None:
        raise TeamNotFound()
    return team


async def list_teams(session: AsyncSession, *, actor: Principal) -> list[TeamRead]:
    teams = list((await session.scalars(visible_to(actor).order_by(Team.name))).all())
    members = await _members(session, actor.organization_id, [t.id for t in teams])
    return [TeamRead.model_validate(t).model_copy(update={"member_ids": members[t.id]}) for t in teams]


async def create(session: AsyncSession, body: TeamCreate, *, actor: Principal) -> TeamRead:
    await references.check(session, actor, body, {"leader_user_id": MEMBER})
    team = Team(organization_id=actor.organization_id, **body.model_dump())
    session.add(team)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as e:
        raise Conflict("A team with this name exists.") from e
    await audit.record(session, actor=actor, action="team.created", object_type="team", object_id=team.id)
    return await to_read(session, team)


async def update(session: AsyncSession, team: Team, body: TeamUpdate, *, actor: Principal) -> TeamRead:
    data = body.model_dump(exclude_unset=True)
    await references.check(session, actor, body, {"leader_user_id": MEMBER})
    for k, v in data.items():
        setattr(team, k, v)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as e:
        raise Conflict("A team with this name exists.") from e
    return await to_read(session, team)


async def remove(session: AsyncSession, team: Team, *, actor: Principal) -> None:
    auth_cache.changed(session)
    await session.delete(team)
    await session.flush()
    await audit.record(session, actor=actor, action="team.deleted", object_type="team", object_id=team.id)


async def add_members(session: AsyncSession, team: Team, user_ids: list[uuid.UUID], *, actor: Principal) -> TeamRead:
    await references.check(session, actor, {"user_ids": user_ids}, {"user_ids": MEMBER})
    auth_cache.changed(session)
    await session.execute(
        pg_insert(TeamMember)
        .values([{"organization_id": team.organization_id, "team_id": team.id, "user_id": u} for u in user_ids])
        .on_conflict_do_nothing()
    )
    return await to_read(session, team)


async def remove_member(session: AsyncSession, team: Team, user_id: uuid.UUID, *, actor: Principal) -> TeamRead:
    auth_cache.changed(session)
    await session.execute(
        delete(TeamMember).where(
            TeamMember.organization_id == team.organization_id,
            TeamMember.team_id == team.id,
            TeamMember.user_id == user_id,
        )
    )
    return await to_read(session, team)

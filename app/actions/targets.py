"""An action's targets as HQ sees them: a keyset-paged, sortable table (status, assignee, last outcome, attempts)
and the set-based reassignment of a selection or of everything a filter matches.

Who sees which targets, written once (`in_scope`): managers every target of the action; team leaders the
targets assigned to members of their teams and the unassigned pool (from which they hand work to their teams).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field
from sqlalchemy import (
    Float,
    Integer,
    String,
    and_,
    bindparam,
    func,
    literal,
    or_,
    select,
    true,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import TypeEngine

from app.audit import service as audit
from app.auth.permissions import Perm
from app.auth.principal import Principal
from app.auth.references import MEMBER, TEAM, Kind
from app.core.errors import Unprocessable
from app.core.pagination import decode_cursor, encode_cursor
from app.core.schemas import Id, Strict
from app.models import Action, ActionTarget, ActionTeam, ActionVolunteer, Contact, Team, TeamMember, User
from app.models.statuses import FINISHED_TARGET, TargetStatus

StoredStatus = Literal["pending", "callback", "done", "closed"]
TargetSort = Literal[
    "name", "-name", "status", "-status", "attempts", "-attempts", "last_attempt", "-last_attempt",
    "assignee", "-assignee", "last_outcome", "-last_outcome",
]  # fmt: skip

T = ActionTarget.__table__.c


class TargetFilter(Strict):
    """The table's filter: statuses (any of), and one assignee: a volunteer, the members of a team, or nobody."""

    status: list[StoredStatus] = Field(default_factory=list, max_length=4)
    assignee_user_id: Id | None = None
    team_id: Id | None = Field(None, description="Targets assigned to a member of this team.")
    unassigned: bool = Field(False, description="Only the unassigned pool.")


class TargetRow(BaseModel):
    id: uuid.UUID
    contact_id: uuid.UUID
    name: str
    address: str | None
    status: str
    leased: bool = Field(description="Someone is calling or visiting this target right now.")
    attempts: int
    last_outcome: str | None
    last_attempt_at: datetime | None
    turf_no: int | None
    assignee_user_id: uuid.UUID | None
    assignee_name: str | None
    assignee_teams: list[str] = Field(description="The assignee's teams that are on this action.")


class TargetPage(BaseModel):
    items: list[TargetRow]
    next_cursor: str | None = None
    total: int


class TargetReassign(Strict):
    """Move targets: the ids given, or every target `matching` the filter. To one volunteer of the action, to a
    team of the action (spread over its members, balanced to within one), or `release` them to the pool."""

    target_ids: list[Id] = Field(default_factory=list, max_length=5000)
    matching: TargetFilter | None = None
    to_user_id: Id | None = None
    to_team_id: Id | None = None
    release: bool = False


def _check_shape(body: TargetReassign) -> None:
    """One destination and one selection (checked after the ids, so a foreign id is named first)."""
    if sum([body.to_user_id is not None, body.to_team_id is not None, body.release]) != 1:
        raise Unprocessable(
            "Give exactly one of to_user_id, to_team_id or release.",
            details=[{"field": "to_user_id", "message": "give exactly one of to_user_id, to_team_id or release"}],
        )
    if bool(body.target_ids) == (body.matching is not None):
        raise Unprocessable(
            "Give either target_ids or matching.",
            details=[{"field": "target_ids", "message": "give either target_ids or matching"}],
        )


class ReassignResult(BaseModel):
    matched: int
    updated: int
    skipped_leased: int = Field(description="Left alone: someone holds a live lease on them (a call or a visit).")
    skipped_finished: int = Field(description="Left alone: done or closed.")


def in_scope(actor: Principal, action_id: uuid.UUID) -> ColumnElement[bool]:
    """The targets of `action_id` the actor may see and move (see the module's docstring)."""
    conds: list[ColumnElement[bool]] = [T.organization_id == actor.organization_id, T.action_id == action_id]
    if not actor.can(Perm.manage_actions):
        mates = select(TeamMember.user_id).where(
            TeamMember.organization_id == actor.organization_id, TeamMember.team_id.in_(actor.team_ids)
        )
        conds.append(or_(T.assignee_user_id.is_(None), T.assignee_user_id.in_(mates)))
    return and_(*conds)


def matching(actor: Principal, f: TargetFilter | None) -> ColumnElement[bool]:
    if f is None:
        return true()
    conds: list[ColumnElement[bool]] = []
    if f.status:
        conds.append(T.status.in_(f.status))
    if f.unassigned:
        conds.append(T.assignee_user_id.is_(None))
    if f.assignee_user_id is not None:
        conds.append(T.assignee_user_id == f.assignee_user_id)
    if f.team_id is not None:
        conds.append(
            T.assignee_user_id.in_(
                select(TeamMember.user_id).where(
                    TeamMember.organization_id == actor.organization_id, TeamMember.team_id == f.team_id
                )
            )
        )
    return and_(true(), *conds)


def _leased() -> ColumnElement[bool]:
    return and_(T.lease_expires_at.is_not(None), T.lease_expires_at > func.now())


# Kinds of id a reassignment may name: a target the caller may move, a volunteer or a team on this action.
def scoped_targets_of(action_id: uuid.UUID) -> Kind:
    async def load(session: AsyncSession, actor: Principal, ids: set[uuid.UUID]) -> set[uuid.UUID]:
        q = select(T.id).where(in_scope(actor, action_id), T.id.in_(ids))
        return set((await session.scalars(q)).all())

    return Kind("target of this action", load)


def volunteers_of(action_id: uuid.UUID) -> Kind:
    async def load(session: AsyncSession, actor: Principal, ids: set[uuid.UUID]) -> set[uuid.UUID]:
        org = actor.organization_id
        direct = select(ActionVolunteer.user_id).where(
            ActionVolunteer.organization_id == org, ActionVolunteer.action_id == action_id
        )
        via = select(TeamMember.user_id).where(
            TeamMember.organization_id == org,
            TeamMember.team_id.in_(
                select(ActionTeam.team_id).where(ActionTeam.organization_id == org, ActionTeam.action_id == action_id)
            ),
        )
        q = select(User.id).where(User.id.in_(ids), or_(User.id.in_(direct), User.id.in_(via)))
        return set((await session.scalars(q)).all())

    return Kind("volunteer of this action", load)


def teams_of(action_id: uuid.UUID) -> Kind:
    async def load(session: AsyncSession, actor: Principal, ids: set[uuid.UUID]) -> set[uuid.UUID]:
        q = select(ActionTeam.team_id).where(
            ActionTeam.organization_id == actor.organization_id,
            ActionTeam.action_id == action_id,
            ActionTeam.team_id.in_(ids),
        )
        return set((await session.scalars(q)).all())

    return Kind("team of this action", load)


FILTER_REFS: dict[str, Kind] = {"assignee_user_id": MEMBER, "team_id": TEAM}


def reassign_refs(a: Action) -> dict[str, Kind]:
    return {
        "target_ids": scoped_targets_of(a.id),
        "to_user_id": volunteers_of(a.id),
        "to_team_id": teams_of(a.id),
        **{f"matching.{k}": v for k, v in FILTER_REFS.items()},
    }


# Sort keys: non-null expressions (so one row comparison starts the next page), then the target's id.
_NAME = [Contact.last_name, Contact.first_name]
_SORTS: dict[str, list[Any]] = {
    "name": _NAME,
    "status": [T.status, *_NAME],
    "attempts": [T.attempts, *_NAME],
    "last_attempt": [func.coalesce(func.extract("epoch", T.last_attempt_at), 0.0), *_NAME],
    "assignee": [func.coalesce(User.full_name, ""), *_NAME],
    "last_outcome": [func.coalesce(T.last_outcome, ""), *_NAME],
}
_TYPES: dict[str, list[Callable[[Any], Any]]] = {
    "name": [str, str],
    "status": [str, str, str],
    "attempts": [int, str, str],
    "last_attempt": [float, str, str],
    "assignee": [str, str, str],
    "last_outcome": [str, str, str],
}
_SQL_TYPES: dict[Callable[[Any], Any], TypeEngine[Any]] = {str: String(), int: Integer(), float: Float()}


def _after(sort: str, key: list[Any], cursor: str | None) -> ColumnElement[bool] | None:
    """The page's start: a cursor is [sort, key…, id], refused if it comes from another sort."""
    values = decode_cursor(cursor)
    if values is None:
        return None
    name, desc = sort.lstrip("-"), sort.startswith("-")
    parsers = _TYPES[name]
    if len(values) != len(parsers) + 2 or values[0] != sort:
        raise Unprocessable("Invalid cursor.", details=[{"field": "cursor", "message": "from another sort"}])
    try:
        typed = [p(v) for p, v in zip(parsers, values[1:-1], strict=True)]
        last = uuid.UUID(str(values[-1]))
    except (TypeError, ValueError) as e:
        raise Unprocessable("Invalid cursor.", details=[{"field": "cursor", "message": "malformed"}]) from e
    row = tuple_(*key, T.id)
    marks = tuple_(*[literal(v, _SQL_TYPES[p]) for p, v in zip(parsers, typed, strict=True)], literal(last, UUID()))
    return row < marks if desc else row > marks


async def list_targets(
    session: AsyncSession,
    a: Action,
    *,
    actor: Principal,
    f: TargetFilter,
    sort: str,
    limit: int,
    cursor: str | None,
) -> TargetPage:
    name, desc = sort.lstrip("-"), sort.startswith("-")
    key = _SORTS[name]
    org = a.organization_id
    teams = (
        select(func.coalesce(func.array_agg(Team.name.distinct()), []))
        .join(TeamMember, and_(TeamMember.organization_id == Team.organization_id, TeamMember.team_id == Team.id))
        .join(ActionTeam, and_(ActionTeam.organization_id == Team.organization_id, ActionTeam.team_id == Team.id))
        .where(
            Team.organization_id == org,
            ActionTeam.action_id == a.id,
            TeamMember.user_id == T.assignee_user_id,
        )
        .scalar_subquery()
    )
    where = and_(in_scope(actor, a.id), matching(actor, f))
    q = (
        select(
            T.id,
            T.contact_id,
            Contact.first_name,
            Contact.last_name,
            Contact.street,
            Contact.street_number,
            Contact.city,
            T.status,
            _leased().label("leased"),
            T.attempts,
            T.last_outcome,
            T.last_attempt_at,
            T.turf_no,
            T.assignee_user_id,
            User.full_name.label("assignee_name"),
            teams.label("assignee_teams"),
            *[k.label(f"k{i}") for i, k in enumerate(key)],
        )
        .select_from(ActionTarget.__table__)
        .join(Contact, and_(Contact.organization_id == T.organization_id, Contact.id == T.contact_id))
        .outerjoin(User, User.id == T.assignee_user_id)
        .where(where)
    )
    if (start := _after(sort, key, cursor)) is not None:
        q = q.where(start)
    order = [*key, T.id]
    q = q.order_by(*[o.desc() if desc else o.asc() for o in order]).limit(limit + 1)
    rows = (await session.execute(q)).mappings().all()
    total = await session.scalar(
        select(func.count())
        .select_from(ActionTarget.__table__)
        .join(Contact, and_(Contact.organization_id == T.organization_id, Contact.id == T.contact_id))
        .where(where)
    )
    nxt = None
    if len(rows) > limit:
        r = rows[limit - 1]
        nxt = encode_cursor([sort, *[r[f"k{i}"] for i in range(len(key))], str(r["id"])])
    items = []
    for r in rows[:limit]:
        addr = " ".join(x for x in (r["street"], r["street_number"]) if x) or None
        if r["city"]:
            addr = f"{addr}, {r['city']}" if addr else r["city"]
        status = TargetStatus.in_progress if r["leased"] and r["status"] not in FINISHED_TARGET else r["status"]
        items.append(
            TargetRow(
                id=r["id"],
                contact_id=r["contact_id"],
                name=f"{r['first_name']} {r['last_name']}".strip(),
                address=addr,
                status=status,
                leased=bool(r["leased"]),
                attempts=r["attempts"],
                last_outcome=r["last_outcome"],
                last_attempt_at=r["last_attempt_at"],
                turf_no=r["turf_no"],
                assignee_user_id=r["assignee_user_id"],
                assignee_name=r["assignee_name"],
                assignee_teams=list(r["assignee_teams"] or []),
            )
        )
    return TargetPage(items=items, next_cursor=nxt, total=int(total or 0))


async def _team_members(session: AsyncSession, org: uuid.UUID, team_id: uuid.UUID) -> list[uuid.UUID]:
    return list(
        (
            await session.scalars(
                select(TeamMember.user_id)
                .where(TeamMember.organization_id == org, TeamMember.team_id == team_id)
                .order_by(TeamMember.user_id)
            )
        ).all()
    )


async def reassign(session: AsyncSession, a: Action, body: TargetReassign, *, actor: Principal) -> ReassignResult:
    """One UPDATE over the selection. A target under a live lease (someone on the phone or at the door) is
    never touched: the lease test is in the UPDATE's own WHERE, so it is re-checked on a row a concurrent claim
    has just locked; such targets are counted in `skipped_leased`. Finished targets stay where they are."""
    _check_shape(body)
    org = a.organization_id
    selected = and_(
        in_scope(actor, a.id), T.id.in_(body.target_ids) if body.target_ids else matching(actor, body.matching)
    )
    counts = (
        await session.execute(
            select(
                func.count(),
                func.count().filter(T.status.in_([str(s) for s in FINISHED_TARGET])),
            )
            .select_from(ActionTarget.__table__)
            .where(selected)
        )
    ).one()
    matched, finished = int(counts[0]), int(counts[1])
    eligible = and_(selected, T.status.not_in([str(s) for s in FINISHED_TARGET]))
    free = or_(T.lease_expires_at.is_(None), T.lease_expires_at <= func.now())
    if body.to_team_id is not None:
        members = await _team_members(session, org, body.to_team_id)
        if not members:
            raise Unprocessable(
                "This team has no members.", details=[{"field": "to_team_id", "message": "team has no members"}]
            )
        numbered = (
            select(T.id.label("id"), func.row_number().over(order_by=T.id).label("rn")).where(eligible, free).subquery()
        )
        arr = ARRAY(UUID(as_uuid=True))
        m = (
            func.unnest(bindparam("members", members, type_=arr))
            .table_valued("user_id", with_ordinality="i")
            .render_derived()
        )
        pick = select(numbered.c.id, m.c.user_id).join(m, m.c.i == (numbered.c.rn - 1) % len(members) + 1).subquery()
        stmt = (
            update(ActionTarget)
            .execution_options(synchronize_session=False)
            .where(T.organization_id == org, T.id == pick.c.id, free)
            .values(assignee_user_id=pick.c.user_id)
        )
    else:
        stmt = (
            update(ActionTarget)
            .execution_options(synchronize_session=False)
            .where(T.organization_id == org, eligible, free)
            .values(assignee_user_id=body.to_user_id)
        )
    updated = int((await session.execute(stmt)).rowcount)  # type: ignore[attr-defined]
    result = ReassignResult(
        matched=matched, updated=updated, skipped_leased=matched - finished - updated, skipped_finished=finished
    )
    to = (
        {"to_user_id": str(body.to_user_id)}
        if body.to_user_id
        else {"to_team_id": str(body.to_team_id)}
        if body.to_team_id
        else {"released": True}
    )
    await audit.record(
        session,
        actor=actor,
        action="action.targets_reassigned",
        object_type="action",
        object_id=a.id,
        details={**to, **result.model_dump(), "by": "ids" if body.target_ids else "filter"},
    )
    return result

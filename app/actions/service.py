"""Actions: create (targets materialized in SQL), read, update, refresh targets, participation, documents."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from geoalchemy2 import WKTElement
from geoalchemy2.shape import to_shape
from sqlalchemy import and_, delete, func, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.actions import assignment, targeting
from app.actions.repository import can_edit, visible_to
from app.actions.schemas import (
    ActionCreate,
    ActionRead,
    ActionUpdate,
    Assignment,
    DocumentRead,
    MeetingPoint,
    ParticipantRead,
    Participation,
    ParticipationOverview,
    ParticipationSet,
    RefreshResult,
)
from app.audit import service as audit
from app.auth import references
from app.auth.permissions import Perm
from app.auth.principal import Principal
from app.auth.references import MEMBER, SMS_TEMPLATE, SURVEY, TEAM, Kind, targets_of
from app.contacts.filters import SegmentFilter
from app.core import paths
from app.core.errors import Forbidden, NotFound, Unprocessable
from app.core.pagination import decode_cursor, encode_cursor
from app.models import (
    Action,
    ActionDocument,
    ActionTarget,
    ActionTeam,
    ActionVolunteer,
    User,
)
from app.models import Participation as ParticipationRow
from app.models.statuses import FINISHED_TARGET
from app.push import triggers as push


class ActionNotFound(NotFound):
    code = "action_not_found"
    message = "Action not found."


async def get(session: AsyncSession, action_id: uuid.UUID, *, actor: Principal) -> Action:
    a = await session.scalar(visible_to(actor).where(Action.id == action_id))
    if a is None:
        raise ActionNotFound()
    return a


async def team_ids(session: AsyncSession, a: Action) -> list[uuid.UUID]:
    return list(
        (
            await session.scalars(
                select(ActionTeam.team_id).where(
                    ActionTeam.organization_id == a.organization_id, ActionTeam.action_id == a.id
                )
            )
        ).all()
    )


async def ensure_editable(session: AsyncSession, a: Action, actor: Principal) -> None:
    if not can_edit(actor, set(await team_ids(session, a))):
        raise Forbidden("Only managers, or the leaders of this action's teams, can change it.")


# Which kind of object each id in a body names (checked in one place: app/auth/references.py).
ASSIGNMENT_REFS = {"volunteer_ids": MEMBER, "team_ids": TEAM, "user_id": MEMBER}
CREATE_REFS = {
    "survey_id": SURVEY,
    "p2p_template_id": SMS_TEMPLATE,
    "team_ids": TEAM,
    "volunteer_ids": MEMBER,
    **{f"assignment.{k}": kind for k, kind in ASSIGNMENT_REFS.items()},
    "assignment.target_ids": targets_of(None),  # no target exists before the action does
}
UPDATE_REFS = {"survey_id": SURVEY, "p2p_template_id": SMS_TEMPLATE, "team_ids": TEAM, "volunteer_ids": MEMBER}


def assign_refs(a: Action) -> dict[str, Kind]:
    return {**ASSIGNMENT_REFS, "target_ids": targets_of(a.id)}


def _check_open_to_all(actor: Principal, value: bool | None) -> None:
    """Opening an action's targets to every volunteer on it, beyond team-mates, is HQ's decision."""
    if value and not actor.can(Perm.manage_actions):
        raise Forbidden("Only managers can open an action to every volunteer on it.")


def _point(mp: MeetingPoint | None) -> Any:
    if mp is None or mp.lat is None or mp.lon is None:
        return None
    return WKTElement(f"POINT({mp.lon} {mp.lat})", srid=4326)


async def create(session: AsyncSession, body: ActionCreate, *, actor: Principal) -> Action:
    org = actor.organization_id
    await references.check(session, actor, body, CREATE_REFS)
    if not actor.can(Perm.manage_actions) and not (set(body.team_ids) & set(actor.team_ids)):
        raise Forbidden("Team leaders create actions for their own teams.")
    _check_open_to_all(actor, body.open_to_all_volunteers)
    a = Action(
        organization_id=org,
        id=uuid.uuid4(),
        type=body.type,
        title=body.title,
        description=body.description,
        brief=body.brief,
        starts_at=body.starts_at,
        ends_at=body.ends_at,
        meeting_point_label=body.meeting_point.label if body.meeting_point else None,
        meeting_point=_point(body.meeting_point),
        status=body.status,
        survey_id=body.survey_id,
        p2p_template_id=body.p2p_template_id,
        filter=body.filter.model_dump(mode="json", exclude_defaults=True),
        reached_tag=body.reached_tag,
        allow_others=body.allow_others,
        open_to_all_volunteers=body.open_to_all_volunteers,
        max_attempts=body.max_attempts,
        retry_delay_minutes=body.retry_delay_minutes,
        created_by=actor.user_id,
    )
    session.add(a)
    await session.flush()
    if body.team_ids:
        await session.execute(
            pg_insert(ActionTeam).values(
                [{"organization_id": org, "action_id": a.id, "team_id": t} for t in body.team_ids]
            )
        )
    vols = await assignment.resolve_volunteers(
        session, org, Assignment(strategy="round_robin", volunteer_ids=body.volunteer_ids)
    )
    split = body.assignment
    split_vols: list[uuid.UUID] | None = None
    if split is not None and split.strategy == "round_robin":
        split_vols = await assignment.resolve_volunteers(session, org, split)
        vols += [v for v in split_vols if v not in vols]
    if vols:
        await session.execute(
            pg_insert(ActionVolunteer)
            .values([{"organization_id": org, "action_id": a.id, "user_id": v} for v in vols])
            .on_conflict_do_nothing()
        )
        push.action_assigned(session, org, a.id, a.title, [v for v in vols if v != actor.user_id])
    conds = await targeting.conditions(session, body.filter, organization_id=org, action_type=body.type, actor=actor)
    a.target_count = await targeting.materialize(
        session, organization_id=org, action_id=a.id, conds=conds, volunteers=split_vols or None
    )
    if split is not None and split.strategy != "round_robin":
        await assignment.assign(session, a, split)
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        action="action.created",
        object_type="action",
        object_id=a.id,
        details={"targets": a.target_count},
    )
    return a


async def refresh_targets(session: AsyncSession, a: Action, *, actor: Principal) -> RefreshResult:
    conds = await targeting.conditions(
        session, SegmentFilter.model_validate(a.filter), organization_id=a.organization_id, action_type=a.type
    )
    added = await targeting.materialize(session, organization_id=a.organization_id, action_id=a.id, conds=conds)
    a.target_count = int(
        await session.scalar(
            select(func.count())
            .select_from(ActionTarget)
            .where(ActionTarget.organization_id == a.organization_id, ActionTarget.action_id == a.id)
        )
        or 0
    )
    await session.flush()
    return RefreshResult(added=added, target_count=a.target_count)


async def update(session: AsyncSession, a: Action, body: ActionUpdate, *, actor: Principal) -> Action:
    data = body.model_dump(exclude_unset=True)
    nulls = [
        k
        for k in (
            "title",
            "description",
            "brief",
            "status",
            "allow_others",
            "open_to_all_volunteers",
            "max_attempts",
            "retry_delay_minutes",
        )
        if k in data and data[k] is None
    ]
    if nulls:
        raise Unprocessable(
            "These fields cannot be null.", details=[{"field": k, "message": "cannot be null"} for k in nulls]
        )
    await references.check(session, actor, body, UPDATE_REFS)
    _check_open_to_all(actor, data.get("open_to_all_volunteers"))
    for k in (
        "title",
        "description",
        "brief",
        "starts_at",
        "ends_at",
        "status",
        "survey_id",
        "p2p_template_id",
        "reached_tag",
        "allow_others",
        "open_to_all_volunteers",
        "max_attempts",
        "retry_delay_minutes",
    ):
        if k in data:
            setattr(a, k, data[k])
    if "meeting_point" in data:
        a.meeting_point_label = body.meeting_point.label if body.meeting_point else None
        a.meeting_point = _point(body.meeting_point)
    if a.starts_at and a.ends_at and a.ends_at < a.starts_at:
        raise Unprocessable("ends_at is before starts_at.", details=[{"field": "ends_at", "message": "before start"}])
    if body.team_ids is not None:
        await session.execute(
            delete(ActionTeam).where(ActionTeam.organization_id == a.organization_id, ActionTeam.action_id == a.id)
        )
        if body.team_ids:
            await session.execute(
                pg_insert(ActionTeam).values(
                    [{"organization_id": a.organization_id, "action_id": a.id, "team_id": t} for t in body.team_ids]
                )
            )
    if body.volunteer_ids is not None:
        vols = await assignment.resolve_volunteers(
            session, a.organization_id, Assignment(strategy="round_robin", volunteer_ids=body.volunteer_ids)
        )
        before = await session.scalars(
            delete(ActionVolunteer)
            .where(ActionVolunteer.organization_id == a.organization_id, ActionVolunteer.action_id == a.id)
            .returning(ActionVolunteer.user_id)
        )
        added = set(vols) - set(before) - {actor.user_id}
        if vols:
            await session.execute(
                pg_insert(ActionVolunteer).values(
                    [{"organization_id": a.organization_id, "action_id": a.id, "user_id": v} for v in vols]
                )
            )
        push.action_assigned(session, a.organization_id, a.id, a.title, added)
    a.updated_at = datetime.now(UTC)
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        action="action.updated",
        object_type="action",
        object_id=a.id,
        details={"fields": sorted(data)},
    )
    return a


async def remove(session: AsyncSession, a: Action, *, actor: Principal) -> None:
    await session.execute(delete(Action).where(Action.organization_id == a.organization_id, Action.id == a.id))
    await audit.record(session, actor=actor, action="action.deleted", object_type="action", object_id=a.id)


async def my_participation(session: AsyncSession, a: Action, user_id: uuid.UUID) -> Participation | None:
    row = await session.scalar(
        select(ParticipationRow).where(
            ParticipationRow.organization_id == a.organization_id,
            ParticipationRow.action_id == a.id,
            ParticipationRow.user_id == user_id,
        )
    )
    return Participation(status=row.status, availability=row.availability, updated_at=row.updated_at) if row else None


async def to_read(session: AsyncSession, a: Action, *, actor: Principal) -> ActionRead:
    return (await to_read_many(session, [a], actor=actor))[0]


async def to_read_many(session: AsyncSession, actions: list[Action], *, actor: Principal) -> list[ActionRead]:
    """Read models for a page of actions: one query per related table, whatever the page size."""
    if not actions:
        return []
    org, ids = actions[0].organization_id, [a.id for a in actions]
    vols: dict[uuid.UUID, list[uuid.UUID]] = {i: [] for i in ids}
    for aid, uid in (
        await session.execute(
            select(ActionVolunteer.action_id, ActionVolunteer.user_id).where(
                ActionVolunteer.organization_id == org, ActionVolunteer.action_id.in_(ids)
            )
        )
    ).all():
        vols[aid].append(uid)
    teams: dict[uuid.UUID, list[uuid.UUID]] = {i: [] for i in ids}
    for aid, tid in (
        await session.execute(
            select(ActionTeam.action_id, ActionTeam.team_id).where(
                ActionTeam.organization_id == org, ActionTeam.action_id.in_(ids)
            )
        )
    ).all():
        teams[aid].append(tid)
    done = dict(
        (
            await session.execute(
                select(ActionTarget.action_id, func.count())
                .where(
                    ActionTarget.organization_id == org,
                    ActionTarget.action_id.in_(ids),
                    ActionTarget.status.in_(FINISHED_TARGET),
                )
                .group_by(ActionTarget.action_id)
            )
        ).all()
    )
    docs: dict[uuid.UUID, list[DocumentRead]] = {i: [] for i in ids}
    for d in (
        await session.scalars(
            select(ActionDocument).where(ActionDocument.organization_id == org, ActionDocument.action_id.in_(ids))
        )
    ).all():
        docs[d.action_id].append(
            DocumentRead(
                id=d.id,
                name=d.filename,
                url=paths.action_document(d.action_id, d.id),
                size_bytes=d.size_bytes,
                content_type=d.content_type,
            )
        )
    mine = {
        p.action_id: Participation(
            status=p.status,
            availability=p.availability,
            updated_at=p.updated_at,
        )
        for p in (
            await session.scalars(
                select(ParticipationRow).where(
                    ParticipationRow.organization_id == org,
                    ParticipationRow.action_id.in_(ids),
                    ParticipationRow.user_id == actor.user_id,
                )
            )
        ).all()
    }
    out = []
    for a in actions:
        mp = None
        if a.meeting_point_label or a.meeting_point is not None:
            pt = to_shape(a.meeting_point) if a.meeting_point is not None else None
            mp = MeetingPoint(label=a.meeting_point_label or "", lat=pt.y if pt else None, lon=pt.x if pt else None)
        out.append(
            ActionRead(
                id=a.id,
                type=a.type,
                title=a.title,
                description=a.description,
                brief=a.brief,
                starts_at=a.starts_at,
                ends_at=a.ends_at,
                meeting_point=mp,
                status=a.status,
                survey_id=a.survey_id,
                p2p_template_id=a.p2p_template_id,
                filter=a.filter,
                team_ids=teams[a.id],
                volunteer_ids=vols[a.id],
                reached_tag=a.reached_tag,
                allow_others=a.allow_others,
                open_to_all_volunteers=a.open_to_all_volunteers,
                max_attempts=a.max_attempts,
                retry_delay_minutes=a.retry_delay_minutes,
                target_count=a.target_count,
                done_count=int(done.get(a.id, 0)),
                my_participation=mine.get(a.id),
                documents=docs[a.id],
                created_at=a.created_at,
            )
        )
    return out


async def set_participation(
    session: AsyncSession, a: Action, body: ParticipationSet, *, actor: Principal
) -> Participation:
    stmt = pg_insert(ParticipationRow).values(
        organization_id=a.organization_id,
        action_id=a.id,
        user_id=actor.user_id,
        status=body.status,
        availability=body.availability,
    )
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=["organization_id", "action_id", "user_id"],
            set_={"status": body.status, "availability": body.availability, "updated_at": func.now()},
        )
    )
    p = await my_participation(session, a, actor.user_id)
    assert p is not None
    return p


async def participation(session: AsyncSession, a: Action, *, actor: Principal) -> ParticipationOverview:
    mine = await my_participation(session, a, actor.user_id)
    if not actor.can(Perm.lead_actions):
        return ParticipationOverview(mine=mine)
    rows = (
        await session.execute(
            select(ParticipationRow, User.full_name)
            .join(User, User.id == ParticipationRow.user_id)
            .where(ParticipationRow.organization_id == a.organization_id, ParticipationRow.action_id == a.id)
            .order_by(User.full_name)
        )
    ).all()
    counts = {"going": 0, "maybe": 0, "not_going": 0}
    people = []
    for p, name in rows:
        counts[p.status] += 1
        people.append(
            ParticipantRead(
                user_id=p.user_id, full_name=name, status=p.status, availability=p.availability, updated_at=p.updated_at
            )
        )
    return ParticipationOverview(mine=mine, counts=counts, participants=people)


async def list_actions(
    session: AsyncSession, *, actor: Principal, mine: bool, status: str | None, limit: int, cursor: str | None
) -> tuple[list[Action], str | None, int | None]:
    """Newest start first, undated last; keyset pages on (starts_at, id). The first page also counts them all."""
    from app.actions.repository import on_action

    q = visible_to(actor)
    if mine:
        q = q.where(Action.id.in_(on_action(actor)))
    if status:
        q = q.where(Action.status == status)
    total = None
    if cursor is None:
        total = int(await session.scalar(select(func.count()).select_from(q.order_by(None).subquery())) or 0)
    if (after := decode_cursor(cursor)) is not None:
        try:
            starts, last = (datetime.fromisoformat(after[0]) if after[0] else None), uuid.UUID(after[1])
        except (IndexError, TypeError, ValueError) as e:
            raise Unprocessable("Invalid cursor.", details=[{"field": "cursor", "message": "malformed"}]) from e
        undated_after = and_(Action.starts_at.is_(None), Action.id > last)
        q = q.where(
            undated_after
            if starts is None
            else or_(
                Action.starts_at < starts,
                and_(Action.starts_at == starts, Action.id > last),
                Action.starts_at.is_(None),
            )
        )
    rows = list(
        (await session.scalars(q.order_by(Action.starts_at.desc().nulls_last(), Action.id).limit(limit + 1))).all()
    )
    nxt = None
    if len(rows) > limit:
        a = rows[limit - 1]
        nxt = encode_cursor([a.starts_at.isoformat() if a.starts_at else None, str(a.id)])
    return rows[:limit], nxt, total

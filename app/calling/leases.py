"""Calling lists, row-level claims and every write to `action_targets` made by the field. A lease is a row state
(who, until when), never a lock held while someone is on the phone: a claim is one conditional UPDATE over a
FOR UPDATE SKIP LOCKED pick.

Who may call whom, in one place (`may_take`): one's own targets, the unassigned pool, a target one already
holds and, when the action is open to others, team-mates' (everyone's on the action when HQ opened it to every
volunteer on it). Which actions: `actions.repository.workable`, the same visibility rule as every action
loader, plus "running" (scheduled or active, within its dates)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import (
    ColumnElement,
    DateTime,
    Row,
    SmallInteger,
    and_,
    case,
    cast,
    exists,
    func,
    literal,
    null,
    or_,
    select,
    text,
    true,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import UUID as PgUUID
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app.actions import repository as actions_repo
from app.auth.permissions import Perm
from app.auth.principal import Principal
from app.calling.schemas import (
    CallTargetRead,
    OtherMember,
    OthersSummary,
    Phone,
    RevealedContact,
    StartCallResponse,
)
from app.core import pagination
from app.core.errors import AppError, Conflict, NotFound
from app.core.pagination import Page
from app.core.sql import const, one_of
from app.models import Action, ActionTarget, Contact, TeamMember, User
from app.models.statuses import FINISHED_TARGET, OPEN_TARGET, CallOutcome, TargetStatus

LEASE = timedelta(minutes=15)

t = aliased(ActionTarget, name="t")
c = aliased(Contact, name="c")
a = aliased(Action, name="a")
_other = aliased(ActionTarget, name="o")
_assignee = aliased(User, name="u")


class NoTargetAvailable(NotFound):
    code = "no_target_available"
    message = "Nobody left to call right now."


class TargetNotFound(NotFound):
    code = "target_not_found"
    message = "Target not found."


class TargetTaken(Conflict):
    code = "target_taken"
    message = "Someone else is calling this person right now."


class ActionNotRunning(Conflict):
    code = "action_not_running"
    message = "This action is not open for calls right now (draft, paused, closed, or outside its dates)."


def _same_contact() -> ColumnElement[bool]:
    return and_(c.organization_id == t.organization_id, c.id == t.contact_id)


def _same_action() -> ColumnElement[bool]:
    return and_(a.organization_id == t.organization_id, a.id == t.action_id)


def callable_now(me: uuid.UUID) -> ColumnElement[bool]:
    """The target can be called: open and due, not leased by someone else, its contact still has a valid number
    and no phone opt-out (never comes back), and nobody is on the phone with that person in another action."""
    now = func.now()
    return and_(
        one_of(t.status, OPEN_TARGET),
        or_(t.available_at.is_(None), t.available_at <= now),
        or_(t.lease_expires_at.is_(None), t.lease_expires_at < now, t.lease_user_id == me),
        ~c.dnc_phone,
        func.coalesce(c.consent_phone, const("")) != const("withdrawn"),
        or_(and_(c.mobile_e164.is_not(None), ~c.mobile_invalid), and_(c.home_e164.is_not(None), ~c.home_invalid)),
        ~exists().where(
            _other.organization_id == t.organization_id,
            _other.contact_id == t.contact_id,
            _other.id != t.id,
            _other.lease_expires_at > now,
            _other.lease_user_id != me,
        ),
    )


def others_allowed(actor: Principal) -> ColumnElement[bool]:
    """A target assigned to someone else that the caller may take: the action is open to others, and the
    assignee is a team-mate, unless HQ opened the action to every volunteer on it (managers: anyone's)."""
    if actor.can(Perm.manage_actions):
        return and_(a.allow_others)
    return and_(a.allow_others, or_(a.open_to_all_volunteers, t.assignee_user_id.in_(_teammates(actor))))


def may_take(actor: Principal) -> ColumnElement[bool]:
    me = actor.user_id
    return or_(t.assignee_user_id == me, t.assignee_user_id.is_(None), t.lease_user_id == me, others_allowed(actor))


def _status(r: Any) -> TargetStatus:
    if r.status in OPEN_TARGET and r.lease_expires_at is not None and r.lease_active:
        return TargetStatus.in_progress
    return TargetStatus(r.status)


def _row(r: Any, with_assignee: bool = False) -> CallTargetRead:
    return CallTargetRead(
        id=r.id,
        contact_id=r.contact_id,
        first_name=r.first_name,
        last_name=r.last_name,
        area=r.area,
        status=_status(r),
        attempts=r.attempts,
        callback_at=r.callback_at,
        last_outcome=r.last_outcome,
        assignee_name=r.assignee_name if with_assignee else None,
    )


def _entry_columns(*, lease_active: ColumnElement[bool], assignee: Any) -> tuple[Any, ...]:
    return (
        t.id,
        t.contact_id,
        c.first_name,
        c.last_name,
        func.coalesce(c.city, c.postal_code).label("area"),
        t.status,
        t.attempts,
        t.callback_at,
        t.last_outcome,
        t.lease_expires_at,
        lease_active.label("lease_active"),
        assignee.label("assignee_name"),
    )


_NEVER = cast(literal("infinity"), DateTime(timezone=True))


def _order(fin: Any, callback: Any, last: Any, first: Any, tid: Any) -> Any:
    """The calling order: open first, by callback time (none last), name, id; one row value for the keyset."""
    return tuple_(fin, func.coalesce(callback, _NEVER), last, first, tid)


async def _list(
    session: AsyncSession, action: Action, where: ColumnElement[bool], *, limit: int, cursor: str | None
) -> tuple[list[Row[Any]], str | None, int]:
    base = (
        select(*_entry_columns(lease_active=t.lease_expires_at > func.now(), assignee=_assignee.full_name))
        .add_columns(one_of(t.status, FINISHED_TARGET).label("finished"))
        .select_from(t)
        .join(c, _same_contact())
        .join(a, _same_action())
        .outerjoin(_assignee, _assignee.id == t.assignee_user_id)
        .where(t.organization_id == action.organization_id, t.action_id == action.id, where)
    )
    total = await session.scalar(select(func.count()).select_from(base.subquery())) or 0
    key = _order(one_of(t.status, FINISHED_TARGET), t.callback_at, c.last_name, c.first_name, t.id)
    q = base
    if (last := pagination.after(cursor, pagination.boolean, _when, str, str, uuid.UUID)) is not None:
        q = q.where(key > _order(*(literal(v) if v is not None else null() for v in last)))
    q = q.order_by(
        one_of(t.status, FINISHED_TARGET), func.coalesce(t.callback_at, _NEVER), c.last_name, c.first_name, t.id
    ).limit(limit + 1)
    rows, nxt = pagination.cut(list((await session.execute(q)).all()), limit, _cursor_of)
    return rows, nxt, total


def _cursor_of(r: Row[Any]) -> list[Any]:
    return [r.finished, r.callback_at.isoformat() if r.callback_at else None, r.last_name, r.first_name, str(r.id)]


def _when(v: Any) -> datetime | None:
    return None if v is None else datetime.fromisoformat(v)


def _page(listed: tuple[list[Row[Any]], str | None, int], *, with_assignee: bool = False) -> Page[CallTargetRead]:
    rows, nxt, total = listed
    return Page[CallTargetRead](
        items=[_row(r, with_assignee=with_assignee) for r in rows], next_cursor=nxt, total=total
    )


async def mine(
    session: AsyncSession, action: Action, *, actor: Principal, limit: int, cursor: str | None
) -> Page[CallTargetRead]:
    return _page(await _list(session, action, t.assignee_user_id == actor.user_id, limit=limit, cursor=cursor))


def _others_where(actor: Principal) -> ColumnElement[bool]:
    return and_(
        t.assignee_user_id.is_not(None),
        t.assignee_user_id != actor.user_id,
        one_of(t.status, OPEN_TARGET),
        others_allowed(actor),
    )


async def others(
    session: AsyncSession,
    action: Action,
    *,
    actor: Principal,
    limit: int,
    cursor: str | None,
    member_id: uuid.UUID | None = None,
) -> Page[CallTargetRead]:
    """Open targets assigned to the people whose targets the caller may take (see `others_allowed`), or to one of
    them (`member_id`: nothing when the caller may not take that person's targets)."""
    where = _others_where(actor)
    if member_id is not None:
        where = and_(where, t.assignee_user_id == member_id)
    return _page(await _list(session, action, where, limit=limit, cursor=cursor), with_assignee=True)


def _teammates(actor: Principal) -> Any:
    return select(TeamMember.user_id).where(
        TeamMember.organization_id == actor.organization_id, TeamMember.team_id.in_(actor.team_ids)
    )


async def others_members(session: AsyncSession, action: Action, *, actor: Principal) -> OthersSummary:
    """Whose lists the caller may call from (the same rule as `others`), team-mates first, with how many people
    each has left; and how many are left in the unassigned pool."""
    teammate = t.assignee_user_id.in_(_teammates(actor))
    q = (
        select(t.assignee_user_id, _assignee.full_name, teammate.label("teammate"), func.count().label("open"))
        .select_from(t)
        .join(a, _same_action())
        .join(_assignee, _assignee.id == t.assignee_user_id)
        .where(t.organization_id == action.organization_id, t.action_id == action.id, _others_where(actor))
        .group_by(t.assignee_user_id, _assignee.full_name, teammate)
        .order_by(teammate.desc(), _assignee.full_name, t.assignee_user_id)
    )
    rows = (await session.execute(q)).all()
    pool = await session.scalar(
        select(func.count())
        .select_from(t)
        .where(
            t.organization_id == action.organization_id,
            t.action_id == action.id,
            t.assignee_user_id.is_(None),
            one_of(t.status, OPEN_TARGET),
        )
    )
    return OthersSummary(
        pool=int(pool or 0),
        members=[OtherMember(user_id=r[0], name=r[1] or "", teammate=bool(r[2]), open=int(r[3])) for r in rows],
    )


async def claim_next(session: AsyncSession, action: Action, *, actor: Principal) -> CallTargetRead:
    """Mine first, then the unassigned pool, then team-mates' (when the action allows): one statement each,
    tried in turn until one claims someone. In each, a callback that is due comes before pending people, in the
    same statement (`id = (SELECT COALESCE((callback pick), (pending pick)))`: the second pick runs only when
    the first found nobody, and the outer SELECT keeps the claim a primary-key lookup under row-level
    security). Each pick is an index walk (no sort) FOR UPDATE SKIP LOCKED, so concurrent callers never wait
    on, or get, the same person. Scopes are not folded into one statement: building every pick on each request
    costs more CPU than the round trip it saves (measured). Refused (409) when the action is not running."""
    me, org = actor.user_id, action.organization_id
    scopes = [t.assignee_user_id == me, t.assignee_user_id.is_(None)]
    if action.allow_others:
        scopes.append(and_(t.assignee_user_id != me, others_allowed(actor)))
    dues = (
        and_(t.status == const(TargetStatus.callback.value), t.available_at <= func.now()),
        t.status == const(TargetStatus.pending.value),
    )
    for scope in scopes:
        picks = [
            select(t.id)
            .join(c, _same_contact())
            .join(a, _same_action())
            .where(
                t.organization_id == org,
                t.action_id == action.id,
                scope,
                due,
                callable_now(me),
                actions_repo.workable(actor, a),
            )
            .order_by(t.id)
            .limit(const(1))
            .with_for_update(of=t, skip_locked=True)
            .scalar_subquery()
            for due in dues
        ]
        claim = (
            update(t)
            .values(
                lease_user_id=me,
                lease_expires_at=func.now() + LEASE,
                assignee_user_id=func.coalesce(t.assignee_user_id, me),
            )
            .where(t.organization_id == org, t.id == select(func.coalesce(*picks)).scalar_subquery(), _same_contact())
            .returning(*_entry_columns(lease_active=true(), assignee=null()))
            .execution_options(synchronize_session=False)
        )
        row = (await session.execute(claim)).first()
        if row is not None:
            return _row(row)
    if not await session.scalar(
        select(actions_repo.running(Action)).where(Action.organization_id == org, Action.id == action.id)
    ):
        raise ActionNotRunning()
    raise NoTargetAvailable()


async def start(
    session: AsyncSession, *, actor: Principal, target_id: uuid.UUID
) -> tuple[StartCallResponse, uuid.UUID]:
    """Take (or renew) the lease and reveal the numbers. A target of an action the caller cannot see, or one they
    may not take, is a 404; an action that is not running a 409 `action_not_running`; someone else's live lease a
    409 `target_taken`."""
    me, org = actor.user_id, actor.organization_id
    reveal = (
        update(t)
        .values(lease_user_id=me, lease_expires_at=func.now() + LEASE, last_attempt_at=func.now())
        .where(
            t.organization_id == org,
            t.id == target_id,
            _same_contact(),
            _same_action(),
            a.type == const("call"),
            actions_repo.workable(actor, a),
            callable_now(me),
            may_take(actor),
        )
        .returning(
            t.id,
            t.action_id,
            t.lease_expires_at,
            c.id.label("contact_id"),
            c.first_name,
            c.last_name,
            case((~c.mobile_invalid, c.mobile_e164)).label("mobile"),
            case((~c.home_invalid, c.home_e164)).label("home"),
            c.email,
            func.concat_ws(
                ", ",
                func.nullif(func.concat_ws(" ", c.street, c.street_number), ""),
                c.building,
                c.postal_code,
                c.city,
            ).label("address"),
            c.support_level,
            c.tags,
            c.consent_email,
            c.consent_sms,
            c.consent_phone,
        )
        .execution_options(synchronize_session=False)
    )
    row = (await session.execute(reveal)).first()
    if row is None:
        raise await _refusal(session, actor, target_id)
    phones = [Phone(kind="mobile", e164=row.mobile)] if row.mobile else []
    if row.home:
        phones.append(Phone(kind="home", e164=row.home))
    contact = RevealedContact(
        id=row.contact_id,
        first_name=row.first_name,
        last_name=row.last_name,
        phones=phones,
        email=row.email,
        address=row.address or None,
        support_level=row.support_level,
        tags=list(row.tags or []),
        consents={
            "email": row.consent_email or "unknown",
            "sms": row.consent_sms or "unknown",
            "phone": row.consent_phone or "unknown",
        },
    )
    return StartCallResponse(target_id=row.id, lease_expires_at=row.lease_expires_at, contact=contact), row.action_id


async def _refusal(session: AsyncSession, actor: Principal, target_id: uuid.UUID) -> AppError:
    """Why start call refused (only on that path: the reveal itself is one statement)."""
    found = (
        await session.execute(
            select(
                t.lease_user_id,
                (t.lease_expires_at > func.now()).label("live"),
                actions_repo.running(a).label("running"),
            )
            .join(a, _same_action())
            .where(
                t.organization_id == actor.organization_id,
                t.id == target_id,
                actions_repo.visible(actor, a),
                may_take(actor),
            )
        )
    ).first()
    if found is None:
        return TargetNotFound()
    if not found.running:
        return ActionNotRunning()
    if found.live and found.lease_user_id != actor.user_id:
        return TargetTaken()
    return Conflict("This person cannot be called now (done, closed or opted out).")


# Writes made by reports. ----------------------------------------------------------------------------------------


class CallTarget(NamedTuple):
    contact_id: uuid.UUID
    lease_user_id: uuid.UUID | None
    attempts: int
    action: Action
    started_at: datetime | None  # when the caller took the lease (start call)


async def lock_for_call(session: AsyncSession, actor: Principal, target_id: uuid.UUID) -> CallTarget | None:
    """The call target and its action, row-locked, if the caller may take it (else None: a 404, as for a
    random id)."""
    q = (
        select(t.contact_id, t.lease_user_id, t.attempts, a, t.last_attempt_at)
        .join(a, _same_action())
        .where(
            t.organization_id == actor.organization_id,
            t.id == target_id,
            actions_repo.visible(actor, a),
            may_take(actor),
        )
        .with_for_update(of=t)
    )
    row = (await session.execute(q)).first()
    return CallTarget(row.contact_id, row.lease_user_id, row.attempts, row.a, row.last_attempt_at) if row else None


_FINISH = text("""
    UPDATE action_targets
       SET status = :status, attempts = :attempts, last_outcome = :outcome, callback_at = :callback_at,
           available_at = :available_at, lease_user_id = NULL, lease_expires_at = NULL, last_attempt_at = now()
     WHERE organization_id = :org AND id = :target""")


async def finish_call(
    session: AsyncSession,
    org: uuid.UUID,
    target_id: uuid.UUID,
    *,
    status: TargetStatus,
    attempts: int,
    outcome: str,
    callback_at: datetime | None,
    available_at: datetime | None,
) -> None:
    """The call's outcome on its target; the lease is released. One fixed statement (nothing built per report)."""
    await session.execute(
        _FINISH,
        {
            "org": org,
            "target": target_id,
            "status": status.value,
            "attempts": attempts,
            "outcome": outcome,
            "callback_at": callback_at,
            "available_at": available_at,
        },
    )


async def close_everywhere(session: AsyncSession, org: uuid.UUID, contact_id: uuid.UUID, *, outcome: str) -> None:
    """Never comes back in any action: close this contact's open call targets everywhere (for a wrong number,
    only when the contact has no valid number left)."""
    no_valid_number = ~exists().where(
        Contact.organization_id == org,
        Contact.id == contact_id,
        or_(
            and_(Contact.mobile_e164.is_not(None), ~Contact.mobile_invalid),
            and_(Contact.home_e164.is_not(None), ~Contact.home_invalid),
        ),
    )
    conds = [t.organization_id == org, t.contact_id == contact_id, one_of(t.status, OPEN_TARGET), _same_action()]
    conds.append(a.type == const("call"))
    if outcome != CallOutcome.do_not_call:
        conds.append(no_valid_number)
    await session.execute(update(t).values(status=TargetStatus.closed, last_outcome=outcome).where(*conds))


class Door(NamedTuple):
    contact_id: uuid.UUID
    assignee_user_id: uuid.UUID | None
    attempts: int


async def lock_for_visit(session: AsyncSession, action: Action, target_id: uuid.UUID) -> Door | None:
    q = (
        select(ActionTarget.contact_id, ActionTarget.assignee_user_id, ActionTarget.attempts)
        .where(
            ActionTarget.organization_id == action.organization_id,
            ActionTarget.action_id == action.id,
            ActionTarget.id == target_id,
        )
        .with_for_update()
    )
    row = (await session.execute(q)).first()
    return Door(row.contact_id, row.assignee_user_id, row.attempts) if row else None


async def record_visit(
    session: AsyncSession, org: uuid.UUID, target_id: uuid.UUID, *, status: TargetStatus, outcome: str, me: uuid.UUID
) -> None:
    """The visit's outcome on its door; a door visited from the pool becomes the visitor's."""
    await session.execute(
        update(ActionTarget)
        .where(ActionTarget.organization_id == org, ActionTarget.id == target_id)
        .values(
            status=status,
            attempts=ActionTarget.attempts + 1,
            last_outcome=outcome,
            last_attempt_at=func.now(),
            assignee_user_id=func.coalesce(ActionTarget.assignee_user_id, me),
        )
    )


async def join_household(
    session: AsyncSession, action: Action, door_id: uuid.UUID, contact_id: uuid.UUID, *, outcome: str
) -> None:
    """A person met at a door becomes one of that building's households on the walk list: a target of the door's
    action, turf and walker, visited (done) with the door's outcome. Nothing changes if they already are one."""
    door = aliased(ActionTarget, name="door")
    rows = select(
        door.organization_id,
        door.action_id,
        literal(contact_id, PgUUID(as_uuid=True)).label("contact_id"),
        door.assignee_user_id,
        door.turf_no,
        door.seq,
        literal(TargetStatus.done.value).label("status"),
        literal(1, SmallInteger).label("attempts"),
        literal(outcome).label("last_outcome"),
        func.now().label("last_attempt_at"),
    ).where(door.organization_id == action.organization_id, door.action_id == action.id, door.id == door_id)
    cols = ["organization_id", "action_id", "contact_id", "assignee_user_id", "turf_no", "seq", "status", "attempts"]
    stmt = pg_insert(ActionTarget).from_select([*cols, "last_outcome", "last_attempt_at"], rows)
    await session.execute(stmt.on_conflict_do_nothing())

"""Ids that arrive in a request (body or query string) are checked here, in one place, against the caller's
organization and what the caller may see. A service declares which fields hold which kind of object:

    OPPORTUNITY = {"type_id": OPPORTUNITY_TYPE, "contact_id": CONTACT, "opportunities.*.assignee_user_id": MEMBER}
    await references.check(session, actor, body, OPPORTUNITY)

`*` walks a list. Every id is collected first, then one query per kind of object (not per id) finds the ones
the caller may refer to; every other one is named in a 422 (`opportunities.0.assignee_user_id`), exactly like
a missing object, so a foreign organization's id tells nothing. The database's composite foreign keys
(`(organization_id, x_id) → (organization_id, id)`) are the last line behind this check.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.principal import Principal
from app.core.errors import Unprocessable

Loader = Callable[[AsyncSession, Principal, set[uuid.UUID]], Awaitable[set[uuid.UUID]]]


@dataclass(frozen=True)
class Kind:
    """A kind of object an id may name, and how to find those of them the caller may refer to."""

    name: str
    load: Loader

    def __repr__(self) -> str:
        return f"Kind({self.name})"


async def _ids(session: AsyncSession, q: Select[Any]) -> set[uuid.UUID]:
    return set((await session.scalars(q)).all())


async def _members(session: AsyncSession, actor: Principal, ids: set[uuid.UUID]) -> set[uuid.UUID]:
    from app.models import Membership

    return await _ids(
        session,
        select(Membership.user_id).where(
            Membership.organization_id == actor.organization_id, Membership.user_id.in_(ids)
        ),
    )


async def _teams(session: AsyncSession, actor: Principal, ids: set[uuid.UUID]) -> set[uuid.UUID]:
    from app.models import Team

    return await _ids(session, select(Team.id).where(Team.organization_id == actor.organization_id, Team.id.in_(ids)))


async def _surveys(session: AsyncSession, actor: Principal, ids: set[uuid.UUID]) -> set[uuid.UUID]:
    from app.models import Survey

    return await _ids(
        session, select(Survey.id).where(Survey.organization_id == actor.organization_id, Survey.id.in_(ids))
    )


async def _opportunity_types(session: AsyncSession, actor: Principal, ids: set[uuid.UUID]) -> set[uuid.UUID]:
    from app.models import OpportunityType

    return await _ids(
        session,
        select(OpportunityType.id).where(
            OpportunityType.organization_id == actor.organization_id,
            OpportunityType.id.in_(ids),
            OpportunityType.active.is_(True),
        ),
    )


async def _all_opportunity_types(session: AsyncSession, actor: Principal, ids: set[uuid.UUID]) -> set[uuid.UUID]:
    from app.models import OpportunityType

    return await _ids(
        session,
        select(OpportunityType.id).where(
            OpportunityType.organization_id == actor.organization_id, OpportunityType.id.in_(ids)
        ),
    )


async def _zones(session: AsyncSession, actor: Principal, ids: set[uuid.UUID]) -> set[uuid.UUID]:
    from app.models import Zone

    return await _ids(session, select(Zone.id).where(Zone.organization_id == actor.organization_id, Zone.id.in_(ids)))


async def _segments(session: AsyncSession, actor: Principal, ids: set[uuid.UUID]) -> set[uuid.UUID]:
    from app.models import Segment

    return await _ids(
        session, select(Segment.id).where(Segment.organization_id == actor.organization_id, Segment.id.in_(ids))
    )


def targets_of(action_id: uuid.UUID | None) -> Kind:
    """Targets of one action (`None`: an action being created, which has none yet)."""

    async def load(session: AsyncSession, actor: Principal, ids: set[uuid.UUID]) -> set[uuid.UUID]:
        from app.models import ActionTarget

        if action_id is None:
            return set()
        return await _ids(
            session,
            select(ActionTarget.id).where(
                ActionTarget.organization_id == actor.organization_id,
                ActionTarget.action_id == action_id,
                ActionTarget.id.in_(ids),
            ),
        )

    return Kind("target of this action", load)


async def _sms_templates(session: AsyncSession, actor: Principal, ids: set[uuid.UUID]) -> set[uuid.UUID]:
    from app.models import MessageTemplate

    return await _ids(
        session,
        select(MessageTemplate.id).where(
            MessageTemplate.organization_id == actor.organization_id,
            MessageTemplate.channel == "sms",
            MessageTemplate.id.in_(ids),
        ),
    )


MEMBER = Kind("member", _members)
SMS_TEMPLATE = Kind("SMS template", _sms_templates)
TEAM = Kind("team", _teams)
SURVEY = Kind("survey", _surveys)
OPPORTUNITY_TYPE = Kind("opportunity type", _opportunity_types)  # an active one: new opportunities
ANY_OPPORTUNITY_TYPE = Kind("opportunity type", _all_opportunity_types)  # filters may name a retired one
ZONE = Kind("zone", _zones)
SEGMENT = Kind("segment", _segments)

Spec = Mapping[str, Kind]


def _get(obj: Any, key: str) -> Any:
    if isinstance(obj, Mapping):
        return obj.get(key)
    return getattr(obj, key, None)


def _collect(obj: Any, parts: list[str], field: str, out: list[tuple[str, uuid.UUID]]) -> None:
    if obj is None:
        return
    if not parts:
        if isinstance(obj, uuid.UUID):
            out.append((field, obj))
        elif isinstance(obj, (list, tuple)):  # a list of ids: each one named by its index
            out.extend((f"{field}.{i}", v) for i, v in enumerate(obj) if isinstance(v, uuid.UUID))
        return
    head, rest = parts[0], parts[1:]
    if head == "*":
        for i, item in enumerate(obj if isinstance(obj, (list, tuple)) else []):
            _collect(item, rest, f"{field}.{i}" if field else str(i), out)
        return
    _collect(_get(obj, head), rest, f"{field}.{head}" if field else head, out)


def collect(obj: Any, spec: Spec, *, prefix: str = "") -> list[tuple[str, Kind, uuid.UUID]]:
    """(field, kind, id) for every id the spec names in `obj` (a pydantic model, a mapping, or a list with `*`)."""
    found: list[tuple[str, Kind, uuid.UUID]] = []
    for path, kind in spec.items():
        ids: list[tuple[str, uuid.UUID]] = []
        _collect(obj, path.split("."), prefix, ids)
        found.extend((f, kind, i) for f, i in ids)
    return found


async def verify(session: AsyncSession, actor: Principal, refs: Iterable[tuple[str, Kind, uuid.UUID]]) -> None:
    """One query per kind; a 422 naming every field whose id the caller may not refer to."""
    refs = list(refs)
    by_kind: dict[Kind, set[uuid.UUID]] = {}
    for _, kind, i in refs:
        by_kind.setdefault(kind, set()).add(i)
    found = {kind: await kind.load(session, actor, ids) for kind, ids in by_kind.items()}
    missing = [(f, kind) for f, kind, i in refs if i not in found[kind]]
    if missing:
        names = ", ".join(f for f, _ in missing[:5])
        raise Unprocessable(
            f"Unknown reference: {names}.",
            details=[{"field": f, "message": f"{kind.name} not found"} for f, kind in missing],
        )


async def check(session: AsyncSession, actor: Principal, obj: Any, spec: Spec, *, prefix: str = "") -> None:
    """Check every id that `spec` names in `obj`."""
    await verify(session, actor, collect(obj, spec, prefix=prefix))


async def check_query(session: AsyncSession, actor: Principal, spec: Spec, **values: uuid.UUID | None) -> None:
    """Query-string ids (`?type_id=`): the same rule as a body's."""
    await verify(session, actor, collect(values, spec))

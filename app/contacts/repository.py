"""Queries on contacts with the tenant and visibility scopes inside."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Select, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.permissions import Perm
from app.auth.principal import Principal
from app.auth.references import Kind
from app.models import ActionTarget, Contact, Team, Zone


def assigned_contact_ids(actor: Principal) -> Select[uuid.UUID]:
    """Contacts a field worker may see: those targeted for them (assigned, or leased by them)."""
    return select(ActionTarget.contact_id).where(
        ActionTarget.organization_id == actor.organization_id,
        or_(ActionTarget.assignee_user_id == actor.user_id, ActionTarget.lease_user_id == actor.user_id),
    )


def led_regions(actor: Principal) -> Select[str | None]:
    """The regions of the teams the actor leads (those that have one)."""
    return select(Team.region).where(
        Team.organization_id == actor.organization_id, Team.leader_user_id == actor.user_id, Team.region.is_not(None)
    )


def in_region(actor: Principal) -> Any:
    """A team leader whose teams have a region sees the contacts in it: inside the zone of that name, or in the
    city of that name; plus the contacts assigned to them. Without a region, the whole base."""
    regions = led_regions(actor)
    in_zone = exists(
        select(Zone.id).where(
            Zone.organization_id == actor.organization_id,
            Zone.name.in_(regions),
            func.ST_Covers(Zone.geom, Contact.location),
        )
    )
    in_city = func.lower(Contact.city).in_(regions.with_only_columns(func.lower(Team.region)))
    return or_(~exists(regions), in_zone, in_city, Contact.id.in_(assigned_contact_ids(actor)))


def visible_to(actor: Principal) -> Select[Contact]:
    q = select(Contact).where(Contact.organization_id == actor.organization_id)
    if not actor.can(Perm.view_contacts):
        q = q.where(Contact.id.in_(assigned_contact_ids(actor)))
    elif not actor.can(Perm.view_all_contacts):
        q = q.where(in_region(actor))
    return q


async def _visible_ids(session: AsyncSession, actor: Principal, ids: set[uuid.UUID]) -> set[uuid.UUID]:
    q = visible_to(actor).with_only_columns(Contact.id).where(Contact.id.in_(ids))
    return set((await session.scalars(q)).all())


# A contact id in a request must name one the caller may see (app/auth/references.py).
CONTACT = Kind("contact", _visible_ids)

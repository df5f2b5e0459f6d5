"""Queries on contacts with the tenant and visibility scopes inside."""

from __future__ import annotations

import uuid

from sqlalchemy import Select, or_, select

from app.auth.permissions import Perm
from app.auth.principal import Principal
from app.models import ActionTarget, Contact


def assigned_contact_ids(actor: Principal) -> Select[tuple[uuid.UUID]]:
    """Contacts a field worker may see: those targeted for them (assigned, or leased by them)."""
    return select(ActionTarget.contact_id).where(
        ActionTarget.organization_id == actor.organization_id,
        or_(ActionTarget.assignee_user_id == actor.user_id, ActionTarget.lease_user_id == actor.user_id),
    )


def visible_to(actor: Principal) -> Select[tuple[Contact]]:
    q = select(Contact).where(Contact.organization_id == actor.organization_id)
    if not actor.can(Perm.view_contacts):
        q = q.where(Contact.id.in_(assigned_contact_ids(actor)))
    return q

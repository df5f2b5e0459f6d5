"""The one rule for "the same person", used by the import (a file's row against the base) and by the contact page
(a contact against the others): the same normalized mobile, email or home phone (a mobile given as a home phone
counts), or the same first name, last name and address.

KEYS are (contact column, incoming column) pairs in the import's order of priority; between two contacts they are
read both ways, since either one may be the "incoming" side."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, and_, literal, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app.auth.principal import Principal
from app.contacts import repository as repo
from app.models import Contact
from app.models.contact import BYTES

# (priority, contact column, incoming column, the reason shown to staff)
KEYS: list[tuple[int, str, str, str]] = [
    (1, "mobile_e164", "mobile_e164", "mobile"),
    (2, "email", "email", "email"),
    (3, "mobile_e164", "home_e164", "phone"),
    (4, "home_e164", "home_e164", "phone"),
]
NAME_PRIORITY = 5
NAMES = ("last_name", "first_name")  # equal (in byte order, as the name index since migration 0026), and
ADDRESS = ("street", "street_number", "city")  # equal or both empty


def name_address_sql(contact: str, incoming: str) -> str:
    """The name + address match as SQL over two aliases (the import's hash join)."""
    names = " AND ".join(f'{contact}.{c} COLLATE "{BYTES}" = {incoming}.{c}' for c in NAMES)
    address = " AND ".join(f"{contact}.{c} IS NOT DISTINCT FROM {incoming}.{c}" for c in ADDRESS)
    return f"{names} AND {address}"


@dataclass(frozen=True)
class Duplicate:
    contact: Contact
    reasons: list[str]


def _name_address(c: type[Contact], x: type[Contact]) -> ColumnElement[bool]:
    return and_(
        x.first_name != "",
        *[getattr(c, n).collate(BYTES) == getattr(x, n) for n in NAMES],
        *[getattr(c, a).is_not_distinct_from(getattr(x, a)) for a in ADDRESS],
    )


def matches(org: uuid.UUID, contact_id: uuid.UUID) -> Select[tuple[uuid.UUID, str]]:
    """(id, reason) of every contact the rule says is the same person as `contact_id` (itself included): one
    index lookup per key."""
    x = aliased(Contact)
    parts = []
    for _, a, b, reason in KEYS:
        for ca, xb in ((a, b), (b, a)) if a != b else ((a, b),):
            parts.append(
                select(Contact.id.label("id"), literal(reason).label("reason"))
                .join(x, and_(x.organization_id == org, x.id == contact_id))
                .where(Contact.organization_id == org, getattr(Contact, ca) == getattr(x, xb))
            )
    parts.append(
        select(Contact.id.label("id"), literal("name_address").label("reason"))
        .join(x, and_(x.organization_id == org, x.id == contact_id))
        .where(Contact.organization_id == org, _name_address(Contact, x))
    )
    m = union_all(*parts).subquery()
    return select(m.c.id, m.c.reason)


async def of_contact(session: AsyncSession, c: Contact, *, actor: Principal, limit: int = 20) -> list[Duplicate]:
    """The other contacts the actor may see that the rule says are the same person as `c`, with why."""
    found_ids = matches(c.organization_id, c.id).subquery()
    rows = (await session.execute(select(found_ids.c.id, found_ids.c.reason).where(found_ids.c.id != c.id))).all()
    reasons: dict[uuid.UUID, list[str]] = {}
    for rid, reason in rows:
        if reason not in reasons.setdefault(rid, []):
            reasons[rid].append(reason)
    if not reasons:
        return []
    q = repo.visible_to(actor).where(Contact.id.in_(reasons))
    found = (await session.scalars(q.order_by(Contact.created_at, Contact.id).limit(limit))).all()
    return [Duplicate(d, reasons[d.id]) for d in found]

"""Where we hold data on a person, derived from the schema rather than listed by hand, so a new table cannot be
forgotten by the GDPR access export: every table with a foreign key to `contacts` or a `contact_id` column
(the reports keep theirs without a foreign key), then, transitively, every table with a foreign key to one of
those (the comments on the person's opportunities, the answers of the person's reports)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Table, UniqueConstraint, false, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Base

CONTACTS = "contacts"
SOFT_REFERENCE = "contact_id"  # a column of this name points at a contact, foreign key or not


@dataclass(frozen=True)
class Link:
    """Rows of `table` belong to the person when `columns` equal `parent_columns` of a row of `parent` that does
    (or, for `contacts`, of the person's own row)."""

    columns: tuple[str, ...]
    parent: str
    parent_columns: tuple[str, ...]


@dataclass(frozen=True)
class PersonTable:
    name: str
    links: tuple[Link, ...]


def _links(table: Table) -> list[Link]:
    out = [
        Link(
            tuple(e.parent.name for e in fk.elements),
            fk.referred_table.name,
            tuple(e.column.name for e in fk.elements),
        )
        for fk in table.foreign_key_constraints
    ]
    has_fk_to_contacts = any(ln.parent == CONTACTS and SOFT_REFERENCE in ln.columns for ln in out)
    if SOFT_REFERENCE in table.c and not has_fk_to_contacts and table.name != CONTACTS:
        out.append(Link(("organization_id", SOFT_REFERENCE), CONTACTS, ("organization_id", "id")))
    return out


def person_tables(tables: dict[str, Table] | None = None) -> list[PersonTable]:
    """Tables holding the person's data besides `contacts` itself, parents before children."""
    tables = tables if tables is not None else dict(Base.metadata.tables)
    found: dict[str, PersonTable] = {}
    changed = True
    while changed:
        changed = False
        for name, t in sorted(tables.items()):
            if name == CONTACTS or name in found:
                continue
            links = tuple(ln for ln in _links(t) if ln.parent == CONTACTS or ln.parent in found)
            if links:
                found[name] = PersonTable(name, links)
                changed = True
    # A table found early may also reach the person through a table found later (survey answers: their own
    # contact_id and their report's): keep every way.
    for name in list(found):
        found[name] = PersonTable(
            name, tuple(ln for ln in _links(tables[name]) if ln.parent == CONTACTS or ln.parent in found)
        )
    return list(found.values())


@dataclass(frozen=True)
class ContactColumn:
    """A column of `table` that holds a contact id, and the unique indexes it is part of (each as its other
    columns besides the organization), which a merge must not break."""

    table: str
    column: str
    unique_with: tuple[tuple[str, ...], ...]


def contact_columns(tables: dict[str, Table] | None = None) -> list[ContactColumn]:
    """Every column pointing straight at a contact, from the same schema walk as the access export."""
    tables = tables if tables is not None else dict(Base.metadata.tables)
    out = []
    for pt in person_tables(tables):
        t = tables[pt.name]
        uniques = [tuple(c.name for c in ix.columns) for ix in t.indexes if ix.unique]
        uniques += [tuple(c.name for c in u.columns) for u in t.constraints if isinstance(u, UniqueConstraint)]
        for ln in pt.links:
            if ln.parent != CONTACTS:
                continue
            for col, parent_col in zip(ln.columns, ln.parent_columns, strict=True):
                if parent_col == "id":
                    unique_with = tuple(
                        tuple(c for c in u if c not in (col, "organization_id")) for u in uniques if col in u
                    )
                    out.append(ContactColumn(pt.name, col, unique_with))
    return out


def _belongs(
    table: Table,
    pt: PersonTable,
    by_name: dict[str, PersonTable],
    org: uuid.UUID,
    cid: uuid.UUID,
    path: frozenset[str] = frozenset(),
) -> ColumnElement[bool]:
    ways: list[ColumnElement[bool]] = []
    for ln in pt.links:
        if ln.parent in path or ln.parent == pt.name:  # a cycle adds nothing the other ways do not reach
            continue
        pairs = [(c, p) for c, p in zip(ln.columns, ln.parent_columns, strict=True) if c != "organization_id"]
        if ln.parent == CONTACTS:
            ways += [table.c[c] == cid for c, p in pairs if p == "id"]
            continue
        parent = Base.metadata.tables[ln.parent]
        sub = select(*[parent.c[p] for _, p in pairs]).where(
            parent.c.organization_id == org,
            _belongs(parent, by_name[ln.parent], by_name, org, cid, path | {pt.name}),
        )
        ways.append(tuple_(*[table.c[c] for c, _ in pairs]).in_(sub))
    return or_(false(), *ways)


async def rows_of(session: AsyncSession, org: uuid.UUID, cid: uuid.UUID) -> dict[str, list[dict[str, Any]]]:
    """Every row held on the person, table by table (all columns but the organization)."""
    found = person_tables()
    by_name = {pt.name: pt for pt in found}
    out: dict[str, list[dict[str, Any]]] = {}
    for pt in found:
        t = Base.metadata.tables[pt.name]
        cols = [c for c in t.columns if c.name != "organization_id"]
        q = select(*cols).where(t.c.organization_id == org, _belongs(t, pt, by_name, org, cid))
        out[pt.name] = [dict(r._mapping) for r in (await session.execute(q)).all()]
    return out

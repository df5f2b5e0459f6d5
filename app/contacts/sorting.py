"""Keyset sorts of the contacts table: each sort is a tuple of non-null keys ending with the id, indexed
(migration 0009), so a page is an index range whatever the column and direction. A nullable column is
folded into a sentinel (unknown support level after 5, a never-contacted contact before any date), which keeps
the row comparison of the keyset exact. Text keys compare in byte order (COLLATE "C", as their indexes since
migration 0026): the same order as the database's C.UTF-8, and the collation an index must match to be used."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import ColumnClause, ColumnElement, Select, func, literal_column, tuple_
from sqlalchemy.orm import InstrumentedAttribute

from app.core.errors import Unprocessable
from app.core.pagination import decode_cursor, encode_cursor
from app.models import Contact
from app.models.contact import BYTES

SortName = Literal["name", "city", "support_level", "last_contacted_at", "created_at"]
SortOrder = Literal["asc", "desc"]


@dataclass(frozen=True)
class Key:
    expr: ColumnElement[Any] | InstrumentedAttribute[Any]
    value: Callable[[Contact], Any]  # the key of a loaded row, as it goes into the cursor (JSON)
    parse: Callable[[Any], Any]  # the cursor's value back into a bind parameter (None: the sentinel)
    sentinel: ColumnElement[Any] | None = None  # what a null cursor value stands for


def _text(v: Any) -> str:
    if not isinstance(v, str):
        raise ValueError("text")
    return v


def _time(v: Any) -> datetime | None:
    return None if v is None else datetime.fromisoformat(str(v))


_NEVER: ColumnClause[Any] = literal_column("'-infinity'::timestamptz")
_ID = Key(Contact.id, lambda c: str(c.id), lambda v: uuid.UUID(str(v)))
SORTS: dict[str, tuple[Key, ...]] = {
    "name": (
        Key(Contact.last_name.collate(BYTES), lambda c: c.last_name, _text),
        Key(Contact.first_name.collate(BYTES), lambda c: c.first_name, _text),
    ),
    "city": (Key(func.coalesce(Contact.city, literal_column("''")).collate(BYTES), lambda c: c.city or "", _text),),
    "support_level": (
        Key(func.coalesce(Contact.support_level, literal_column("6")), lambda c: c.support_level or 6, int),
    ),
    "last_contacted_at": (
        Key(
            func.coalesce(Contact.last_contacted_at, _NEVER),
            lambda c: c.last_contacted_at.isoformat() if c.last_contacted_at else None,
            _time,
            _NEVER,
        ),
    ),
    "created_at": (Key(Contact.created_at, lambda c: c.created_at.isoformat(), _time),),
}


def _bad_cursor(message: str) -> Unprocessable:
    return Unprocessable("Invalid cursor.", details=[{"field": "cursor", "message": message}])


def apply(q: Select[Any], *, sort: str, order: str, cursor: str | None, limit: int) -> Select[Any]:
    """The page query: keyset after the cursor, ordered by the sort's keys, limit + 1 rows (to see a next page)."""
    keys = (*SORTS[sort], _ID)
    after = decode_cursor(cursor)
    if after is not None:
        if len(after) != len(keys) + 2 or after[:2] != [sort, order]:
            raise _bad_cursor("does not belong to this sort")
        try:
            values = [k.parse(v) for k, v in zip(keys, after[2:], strict=True)]
        except (ValueError, TypeError) as e:
            raise _bad_cursor("malformed") from e
        bound = [k.sentinel if v is None and k.sentinel is not None else v for k, v in zip(keys, values, strict=True)]
        if any(v is None for v in bound):
            raise _bad_cursor("malformed")
        row, at = tuple_(*[k.expr for k in keys]), tuple_(*bound)
        q = q.where(row < at if order == "desc" else row > at)
    return q.order_by(*[k.expr.desc() if order == "desc" else k.expr for k in keys]).limit(limit + 1)


def next_cursor(rows: list[Contact], *, sort: str, order: str, limit: int) -> str | None:
    if len(rows) <= limit:
        return None
    last = rows[limit - 1]
    return encode_cursor([sort, order, *[k.value(last) for k in (*SORTS[sort], _ID)]])

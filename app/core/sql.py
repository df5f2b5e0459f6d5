"""Constants in SQL built with SQLAlchemy: rendered into the statement text rather than bound, so a prepared
statement's generic plan is the one PostgreSQL would choose for the literal SQL (a status or a LIMIT 1 known to
the planner, not a parameter it has to guess)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import BindParameter, ColumnElement, SQLColumnExpression, bindparam, literal


def const(value: Any) -> BindParameter[Any]:
    return literal(value, literal_execute=True)


def one_of(column: SQLColumnExpression[Any], values: Iterable[str]) -> ColumnElement[bool]:
    return column.in_(bindparam(None, [str(v) for v in values], expanding=True, literal_execute=True))

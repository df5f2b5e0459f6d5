"""Keyset pagination: an opaque cursor holding the last row's sort key and id."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel

from app.core.errors import Unprocessable

T = TypeVar("T")

LimitQ = Annotated[int, Query(ge=1, le=500, description="Page size (max 500).")]
CursorQ = Annotated[str | None, Query(max_length=500, description="Opaque cursor from `next_cursor`.")]


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None
    total: int | None = None


def encode_cursor(values: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(values, default=str).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> list[Any] | None:
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as e:
        raise Unprocessable("Invalid cursor.", details=[{"field": "cursor", "message": "malformed"}]) from e
    if not isinstance(values, list):
        raise Unprocessable("Invalid cursor.", details=[{"field": "cursor", "message": "malformed"}])
    return values


R = TypeVar("R")


def after(cursor: str | None, *parse: Callable[[Any], Any]) -> list[Any] | None:
    """The cursor's values, each read by its parser (a 422 naming `cursor` when one does not fit).

    A parser sees None too: a key that may be null says so in its parser."""
    values = decode_cursor(cursor)
    if values is None:
        return None
    if len(values) != len(parse):
        raise Unprocessable("Invalid cursor.", details=[{"field": "cursor", "message": "malformed"}])
    try:
        return [p(v) for p, v in zip(parse, values, strict=True)]
    except (TypeError, ValueError) as e:
        raise Unprocessable("Invalid cursor.", details=[{"field": "cursor", "message": "malformed"}]) from e


def boolean(v: Any) -> bool:
    if not isinstance(v, bool):
        raise ValueError("not a boolean")
    return v


def cut(rows: Sequence[R], limit: int, key: Callable[[R], list[Any]]) -> tuple[list[R], str | None]:
    """A page from `limit + 1` fetched rows: the first `limit`, and a cursor after the last one when more exist."""
    if len(rows) <= limit:
        return list(rows), None
    return list(rows[:limit]), encode_cursor(key(rows[limit - 1]))

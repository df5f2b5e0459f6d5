"""The audit helper later features call: every phone reveal, export, role change, erasure..."""

from __future__ import annotations

import uuid
from typing import Any, Protocol

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.pagination import decode_cursor, encode_cursor
from app.models import AuditLog


class Actor(Protocol):
    """Who did it, as the audit log records it (an authenticated Principal is one; audit does not import auth)."""

    @property
    def user_id(self) -> uuid.UUID: ...
    @property
    def organization_id(self) -> uuid.UUID: ...
    @property
    def ip(self) -> str | None: ...
    @property
    def request_id(self) -> str | None: ...


async def record(
    session: AsyncSession,
    *,
    actor: Actor | None,
    action: str,
    object_type: str,
    object_id: uuid.UUID | str | None = None,
    organization_id: uuid.UUID | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    org = organization_id or (actor.organization_id if actor else None)
    if org is None:
        raise ValueError("audit record needs an organization")
    await session.execute(
        insert(AuditLog).values(
            organization_id=org,
            actor_user_id=actor.user_id if actor else None,
            actor_api_key_id=getattr(actor, "api_key_id", None),
            action=action,
            object_type=object_type,
            object_id=str(object_id) if object_id is not None else None,
            ip=actor.ip if actor else None,
            request_id=actor.request_id if actor else None,
            details=details or {},
        )
    )


async def list_entries(
    session: AsyncSession,
    *,
    actor: Actor,
    limit: int,
    cursor: str | None,
    action: str | None = None,
    object_id: str | None = None,
) -> tuple[list[AuditLog], str | None]:
    q = select(AuditLog).where(AuditLog.organization_id == actor.organization_id)
    if action:
        q = q.where(AuditLog.action == action)
    if object_id:
        q = q.where(AuditLog.object_id == object_id)
    after = decode_cursor(cursor)
    if after:
        q = q.where(AuditLog.id < int(after[0]))
    rows = list((await session.scalars(q.order_by(AuditLog.id.desc()).limit(limit + 1))).all())
    nxt = encode_cursor([rows[limit - 1].id]) if len(rows) > limit else None
    return rows[:limit], nxt

"""Timeline writes: one helper every feature calls (calls, visits, notes, edits, messages…)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.principal import Principal
from app.models import ContactEvent

EVENT_KINDS = (
    "call",
    "visit",
    "message",
    "note",
    "meeting",
    "consent",
    "edit",
    "merge",
    "survey",
    "opportunity",
    "import",
    "petition",
)


async def add_event(
    session: AsyncSession,
    organization_id: uuid.UUID,
    contact_id: uuid.UUID,
    *,
    kind: str,
    actor: Principal | None,
    summary: str = "",
    data: dict[str, Any] | None = None,
    action_id: uuid.UUID | None = None,
    at: datetime | None = None,
) -> None:
    assert kind in EVENT_KINDS, kind
    values: dict[str, Any] = {
        "organization_id": organization_id,
        "contact_id": contact_id,
        "kind": kind,
        "actor_user_id": actor.user_id if actor else None,
        "summary": summary,
        "data": data or {},
        "action_id": action_id,
    }
    if at is not None:
        values["at"] = at
    await session.execute(insert(ContactEvent).values(**values))

"""Writes a phone may replay are idempotent on a client key. Checking "was this key stored?" and then writing is
a race when the same request arrives twice at once (a retry after a dropped connection, a double tap): both see
nothing stored. Serializing on the key closes it: the second waits until the first commits, then sees it."""

from __future__ import annotations

import uuid

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


async def serialize_on(session: AsyncSession, organization_id: uuid.UUID, key: uuid.UUID) -> None:
    """Hold a transaction-scoped advisory lock on (organization, key) until commit or rollback. Run it before
    looking for the stored result: the look-up is then a new statement, whose snapshot includes what a request
    holding the lock before us committed (READ COMMITTED). Two keys sharing a 64-bit hash only wait on each
    other."""
    await session.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"), {"k": f"{organization_id}:{key}"}
    )

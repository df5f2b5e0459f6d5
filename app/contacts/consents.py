"""Consent: an append-only log per channel; the contact's current state is derived from it.
A withdrawal is honoured by every later send path (they all read the derived columns).
The timeline reads consent changes straight from the log, whatever path wrote them (API, call, import)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.principal import Principal
from app.contacts.schemas import ConsentInput
from app.models import ConsentLog, Contact

_COLUMN = {
    "email": "consent_email",
    "sms": "consent_sms",
    "phone": "consent_phone",
    "data_processing": "consent_data_processing",
}


async def record_many(
    session: AsyncSession,
    contact: Contact,
    inputs: Sequence[ConsentInput],
    *,
    actor: Principal | None,
    source_override: str | None = None,
) -> None:
    """Log each input and set the contact's derived columns: the contact is written first (a new one is inserted
    with its consents, no update after), then the log rows in one statement."""
    if not inputs:
        return
    for ci in inputs:
        setattr(contact, _COLUMN[ci.channel], ci.status)
    await session.flush()
    await session.execute(
        insert(ConsentLog).values(
            [
                {
                    "organization_id": contact.organization_id,
                    "contact_id": contact.id,
                    "channel": ci.channel,
                    "status": ci.status,
                    "source": source_override or ci.source,
                    "proof": ci.proof,
                    "recorded_by": actor.user_id if actor else None,
                }
                for ci in inputs
            ]
        )
    )


async def history(session: AsyncSession, organization_id: uuid.UUID, contact_id: uuid.UUID) -> list[ConsentLog]:
    return list(
        (
            await session.scalars(
                select(ConsentLog)
                .where(ConsentLog.organization_id == organization_id, ConsentLog.contact_id == contact_id)
                .order_by(ConsentLog.recorded_at.desc(), ConsentLog.id.desc())
            )
        ).all()
    )

"""GDPR access (everything we hold on one person) and erasure (nothing left that identifies them)."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.encoders import jsonable_encoder
from sqlalchemy import delete, or_
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import service as audit
from app.auth.principal import Principal
from app.contacts import person_data
from app.contacts.service import to_read
from app.models import Contact, FieldReport, ImportReject, SurveyAnswer


async def access_export(session: AsyncSession, c: Contact, *, actor: Principal) -> dict[str, Any]:
    """The person's record, then every row of every table that holds data on them (`person_data`)."""
    data = {
        "contact": to_read(c).model_dump(mode="json"),
        "phones": {
            "mobile": c.mobile_e164,
            "mobile_as_given": c.mobile_raw,
            "home": c.home_e164,
            "home_as_given": c.home_raw,
        },
        "records": jsonable_encoder(await person_data.rows_of(session, c.organization_id, c.id)),
    }
    await audit.record(session, actor=actor, action="contact.gdpr_export", object_type="contact", object_id=c.id)
    return data


async def erase_contacts(session: AsyncSession, org: uuid.UUID, ids: Any) -> None:
    """Delete contacts (`ids`: a list or a SELECT of ids) and what points at them, in a few set-based statements:
    their survey answers and field reports; consents, timeline, opportunities and targets go by cascade.
    Aggregates (action counters) are kept."""
    await session.execute(
        delete(SurveyAnswer).where(SurveyAnswer.organization_id == org, SurveyAnswer.contact_id.in_(ids))
    )
    await session.execute(
        delete(FieldReport).where(FieldReport.organization_id == org, FieldReport.contact_id.in_(ids))
    )
    await session.execute(delete(Contact).where(Contact.organization_id == org, Contact.id.in_(ids)))


async def erase(session: AsyncSession, c: Contact, *, actor: Principal) -> None:
    """Delete the person and everything pointing at them. The audit row keeps the id only."""
    org, cid = c.organization_id, c.id
    identifiers = [x for x in (c.email, c.mobile_e164, c.home_e164, c.mobile_raw, c.home_raw) if x]
    await erase_contacts(session, org, [cid])
    # Rejected import lines may quote the person.
    name = f"{c.first_name} {c.last_name}".strip()
    patterns = identifiers + ([name] if len(name) > 3 else [])
    if patterns:
        await session.execute(
            delete(ImportReject).where(
                ImportReject.organization_id == org, or_(*[ImportReject.raw.contains(p) for p in patterns])
            )
        )
    await audit.record(session, actor=actor, action="contact.erased", object_type="contact", object_id=cid)

"""GDPR retention: an organization's `contact_retention_days` erases, once a day, the contacts with no activity
(created, edited or contacted) for that long, and the rejected-line reports of imports that old. Set-based,
through the same erasure as a single GDPR request; each erased contact gets its audit row (the id only)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import String, and_, cast, delete, func, insert, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.contacts.gdpr import erase_contacts
from app.models import AuditLog, Contact, Import, ImportReject


async def apply(session: AsyncSession, org: uuid.UUID, days: int) -> int:
    """Erase what the organization's retention says is too old; returns how many contacts were erased."""
    cutoff = datetime.now(UTC) - timedelta(days=days)
    last_activity = func.greatest(Contact.created_at, Contact.updated_at, Contact.last_contacted_at)
    is_stale = and_(Contact.organization_id == org, last_activity < cutoff)
    stale = select(Contact.id).where(is_stale)
    logged = await session.execute(
        insert(AuditLog).from_select(
            ["organization_id", "action", "object_type", "object_id", "details"],
            select(
                literal(org),
                literal("contact.erased"),
                literal("contact"),
                cast(Contact.id, String),
                func.jsonb_build_object("reason", "retention", "days", days),
            ).where(is_stale),
        )
    )
    await erase_contacts(session, org, stale)
    old_imports = select(Import.id).where(Import.organization_id == org, Import.created_at < cutoff)
    await session.execute(
        delete(ImportReject).where(ImportReject.organization_id == org, ImportReject.import_id.in_(old_imports))
    )
    return int(logged.rowcount or 0)  # type: ignore[attr-defined]

"""Merging two contacts keeps both histories: every table that points at a contact is re-pointed."""

from __future__ import annotations

from sqlalchemy import delete, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import service as audit
from app.auth.principal import Principal
from app.contacts.events import add_event
from app.core.errors import Unprocessable
from app.models import Contact

# (table, column) pairs holding a contact id. Later features add theirs here.
CONTACT_REFERENCES: list[tuple[str, str]] = [
    ("contact_events", "contact_id"),
    ("consent_log", "contact_id"),
    ("field_reports", "contact_id"),
    ("survey_answers", "contact_id"),
    ("opportunities", "contact_id"),
]

_FILL = [
    "first_name",
    "last_name",
    "mobile_e164",
    "mobile_raw",
    "home_e164",
    "home_raw",
    "email",
    "street",
    "street_number",
    "building",
    "postal_code",
    "city",
    "country",
    "location",
    "birth_year",
    "birth_date",
    "gender",
    "language",
    "support_level",
    "consent_email",
    "consent_sms",
    "consent_phone",
    "consent_data_processing",
    "last_contacted_at",
]


async def merge(session: AsyncSession, keep: Contact, other: Contact, *, actor: Principal) -> Contact:
    if keep.id == other.id:
        raise Unprocessable(
            "A contact cannot be merged into itself.", details=[{"field": "other_id", "message": "same contact"}]
        )
    org = keep.organization_id
    for col in _FILL:
        if getattr(keep, col) in (None, "") and getattr(other, col) not in (None, ""):
            setattr(keep, col, getattr(other, col))
    keep.tags = sorted(set(keep.tags or []) | set(other.tags or []))
    keep.custom_fields = {**(other.custom_fields or {}), **(keep.custom_fields or {})}
    for flag in ("is_donor", "is_volunteer", "is_member", "dnc_phone", "dnc_sms", "dnc_email", "dnc_visit"):
        setattr(keep, flag, getattr(keep, flag) or getattr(other, flag))
    await session.flush()
    params = {"org": org, "keep": keep.id, "other": other.id}
    for table, column in CONTACT_REFERENCES:
        await session.execute(
            text(f"UPDATE {table} SET {column} = :keep WHERE organization_id = :org AND {column} = :other"),  # noqa: S608 - names from the schema's own list
            params,
        )
    # Targets: keep one per action (the surviving contact's), move the rest.
    await session.execute(
        text(
            "DELETE FROM action_targets t WHERE t.organization_id = :org AND t.contact_id = :other "
            "AND EXISTS (SELECT 1 FROM action_targets k WHERE k.organization_id = :org AND k.action_id = t.action_id "
            "AND k.contact_id = :keep)"
        ),
        params,
    )
    await session.execute(
        text("UPDATE action_targets SET contact_id = :keep WHERE organization_id = :org AND contact_id = :other"),
        params,
    )
    await session.execute(delete(Contact).where(Contact.organization_id == org, Contact.id == other.id))
    await add_event(
        session,
        org,
        keep.id,
        kind="merge",
        actor=actor,
        summary="Merged another contact into this one",
        data={"merged_id": str(other.id)},
    )
    await audit.record(
        session,
        actor=actor,
        action="contact.merged",
        object_type="contact",
        object_id=keep.id,
        details={"merged_id": str(other.id)},
    )
    return keep

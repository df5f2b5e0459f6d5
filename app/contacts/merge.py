"""Merging two contacts into one: staff pick the surviving value per field; tags are the union; both consent logs
are kept and the most recent change per channel gives the current state; every row that points at the merged
contact (found from the schema's foreign keys, the walk the GDPR access export uses) is moved to the survivor;
the merged contact is then removed. All inside the request's one transaction, audited."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import service as audit
from app.auth.principal import Principal
from app.contacts import person_data
from app.contacts.consents import _COLUMN as CONSENT_COLUMN
from app.contacts.events import add_event
from app.contacts.schemas import MergeRequest
from app.core.errors import Conflict, Unprocessable
from app.models import Base, ConsentLog, Contact

# A merge field and the columns it carries together (an address is only meaningful whole).
FIELD_COLUMNS: dict[str, tuple[str, ...]] = {
    "first_name": ("first_name",),
    "last_name": ("last_name",),
    "mobile": ("mobile_e164", "mobile_raw", "mobile_invalid"),
    "home_phone": ("home_e164", "home_raw", "home_invalid"),
    "email": ("email",),
    "address": ("street", "street_number", "building", "postal_code", "city", "country", "location"),
    "birth": ("birth_year", "birth_date"),
    "gender": ("gender",),
    "language": ("language",),
    "support_level": ("support_level",),
}
# Tables whose rows a trigger forbids to update (the consent log: the proof of consent is never rewritten).
APPEND_ONLY = {"consent_log"}
FLAGS = ("is_donor", "is_volunteer", "is_member", "dnc_phone", "dnc_sms", "dnc_email", "dnc_visit")


class MergeConflict(Conflict):
    code = "contact_merge_conflict"
    message = "One of the two contacts was merged or erased meanwhile: reload the page."


def _empty(c: Contact, cols: tuple[str, ...]) -> bool:
    return getattr(c, cols[0]) in (None, "")


def _surviving_values(keep: Contact, other: Contact, choice: dict[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for field, cols in FIELD_COLUMNS.items():
        side = choice.get(field)
        take_other = side == "other" or (side is None and _empty(keep, cols) and not _empty(other, cols))
        if take_other:
            values |= {col: getattr(other, col) for col in cols}
    values["tags"] = sorted(set(keep.tags or []) | set(other.tags or []))
    values["custom_fields"] = {**(other.custom_fields or {}), **(keep.custom_fields or {})}
    values |= {flag: getattr(keep, flag) or getattr(other, flag) for flag in FLAGS}
    contacted = [t for t in (keep.last_contacted_at, other.last_contacted_at) if t is not None]
    values["last_contacted_at"] = max(contacted) if contacted else None
    # Consent without a log entry (an older row) survives like a field; the log, merged below, decides the rest.
    for col in CONSENT_COLUMN.values():
        values[col] = getattr(keep, col) or getattr(other, col)
    return values


def _copy_sql(table: str, col: str) -> str:
    """An append-only log is never rewritten: the merged contact's rows are copied to the survivor as they were
    (time, source, proof, author); the originals go with the merged contact."""
    t = Base.metadata.tables[table]
    cols = [c.name for c in t.columns if not (c.primary_key and c.identity is not None)]
    values = [":keep" if c == col else c for c in cols]
    return (
        f"INSERT INTO {table} ({', '.join(cols)}) SELECT {', '.join(values)} FROM {table} "  # noqa: S608 - names from the schema's metadata
        f"WHERE organization_id = :org AND {col} = :other ORDER BY id"
    )


async def _move_references(session: AsyncSession, org: Any, keep: Any, other: Any) -> dict[str, int]:
    """Every column holding a contact id, re-pointed; where a unique index would see the survivor twice (one
    target per action), the survivor's row is kept and the merged contact's one dropped. Counts per table."""
    params = {"org": org, "keep": keep, "other": other}
    moved: dict[str, int] = {}
    for ref in person_data.contact_columns():
        t, col = ref.table, ref.column  # identifiers from the schema's own metadata, never from input
        for others in ref.unique_with:
            same = " AND ".join(f"k.{c} = o.{c}" for c in others) or "true"
            await session.execute(
                text(
                    f"DELETE FROM {t} o WHERE o.organization_id = :org AND o.{col} = :other AND EXISTS "  # noqa: S608 - names from the schema's metadata
                    f"(SELECT 1 FROM {t} k WHERE k.organization_id = :org AND k.{col} = :keep AND {same})"
                ),
                params,
            )
        if t in APPEND_ONLY:
            r = await session.execute(text(_copy_sql(t, col)), params)
        else:
            r = await session.execute(
                text(f"UPDATE {t} SET {col} = :keep WHERE organization_id = :org AND {col} = :other"),  # noqa: S608 - names from the schema's metadata
                params,
            )
        moved[f"{t}.{col}"] = r.rowcount  # type: ignore[attr-defined]
    return moved


async def _current_consents(session: AsyncSession, keep: Contact) -> dict[str, str]:
    """The latest logged change per channel, over both logs now on the survivor."""
    rows = await session.execute(
        select(ConsentLog.channel, ConsentLog.status)
        .where(ConsentLog.organization_id == keep.organization_id, ConsentLog.contact_id == keep.id)
        .distinct(ConsentLog.channel)
        .order_by(ConsentLog.channel, ConsentLog.recorded_at.desc(), ConsentLog.id.desc())
    )
    return {CONSENT_COLUMN[ch]: st for ch, st in rows.all() if ch in CONSENT_COLUMN}


async def merge(
    session: AsyncSession, keep: Contact, other: Contact, body: MergeRequest, *, actor: Principal
) -> Contact:
    if keep.id == other.id:
        raise Unprocessable(
            "A contact cannot be merged into itself.", details=[{"field": "other_id", "message": "same contact"}]
        )
    org = keep.organization_id
    # Both rows locked, in id order (two merges of the same pair in opposite directions cannot deadlock).
    locked = [
        await session.scalar(
            select(Contact.id).where(Contact.organization_id == org, Contact.id == cid).with_for_update()
        )
        for cid in sorted((keep.id, other.id))
    ]
    if None in locked:  # a merge or an erasure of the same pair committed while this one waited for the rows
        raise MergeConflict(details=[{"field": "other_id", "message": "merged or erased meanwhile"}])
    values = _surviving_values(keep, other, {str(k): v for k, v in body.fields.items()})
    moved = await _move_references(session, org, keep.id, other.id)
    await session.execute(delete(Contact).where(Contact.organization_id == org, Contact.id == other.id))
    values |= await _current_consents(session, keep)
    for col, v in values.items():
        setattr(keep, col, v)
    await session.flush()
    await add_event(
        session,
        org,
        keep.id,
        kind="merge",
        actor=actor,
        summary="Merged another contact into this one",
        data={"merged_id": str(other.id), "fields": dict(body.fields)},
    )
    await audit.record(
        session,
        actor=actor,
        action="contact.merged",
        object_type="contact",
        object_id=keep.id,
        details={"merged_id": str(other.id), "fields": dict(body.fields), "moved": moved},
    )
    return keep

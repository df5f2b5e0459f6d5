"""Contacts: create (with duplicate detection), read, update, delete, list, search, count."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from geoalchemy2 import WKTElement
from geoalchemy2.shape import to_shape
from sqlalchemy import ColumnElement, ScalarSelect, Select, and_, bindparam, delete, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import service as audit
from app.auth.principal import Principal
from app.config import get_settings
from app.contacts import consents as consent_service
from app.contacts import repository as repo
from app.contacts import sorting
from app.contacts.events import add_event
from app.contacts.filters import SegmentFilter, resolve
from app.contacts.schemas import Address, ContactCreate, ContactRead, ContactUpdate, DoNotContact, Point
from app.core.errors import Conflict, NotFound, Unprocessable
from app.core.phones import InvalidPhone, normalize
from app.models import Contact, CustomFieldDef, Organization, Tag


class ContactNotFound(NotFound):
    code = "contact_not_found"
    message = "Contact not found."


class DuplicateContact(Conflict):
    code = "duplicate_contact"
    message = "A contact with this phone or email already exists."


async def org_region(session: AsyncSession, organization_id: uuid.UUID) -> str:
    region = await session.scalar(select(Organization.default_region).where(Organization.id == organization_id))
    return region or get_settings().default_region


def to_read(c: Contact) -> ContactRead:
    loc = None
    if c.location is not None:
        p = to_shape(c.location)
        loc = Point(lon=p.x, lat=p.y)
    year = c.birth_year or (c.birth_date.year if c.birth_date else None)
    return ContactRead(
        id=c.id,
        first_name=c.first_name,
        last_name=c.last_name,
        has_mobile=bool(c.mobile_e164 and not c.mobile_invalid),
        has_home_phone=bool(c.home_e164 and not c.home_invalid),
        email=c.email,
        address=Address(
            street=c.street,
            number=c.street_number,
            building=c.building,
            postal_code=c.postal_code,
            city=c.city,
            country=c.country,
        ),
        location=loc,
        birth_year=c.birth_year,
        birth_date=c.birth_date,
        age=(datetime.now(UTC).year - year) if year else None,
        gender=c.gender,
        language=c.language,
        support_level=c.support_level,
        donor=c.is_donor,
        volunteer=c.is_volunteer,
        member=c.is_member,
        tags=list(c.tags or []),
        custom_fields=dict(c.custom_fields or {}),
        source=c.source,
        do_not_contact=DoNotContact(phone=c.dnc_phone, sms=c.dnc_sms, email=c.dnc_email, visit=c.dnc_visit),
        consents={
            "email": c.consent_email,
            "sms": c.consent_sms,
            "phone": c.consent_phone,
            "data_processing": c.consent_data_processing,
        },
        last_contacted_at=c.last_contacted_at,
        created_at=c.created_at,
        updated_at=c.updated_at,
    )


async def get(session: AsyncSession, contact_id: uuid.UUID, *, actor: Principal, for_update: bool = False) -> Contact:
    q = repo.visible_to(actor).where(Contact.id == contact_id)
    if for_update:
        q = q.with_for_update()
    c = await session.scalar(q)
    if c is None:
        raise ContactNotFound()
    return c


def _phone(raw: str, region: str, field: str) -> str:
    try:
        return normalize(raw, region).e164
    except InvalidPhone as e:
        raise Unprocessable(
            f"Invalid phone number in {field}.", details=[{"field": field, "message": "not a valid phone number"}]
        ) from e


async def _check_custom_fields(session: AsyncSession, org: uuid.UUID, values: dict[str, Any]) -> None:
    defs = {
        d.key: d
        for d in (await session.scalars(select(CustomFieldDef).where(CustomFieldDef.organization_id == org))).all()
    }
    errors = []
    for k, v in values.items():
        d = defs.get(k)
        if d is None:
            errors.append({"field": f"custom_fields.{k}", "message": "no such custom field"})
            continue
        ok = (
            v is None
            or (d.type == "text" and isinstance(v, str))
            or (d.type == "number" and isinstance(v, int | float) and not isinstance(v, bool))
            or (d.type == "boolean" and isinstance(v, bool))
            or (d.type == "date" and isinstance(v, str) and _is_date(v))
            or (d.type == "choice" and v in d.options)
        )
        if not ok:
            errors.append({"field": f"custom_fields.{k}", "message": f"expected {d.type}"})
    if errors:
        raise Unprocessable("Invalid custom fields.", details=errors)


def _is_date(v: str) -> bool:
    try:
        datetime.fromisoformat(v)
        return True
    except ValueError:
        return False


async def ensure_tags(session: AsyncSession, org: uuid.UUID, tags: list[str]) -> None:
    if tags:
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        await session.execute(
            pg_insert(Tag).values([{"organization_id": org, "name": t} for t in tags]).on_conflict_do_nothing()
        )


async def apply_changes(
    session: AsyncSession, c: Contact, data: dict[str, Any], body: ContactUpdate | ContactCreate, region: str
) -> None:
    simple = {"first_name", "last_name", "birth_year", "birth_date", "gender", "language", "support_level"}
    for k in simple & data.keys():
        v = data[k]
        setattr(c, k, (v or "") if k in ("first_name", "last_name") else v)
    if "mobile" in data:
        c.mobile_raw = data["mobile"]
        c.mobile_e164 = _phone(data["mobile"], region, "mobile") if data["mobile"] else None
        c.mobile_invalid = False
    if "home_phone" in data:
        c.home_raw = data["home_phone"]
        c.home_e164 = _phone(data["home_phone"], region, "home_phone") if data["home_phone"] else None
        c.home_invalid = False
    if "email" in data:
        c.email = data["email"].lower() if data["email"] else None
    if "address" in data and body.address is not None:
        a = body.address.model_dump(exclude_unset=True)
        for src, dst in (
            ("street", "street"),
            ("number", "street_number"),
            ("building", "building"),
            ("postal_code", "postal_code"),
            ("city", "city"),
            ("country", "country"),
        ):
            if src in a:
                setattr(c, dst, a[src])
    if "location" in data:
        c.location = WKTElement(f"POINT({body.location.lon} {body.location.lat})", srid=4326) if body.location else None
    for flag in ("donor", "volunteer", "member"):
        if flag in data and data[flag] is not None:
            setattr(c, f"is_{flag}", data[flag])
    if "tags" in data:
        c.tags = body.tags or []
        await ensure_tags(session, c.organization_id, c.tags)
    if "custom_fields" in data and body.custom_fields is not None:
        await _check_custom_fields(session, c.organization_id, body.custom_fields)
        c.custom_fields = {**(c.custom_fields or {}), **body.custom_fields}
    if "do_not_contact" in data and body.do_not_contact is not None:
        for ch, v in body.do_not_contact.model_dump(exclude_unset=True).items():
            if v is not None:
                setattr(c, f"dnc_{ch}", v)


def duplicate_query(
    org: uuid.UUID, *, mobile: str | None, home: str | None, email: str | None, exclude: uuid.UUID | None = None
) -> Select[uuid.UUID] | None:
    """The contact a new one would duplicate (same mobile, home phone or email), or None with nothing to match."""
    conds: list[ColumnElement[bool]] = []
    if mobile:
        conds += [Contact.mobile_e164 == mobile, Contact.home_e164 == mobile]
    if home:
        conds += [Contact.mobile_e164 == home]
    if email:
        conds.append(Contact.email == email.lower())
    if not conds:
        return None
    q = select(Contact.id).where(Contact.organization_id == org, or_(*conds))
    if exclude:
        q = q.where(Contact.id != exclude)
    return q.limit(1)


def duplicate_of_email() -> ScalarSelect[uuid.UUID]:
    """duplicate_query's match of an email alone (the same rule), as a scalar subquery with bind parameters
    `dup_org` and `dup_email` (lowercased by the caller): built once, for a hot path (a petition signature)."""
    return (
        select(Contact.id)
        .where(Contact.organization_id == bindparam("dup_org"), Contact.email == bindparam("dup_email"))
        .limit(1)
        .scalar_subquery()
    )


async def find_duplicate(
    session: AsyncSession,
    org: uuid.UUID,
    *,
    mobile: str | None,
    home: str | None,
    email: str | None,
    exclude: uuid.UUID | None = None,
) -> uuid.UUID | None:
    q = duplicate_query(org, mobile=mobile, home=home, email=email, exclude=exclude)
    return None if q is None else await session.scalar(q)


async def create(
    session: AsyncSession, body: ContactCreate, *, actor: Principal, merge: bool = False, source: str | None = None
) -> tuple[Contact, bool]:
    """Returns (contact, created). A duplicate is a 409 naming the existing id, unless merge=True."""
    region = await org_region(session, actor.organization_id)
    mobile = _phone(body.mobile, region, "mobile") if body.mobile else None
    home = _phone(body.home_phone, region, "home_phone") if body.home_phone else None
    dup = await find_duplicate(session, actor.organization_id, mobile=mobile, home=home, email=body.email)
    data = body.model_dump(exclude_unset=True, exclude={"consents", "source"})
    if dup is not None:
        if not merge:
            raise DuplicateContact(details=[{"field": "id", "message": str(dup)}])
        existing = await session.scalar(
            select(Contact).where(Contact.organization_id == actor.organization_id, Contact.id == dup).with_for_update()
        )
        assert existing is not None
        fill = dict(data)  # an explicit merge: the new values win, tags are added to the existing ones
        if body.tags:
            fill["tags"] = sorted(set(existing.tags or []) | set(body.tags))
            body = body.model_copy(update={"tags": fill["tags"]})
        await apply_changes(session, existing, fill, body, region)
        await session.flush()
        await add_event(
            session,
            existing.organization_id,
            existing.id,
            kind="edit",
            actor=actor,
            summary="Updated by a merge on create",
            data={"fields": sorted(fill)},
        )
        await consent_service.record_many(session, existing, body.consents, actor=actor)
        return existing, False
    c = Contact(
        organization_id=actor.organization_id,
        id=uuid.uuid4(),
        source=source or body.source,
        created_by=actor.user_id,
        tags=[],
        custom_fields={},
    )
    await apply_changes(session, c, data, body, region)
    session.add(c)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as e:
        raise Unprocessable(
            "The contact could not be stored.", details=[{"field": "body", "message": "invalid"}]
        ) from e
    await consent_service.record_many(session, c, body.consents, actor=actor)
    return c, True


async def update(session: AsyncSession, c: Contact, body: ContactUpdate, *, actor: Principal) -> Contact:
    region = await org_region(session, actor.organization_id)
    data = body.model_dump(exclude_unset=True)
    if not data:
        return c
    mobile = _phone(body.mobile, region, "mobile") if body.mobile else None
    home = _phone(body.home_phone, region, "home_phone") if body.home_phone else None
    dup = await find_duplicate(
        session,
        actor.organization_id,
        mobile=mobile,
        home=home,
        email=body.email if "email" in data else None,
        exclude=c.id,
    )
    if dup is not None:
        raise DuplicateContact(details=[{"field": "id", "message": str(dup)}])
    await apply_changes(session, c, data, body, region)
    c.updated_at = datetime.now(UTC)
    await session.flush()
    await add_event(
        session, c.organization_id, c.id, kind="edit", actor=actor, summary="Edited", data={"fields": sorted(data)}
    )
    return c


async def remove(session: AsyncSession, c: Contact, *, actor: Principal) -> None:
    await session.execute(delete(Contact).where(Contact.organization_id == c.organization_id, Contact.id == c.id))
    await audit.record(session, actor=actor, action="contact.deleted", object_type="contact", object_id=c.id)


async def search(
    session: AsyncSession,
    f: SegmentFilter,
    *,
    actor: Principal,
    limit: int,
    cursor: str | None,
    sort: str = "name",
    order: str = "asc",
    with_total: bool = False,
) -> tuple[list[Contact], str | None, int | None]:
    conds = await resolve(session, f, actor.organization_id, actor=actor)
    base = repo.visible_to(actor).where(and_(*conds))
    q = sorting.apply(base, sort=sort, order=order, cursor=cursor, limit=limit)
    rows = list((await session.scalars(q)).all())
    nxt = sorting.next_cursor(rows, sort=sort, order=order, limit=limit)
    total = None
    if with_total:
        total = await session.scalar(select(func.count()).select_from(base.subquery()))
    return rows[:limit], nxt, total


async def count(session: AsyncSession, f: SegmentFilter, *, actor: Principal) -> int:
    conds = await resolve(session, f, actor.organization_id, actor=actor)
    q = select(func.count()).select_from(Contact).where(and_(*conds))
    vis = repo.visible_to(actor)
    if vis.whereclause is not None:
        q = q.where(vis.whereclause)
    return int(await session.scalar(q) or 0)

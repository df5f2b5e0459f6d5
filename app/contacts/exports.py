"""Segment exports: a streaming CSV, admins and managers only, every export and download audited."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field
from sqlalchemy import and_, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.audit import service as audit
from app.auth.principal import Principal
from app.contacts.filters import SegmentFilter, resolve
from app.contacts.service import org_region
from app.core.db import set_tenant
from app.core.errors import NotFound
from app.core.schemas import Strict
from app.models import Contact, Export

Column = Literal[
    "id",
    "first_name",
    "last_name",
    "mobile",
    "home_phone",
    "email",
    "street",
    "number",
    "building",
    "postal_code",
    "city",
    "country",
    "lat",
    "lon",
    "birth_year",
    "support_level",
    "tags",
    "donor",
    "volunteer",
    "member",
    "consent_email",
    "consent_sms",
    "consent_phone",
    "created_at",
]
DEFAULT_COLUMNS: list[Column] = [
    "id",
    "first_name",
    "last_name",
    "mobile",
    "home_phone",
    "email",
    "street",
    "number",
    "postal_code",
    "city",
    "support_level",
    "tags",
    "consent_email",
    "consent_sms",
    "consent_phone",
]
_SQL: dict[str, Any] = {
    "id": Contact.id,
    "first_name": Contact.first_name,
    "last_name": Contact.last_name,
    "mobile": Contact.mobile_e164,
    "home_phone": Contact.home_e164,
    "email": Contact.email,
    "street": Contact.street,
    "number": Contact.street_number,
    "building": Contact.building,
    "postal_code": Contact.postal_code,
    "city": Contact.city,
    "country": Contact.country,
    "lat": func.ST_Y(Contact.location),
    "lon": func.ST_X(Contact.location),
    "birth_year": Contact.birth_year,
    "support_level": Contact.support_level,
    "tags": func.array_to_string(Contact.tags, "|"),
    "donor": Contact.is_donor,
    "volunteer": Contact.is_volunteer,
    "member": Contact.is_member,
    "consent_email": Contact.consent_email,
    "consent_sms": Contact.consent_sms,
    "consent_phone": Contact.consent_phone,
    "created_at": Contact.created_at,
}


class ExportCreate(Strict):
    filter: SegmentFilter = Field(default_factory=SegmentFilter)
    columns: list[Column] = Field(default_factory=lambda: list(DEFAULT_COLUMNS), min_length=1)


class ExportRead(BaseModel):
    id: uuid.UUID
    columns: list[str]
    filter: dict[str, Any]
    created_at: datetime
    downloaded_at: datetime | None
    row_count: int | None
    download_path: str


class ExportNotFound(NotFound):
    code = "export_not_found"
    message = "Export not found."


def to_read(e: Export) -> ExportRead:
    return ExportRead(
        id=e.id,
        columns=e.columns,
        filter=e.filter,
        created_at=e.created_at,
        downloaded_at=e.downloaded_at,
        row_count=e.row_count,
        download_path=f"/api/v1/exports/{e.id}/download",
    )


async def create(session: AsyncSession, body: ExportCreate, *, actor: Principal) -> ExportRead:
    region = await org_region(session, actor.organization_id)
    conds = await resolve(session, body.filter, actor.organization_id, region=region)  # validates now
    n = await session.scalar(select(func.count()).select_from(Contact).where(and_(*conds)))
    e = Export(
        organization_id=actor.organization_id,
        id=uuid.uuid4(),
        filter=body.filter.model_dump(mode="json", exclude_defaults=True),
        columns=list(body.columns),
        created_by=actor.user_id,
        row_count=n,
    )
    session.add(e)
    await session.flush()
    await session.refresh(e)
    await audit.record(
        session,
        actor=actor,
        action="export.created",
        object_type="export",
        object_id=e.id,
        details={"rows": n, "columns": list(body.columns)},
    )
    return to_read(e)


async def get(session: AsyncSession, export_id: uuid.UUID, *, actor: Principal) -> Export:
    e = await session.scalar(
        select(Export).where(Export.organization_id == actor.organization_id, Export.id == export_id)
    )
    if e is None:
        raise ExportNotFound()
    return e


async def mark_downloaded(session: AsyncSession, e: Export, *, actor: Principal) -> None:
    await session.execute(
        update(Export)
        .where(Export.organization_id == e.organization_id, Export.id == e.id)
        .values(downloaded_at=datetime.now(UTC))
    )
    await audit.record(session, actor=actor, action="export.downloaded", object_type="export", object_id=e.id)


async def stream_csv(maker: async_sessionmaker[AsyncSession], e: Export, region: str) -> AsyncIterator[bytes]:
    """Rows straight from a server-side cursor, in its own transaction: memory stays flat."""
    cols = [_SQL[c] for c in e.columns]
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(e.columns)
    yield ("\ufeff" + buf.getvalue()).encode()
    async with maker() as session, session.begin():
        await set_tenant(session, e.organization_id)
        conds = await resolve(session, SegmentFilter.model_validate(e.filter), e.organization_id, region=region)
        result = await session.stream(
            select(*cols).where(and_(*conds)).order_by(Contact.id).execution_options(yield_per=2000)
        )
        async for part in result.partitions(2000):
            buf.seek(0)
            buf.truncate()
            writer.writerows(part)
            yield buf.getvalue().encode()

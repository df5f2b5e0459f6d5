"""Segment exports: a streaming CSV, admins and managers only, every export and download audited."""

from __future__ import annotations

import io
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, Field
from sqlalchemy import and_, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import service as audit
from app.auth.principal import Principal
from app.contacts.fields import EXPORTED, FIELDS
from app.contacts.filters import SegmentFilter, resolve
from app.contacts.service import org_region
from app.core import paths
from app.core.csvout import safe_writer
from app.core.errors import NotFound
from app.core.replicas import Reader, Writer
from app.core.schemas import Strict
from app.models import Contact, Export


def _exportable(v: str) -> str:
    if v not in EXPORTED:
        raise ValueError("not a column an export can write")
    return v


Column = Annotated[str, AfterValidator(_exportable), Field(json_schema_extra={"enum": list(EXPORTED)})]
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
_SQL: dict[str, Any] = {f.name: getattr(Contact, f.column) for f in FIELDS if f.exported and f.column} | {
    "mobile": Contact.mobile_e164,  # exports give the normalized number
    "home_phone": Contact.home_e164,
    "lat": func.ST_Y(Contact.location),
    "lon": func.ST_X(Contact.location),
    "tags": func.array_to_string(Contact.tags, "|"),
}
assert set(_SQL) == set(EXPORTED), "every exportable field has its SQL expression"


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
        download_path=paths.export_download(e.id),
    )


async def create(
    session: AsyncSession, body: ExportCreate, *, actor: Principal, reads: Reader, write: Writer
) -> ExportRead:
    """The filter validated on the primary (it may name a segment or a team made a moment ago) and that read-only
    transaction ended, its rows then counted in a lag-tolerant read (a standby when one is healthy), then the
    export and its audit entry written in one primary transaction: no primary transaction is open while the
    standby counts, and none spans the two servers."""
    region = await org_region(session, actor.organization_id)
    conds = await resolve(session, body.filter, actor.organization_id, region=region, actor=actor)  # validates now
    await session.commit()  # read only: this gives the primary connection back for the count's duration
    async with reads() as rs:
        n = await rs.scalar(select(func.count()).select_from(Contact).where(and_(*conds)))
    async with write() as ws:
        e = Export(
            organization_id=actor.organization_id,
            id=uuid.uuid4(),
            filter=body.filter.model_dump(mode="json", exclude_defaults=True),
            columns=list(body.columns),
            created_by=actor.user_id,
            row_count=n,
        )
        ws.add(e)
        await ws.flush()
        await ws.refresh(e)
        await audit.record(
            ws,
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


async def conditions(session: AsyncSession, e: Export) -> list[Any]:
    """The export's filter as SQL conditions, resolved on the primary (what it names may be a moment old)."""
    region = await org_region(session, e.organization_id)
    return await resolve(session, SegmentFilter.model_validate(e.filter), e.organization_id, region=region)


async def stream_csv(reads: Reader, e: Export, conds: list[Any]) -> AsyncIterator[bytes]:
    """Rows straight from a server-side cursor, in a lag-tolerant read transaction of its own (a standby when
    one is healthy, scoped to the export's organization): memory stays flat and the primary is not read."""
    cols = [_SQL[c] for c in e.columns]
    buf = io.StringIO()
    writer = safe_writer(buf)
    writer.writerow(e.columns)
    yield ("\ufeff" + buf.getvalue()).encode()
    async with reads() as session:
        result = await session.stream(
            select(*cols).where(and_(*conds)).order_by(Contact.id).execution_options(yield_per=2000)
        )
        async for part in result.partitions(2000):
            buf.seek(0)
            buf.truncate()
            writer.writerows(part)
            yield buf.getvalue().encode()

"""Imports: upload (streamed to disk, size-capped), mapping validation, queueing, status, rejects, cancel."""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

from fastapi import UploadFile
from sqlalchemy import literal, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.audit import service as audit
from app.auth.principal import Principal
from app.config import Settings
from app.core.csvout import SafeWriter, safe_writer
from app.core.db import set_tenant
from app.core.errors import AppError, Conflict, NotFound, Unprocessable
from app.core.pagination import decode_cursor, encode_cursor
from app.imports import csvio, mapping
from app.imports.schemas import ImportPreview, ImportRead
from app.models import CustomFieldDef, Import, ImportReject


class ImportNotFound(NotFound):
    code = "import_not_found"
    message = "Import not found."


class PayloadTooLarge(AppError):
    status_code = 413
    code = "payload_too_large"
    message = "The file is over the upload size limit."


def upload_dir(settings: Settings, org: uuid.UUID) -> Path:
    d = settings.data_dir / "uploads" / str(org)
    d.mkdir(parents=True, exist_ok=True)
    return d


async def save_upload(file: UploadFile, dest: Path, *, limit: int) -> int:
    size = 0
    with dest.open("wb") as out:
        while chunk := await file.read(1 << 20):
            size += len(chunk)
            if size > limit:
                out.close()
                dest.unlink(missing_ok=True)
                raise PayloadTooLarge(details=[{"field": "file", "message": f"over {limit} bytes"}])
            out.write(chunk)
    if size == 0:
        dest.unlink(missing_ok=True)
        raise csvio.BadCsv("The file is empty.", details=[{"field": "file", "message": "empty file"}])
    return size


def to_read(i: Import) -> ImportRead:
    cols = i.mapping.get("columns", {})
    headers = i.mapping.get("headers", [])
    return ImportRead(
        id=i.id,
        status=i.status,
        phase=i.phase if i.status == "running" else None,
        filename=i.filename,
        encoding=i.encoding,
        delimiter=i.delimiter,
        mapping={t: headers[idx] for t, idx in cols.items() if idx < len(headers)},
        default_tags=list(i.default_tags or []),
        dedupe_policy=i.dedupe_policy,
        rows_total=i.rows_total,
        rows_done=i.rows_done,
        created=i.created_count,
        updated=i.updated_count,
        skipped=i.skipped_count,
        rejected=i.rejected_count,
        error=i.error,
        created_at=i.created_at,
        started_at=i.started_at,
        finished_at=i.finished_at,
    )


async def preview(file: UploadFile, *, actor: Principal, settings: Settings) -> ImportPreview:
    tmp = upload_dir(settings, actor.organization_id) / f"preview-{uuid.uuid4()}.csv"
    try:
        await save_upload(file, tmp, limit=settings.limits.max_upload_bytes)
        was = csvio.to_utf8(tmp)
        s = csvio.sniff(tmp)
    finally:
        tmp.unlink(missing_ok=True)
    return ImportPreview(
        encoding=was or s.encoding,
        delimiter=s.delimiter,
        headers=s.headers,
        sample_rows=s.sample,
        suggested_mapping=mapping.suggest(s.headers),
    )


def _parse_json(raw: str, field: str) -> object:
    try:
        return json.loads(raw)
    except json.JSONDecodeError as e:
        raise Unprocessable(f"{field} is not valid JSON.", details=[{"field": field, "message": str(e)}]) from e


async def create(
    session: AsyncSession,
    file: UploadFile,
    *,
    mapping_json: str,
    default_tags: str | None,
    consent_source: str | None,
    consent_channels: str | None,
    dedupe_policy: str,
    encoding: str | None,
    delimiter: str | None,
    actor: Principal,
    settings: Settings,
) -> Import:
    cols = _parse_json(mapping_json, "mapping")
    if not isinstance(cols, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in cols.items()):
        raise Unprocessable(
            "mapping must be an object {field: column}.", details=[{"field": "mapping", "message": "expected object"}]
        )
    tags = [t.strip() for t in (default_tags or "").split(",") if t.strip()]
    channels = [c.strip() for c in (consent_channels or "").split(",") if c.strip()]
    bad = [c for c in channels if c not in ("email", "sms", "phone", "data_processing")]
    if bad:
        raise Unprocessable("Unknown consent channel.", details=[{"field": "consent_channels", "message": bad[0]}])
    if channels and not consent_source:
        raise Unprocessable(
            "Consent needs its source (what people agreed to, where).",
            details=[{"field": "consent_source", "message": "required with consent_channels"}],
        )
    import_id = uuid.uuid4()
    dest = upload_dir(settings, actor.organization_id) / f"{import_id}.csv"
    size = await save_upload(file, dest, limit=settings.limits.max_upload_bytes)
    try:
        if csvio.to_utf8(dest):  # UTF-16, now UTF-8: whatever encoding was chosen, the file is UTF-8
            encoding = None
        sniffed = csvio.sniff(dest, encoding=encoding, delimiter=delimiter, sample_rows=0)
        custom = set(
            (
                await session.scalars(
                    select(CustomFieldDef.key).where(CustomFieldDef.organization_id == actor.organization_id)
                )
            ).all()
        )
        columns = mapping.validate(cols, sniffed.headers, custom)
    except Exception:
        dest.unlink(missing_ok=True)
        raise
    imp = Import(
        organization_id=actor.organization_id,
        id=import_id,
        status="queued",
        filename=(file.filename or "upload.csv")[:255],
        file_path=str(dest),
        size_bytes=size,
        encoding=sniffed.encoding,
        delimiter=sniffed.delimiter,
        mapping={"columns": columns, "headers": sniffed.headers, "width": len(sniffed.headers)},
        default_tags=tags,
        consent_source=consent_source,
        consent_channels=channels,
        dedupe_policy=dedupe_policy,
        created_by=actor.user_id,
    )
    session.add(imp)
    await session.flush()
    await session.refresh(imp)
    await audit.record(
        session, actor=actor, action="import.created", object_type="import", object_id=imp.id, details={"bytes": size}
    )
    return imp


async def recent(
    session: AsyncSession, *, actor: Principal, limit: int, cursor: str | None
) -> tuple[list[Import], str | None]:
    """Newest first; keyset pages on (created_at, id)."""
    q = select(Import).where(Import.organization_id == actor.organization_id)
    if (after := decode_cursor(cursor)) is not None:
        try:
            at, last = datetime.fromisoformat(after[0]), uuid.UUID(after[1])
        except (IndexError, TypeError, ValueError) as e:
            raise Unprocessable("Invalid cursor.", details=[{"field": "cursor", "message": "malformed"}]) from e
        q = q.where(tuple_(Import.created_at, Import.id) < tuple_(literal(at), literal(last)))
    rows = list((await session.scalars(q.order_by(Import.created_at.desc(), Import.id.desc()).limit(limit + 1))).all())
    nxt = (
        encode_cursor([rows[limit - 1].created_at.isoformat(), str(rows[limit - 1].id)]) if len(rows) > limit else None
    )
    return rows[:limit], nxt


async def get(session: AsyncSession, import_id: uuid.UUID, *, actor: Principal) -> Import:
    i = await session.scalar(
        select(Import).where(Import.organization_id == actor.organization_id, Import.id == import_id)
    )
    if i is None:
        raise ImportNotFound()
    return i


async def cancel(session: AsyncSession, imp: Import, *, actor: Principal) -> Import:
    res = await session.execute(
        update(Import)
        .where(
            Import.organization_id == imp.organization_id,
            Import.id == imp.id,
            Import.status.in_(("uploaded", "queued", "running")),
        )
        .values(status="cancelled")
    )
    if res.rowcount == 0:  # type: ignore[attr-defined]
        raise Conflict(f"The import is already {imp.status}.")
    await session.refresh(imp)
    await audit.record(session, actor=actor, action="import.cancelled", object_type="import", object_id=imp.id)
    return imp


async def rejected_csv(maker: async_sessionmaker[AsyncSession], imp: Import) -> AsyncIterator[bytes]:
    """Streamed from a server-side cursor in its own transaction (the response outlives the request's)."""
    buf = io.StringIO()
    w = safe_writer(buf)
    w.writerow(["line", "reason", "row"])
    yield ("\ufeff" + buf.getvalue()).encode()
    async with maker() as session, session.begin():
        await set_tenant(session, imp.organization_id)
        async for chunk in _reject_rows(session, imp, w, buf):
            yield chunk


async def _reject_rows(session: AsyncSession, imp: Import, w: SafeWriter, buf: io.StringIO) -> AsyncIterator[bytes]:
    result = await session.stream(
        select(ImportReject.line_no, ImportReject.reason, ImportReject.raw)
        .where(ImportReject.organization_id == imp.organization_id, ImportReject.import_id == imp.id)
        .order_by(ImportReject.line_no)
        .execution_options(yield_per=2000)
    )
    async for part in result.partitions(2000):
        buf.seek(0)
        buf.truncate()
        w.writerows(part)
        yield buf.getvalue().encode()

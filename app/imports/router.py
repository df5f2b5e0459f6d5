from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import StreamingResponse

from app.auth.dependencies import require
from app.auth.permissions import Perm
from app.auth.principal import Principal
from app.core.db import SessionDep, after_commit
from app.core.jobs import enqueue
from app.core.pagination import CursorQ, LimitQ, Page
from app.imports import service
from app.imports.schemas import ImportPreview, ImportRead

router = APIRouter(prefix="/imports", tags=["imports"])
Importer = Annotated[Principal, require(Perm.manage_contacts)]


@router.post("/preview", operation_id="imports-preview")
async def preview(request: Request, user: Importer, file: Annotated[UploadFile, File()]) -> ImportPreview:
    """Detected encoding and delimiter, the header and the first rows, and a suggested mapping."""
    return await service.preview(file, actor=user, settings=request.app.state.settings)


@router.post("", status_code=202, operation_id="imports-create")
async def create_import(
    request: Request,
    session: SessionDep,
    user: Importer,
    file: Annotated[UploadFile, File(description="CSV: UTF-8 (with or without BOM), Latin-1 or Windows-1250")],
    mapping: Annotated[str, Form(description='JSON {"contact field": "CSV column"}', max_length=20000)],
    default_tags: Annotated[
        str | None, Form(description="Comma-separated tags added to every row", max_length=2000)
    ] = None,
    consent_source: Annotated[str | None, Form(max_length=2000)] = None,
    consent_channels: Annotated[
        str | None, Form(description="Comma-separated: email,sms,phone", max_length=100)
    ] = None,
    dedupe_policy: Annotated[Literal["update", "skip"], Form()] = "update",
    encoding: Annotated[Literal["utf-8", "utf-8-sig", "latin-1", "windows-1250"] | None, Form()] = None,
    delimiter: Annotated[Literal[",", ";", "\t", "|"] | None, Form()] = None,
) -> ImportRead:
    imp = await service.create(
        session,
        file,
        mapping_json=mapping,
        default_tags=default_tags,
        consent_source=consent_source,
        consent_channels=consent_channels,
        dedupe_policy=dedupe_policy,
        encoding=encoding,
        delimiter=delimiter,
        actor=user,
        settings=request.app.state.settings,
    )
    org, iid = str(imp.organization_id), str(imp.id)

    async def start() -> None:
        await enqueue(request.app.state, "run_import_job", org, iid, job_id=f"import:{iid}")

    after_commit(session, start)
    return service.to_read(imp)


@router.get("", operation_id="imports-list")
async def list_imports(
    session: SessionDep, user: Importer, limit: LimitQ = 50, cursor: CursorQ = None
) -> Page[ImportRead]:
    rows, nxt = await service.recent(session, actor=user, limit=limit, cursor=cursor)
    return Page[ImportRead](items=[service.to_read(i) for i in rows], next_cursor=nxt)


@router.get("/{import_id}", operation_id="imports-read")
async def read_import(import_id: uuid.UUID, session: SessionDep, user: Importer) -> ImportRead:
    return service.to_read(await service.get(session, import_id, actor=user))


@router.post("/{import_id}/cancel", operation_id="imports-cancel")
async def cancel_import(import_id: uuid.UUID, session: SessionDep, user: Importer) -> ImportRead:
    imp = await service.get(session, import_id, actor=user)
    return service.to_read(await service.cancel(session, imp, actor=user))


@router.get(
    "/{import_id}/rejected",
    operation_id="imports-rejected",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}}},
)
async def rejected(import_id: uuid.UUID, request: Request, session: SessionDep, user: Importer) -> StreamingResponse:
    imp = await service.get(session, import_id, actor=user)
    return StreamingResponse(
        service.rejected_csv(request.app.state.sessionmaker, imp),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="rejected-{imp.id}.csv"'},
    )

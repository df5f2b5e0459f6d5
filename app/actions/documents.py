"""An action's documents (the brief's attachments): typed, size-capped uploads served to people on the action."""

from __future__ import annotations

import uuid
from pathlib import Path

from fastapi import UploadFile
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.actions.schemas import DocumentRead
from app.auth.principal import Principal
from app.config import Settings
from app.core import paths
from app.core.errors import AppError, NotFound
from app.core.uploads import save_upload
from app.models import Action, ActionDocument


class DocumentNotFound(NotFound):
    code = "document_not_found"
    message = "Document not found."


class UnsupportedDocument(AppError):
    status_code = 415
    code = "unsupported_media_type"
    message = "Documents are PDF, images, text or office files."


_ALLOWED = (
    "application/pdf",
    "image/png",
    "image/jpeg",
    "image/webp",
    "text/plain",
    "text/markdown",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.oasis.opendocument.text",
)


async def add_document(
    session: AsyncSession, a: Action, file: UploadFile, *, actor: Principal, settings: Settings
) -> DocumentRead:
    ctype = (file.content_type or "").split(";")[0]
    if ctype not in _ALLOWED:
        raise UnsupportedDocument(details=[{"field": "file", "message": ctype or "unknown type"}])
    doc_id = uuid.uuid4()
    d = settings.data_dir / "documents" / str(a.organization_id)
    d.mkdir(parents=True, exist_ok=True)
    path = d / str(doc_id)
    size = await save_upload(file, path, limit=settings.limits.max_document_bytes)
    name = Path(file.filename or "document").name[:255]
    session.add(
        ActionDocument(
            organization_id=a.organization_id,
            id=doc_id,
            action_id=a.id,
            filename=name,
            content_type=ctype,
            size_bytes=size,
            path=str(path),
            uploaded_by=actor.user_id,
        )
    )
    await session.flush()
    return DocumentRead(
        id=doc_id, name=name, url=paths.action_document(a.id, doc_id), size_bytes=size, content_type=ctype
    )


async def get_document(session: AsyncSession, a: Action, doc_id: uuid.UUID) -> ActionDocument:
    d = await session.scalar(
        select(ActionDocument).where(
            ActionDocument.organization_id == a.organization_id,
            ActionDocument.action_id == a.id,
            ActionDocument.id == doc_id,
        )
    )
    if d is None:
        raise DocumentNotFound()
    return d

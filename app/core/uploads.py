"""Uploaded files: streamed to disk in chunks, capped in size, never empty."""

from __future__ import annotations

import uuid
from pathlib import Path

from fastapi import UploadFile

from app.config import Settings
from app.core.errors import AppError, Unprocessable


class PayloadTooLarge(AppError):
    status_code = 413
    code = "payload_too_large"
    message = "The file is over the upload size limit."


class EmptyUpload(Unprocessable):
    code = "empty_file"
    message = "The file is empty."


def upload_dir(settings: Settings, org: uuid.UUID) -> Path:
    d = settings.data_dir / "uploads" / str(org)
    d.mkdir(parents=True, exist_ok=True)
    return d


async def save_upload(file: UploadFile, dest: Path, *, limit: int) -> int:
    """Write `file` to `dest` and return its size; over `limit` bytes or empty, nothing stays on disk."""
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
        raise EmptyUpload(details=[{"field": "file", "message": "empty file"}])
    return size

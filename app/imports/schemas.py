from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field


class ImportPreview(BaseModel):
    encoding: str
    delimiter: str
    headers: list[str]
    sample_rows: list[list[str]]
    suggested_mapping: dict[str, str]


class ImportRead(BaseModel):
    id: uuid.UUID
    status: Literal["uploaded", "queued", "running", "done", "failed", "cancelled"]
    phase: Literal["reading", "matching", "writing"] | None = Field(
        None, description="While running: reading the file, matching it against the base, writing contacts."
    )
    filename: str
    encoding: str
    delimiter: str
    mapping: dict[str, str]
    default_tags: list[str]
    dedupe_policy: str
    rows_total: int
    rows_done: int
    created: int
    updated: int
    skipped: int
    rejected: int
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

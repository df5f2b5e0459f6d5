"""CSV imports (processed by a job) and segment exports."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, DateTime, ForeignKeyConstraint, Index, Integer, String, Text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, created_at, org_pk, tenant, uuid_pk

IMPORT_STATUSES = ("uploaded", "queued", "running", "done", "failed", "cancelled")


class Import(Base):
    __tablename__ = tenant("imports")
    __table_args__ = (
        CheckConstraint(f"status IN {IMPORT_STATUSES!r}", name="status"),
        CheckConstraint("dedupe_policy IN ('update', 'skip')", name="dedupe_policy"),
        ForeignKeyConstraint(["organization_id"], ["organizations.id"], ondelete="CASCADE"),
        Index(None, "organization_id", "created_at"),
    )

    organization_id: Mapped[uuid.UUID] = org_pk()
    id: Mapped[uuid.UUID] = uuid_pk()
    status: Mapped[str] = mapped_column(String(16), server_default="queued")
    phase: Mapped[str | None] = mapped_column(String(16))  # while running: reading, matching, writing
    filename: Mapped[str] = mapped_column(String(255))
    file_path: Mapped[str] = mapped_column(Text)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    encoding: Mapped[str] = mapped_column(String(20))
    delimiter: Mapped[str] = mapped_column(String(1))
    mapping: Mapped[dict[str, Any]] = mapped_column(JSONB)
    default_tags: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default="{}")
    consent_source: Mapped[str | None] = mapped_column(Text)
    consent_channels: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default="{}")
    dedupe_policy: Mapped[str] = mapped_column(String(8), server_default="update")
    rows_total: Mapped[int] = mapped_column(Integer, server_default="0")
    rows_done: Mapped[int] = mapped_column(Integer, server_default="0")
    created_count: Mapped[int] = mapped_column(Integer, server_default="0")
    updated_count: Mapped[int] = mapped_column(Integer, server_default="0")
    skipped_count: Mapped[int] = mapped_column(Integer, server_default="0")
    rejected_count: Mapped[int] = mapped_column(Integer, server_default="0")
    error: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[datetime] = created_at()
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ImportReject(Base):
    __tablename__ = tenant("import_rejects")
    __table_args__ = (
        ForeignKeyConstraint(
            ["organization_id", "import_id"], ["imports.organization_id", "imports.id"], ondelete="CASCADE"
        ),
    )

    organization_id: Mapped[uuid.UUID] = org_pk()
    import_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    line_no: Mapped[int] = mapped_column(Integer, primary_key=True)
    reason: Mapped[str] = mapped_column(Text)
    raw: Mapped[str] = mapped_column(Text)


class Export(Base):
    __tablename__ = tenant("exports")
    __table_args__ = (ForeignKeyConstraint(["organization_id"], ["organizations.id"], ondelete="CASCADE"),)

    organization_id: Mapped[uuid.UUID] = org_pk()
    id: Mapped[uuid.UUID] = uuid_pk()
    filter: Mapped[dict[str, Any]] = mapped_column(JSONB)
    columns: Mapped[list[str]] = mapped_column(ARRAY(Text))
    created_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[datetime] = created_at()
    downloaded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    row_count: Mapped[int | None] = mapped_column(Integer)

"""Integrations: API keys (hashed, scoped, revocable) and webhook endpoints with their delivery log."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, DateTime, ForeignKeyConstraint, Identity, Index, Integer, String, Text, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, created_at, member_fk, org_pk, tenant, tenant_fk, uuid_pk


class ApiKey(Base):
    """The secret is shown once at creation; only its SHA-256 is kept (it is high-entropy: no slow hash needed)."""

    __tablename__ = tenant("api_keys")
    __table_args__ = (
        ForeignKeyConstraint(["organization_id"], ["organizations.id"], ondelete="CASCADE"),
        member_fk("created_by"),
        Index(None, "key_hash", unique=True),
    )

    organization_id: Mapped[uuid.UUID] = org_pk()
    id: Mapped[uuid.UUID] = uuid_pk()
    name: Mapped[str] = mapped_column(String(120))
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64))
    scopes: Mapped[list[str]] = mapped_column(ARRAY(String(32)))
    created_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[datetime] = created_at()
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class WebhookEndpoint(Base):
    __tablename__ = tenant("webhook_endpoints")
    __table_args__ = (ForeignKeyConstraint(["organization_id"], ["organizations.id"], ondelete="CASCADE"),)

    organization_id: Mapped[uuid.UUID] = org_pk()
    id: Mapped[uuid.UUID] = uuid_pk()
    url: Mapped[str] = mapped_column(Text)
    events: Mapped[list[str]] = mapped_column(ARRAY(String(40)))
    secret: Mapped[str] = mapped_column(String(80))  # "whsec_<base64>": the Standard Webhooks signing secret
    description: Mapped[str | None] = mapped_column(String(200))
    enabled: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    consecutive_failures: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    disabled_reason: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = created_at()


class WebhookDelivery(Base):
    __tablename__ = tenant("webhook_deliveries")
    __table_args__ = (
        tenant_fk("endpoint_id", "webhook_endpoints", ondelete="CASCADE"),
        Index(None, "organization_id", "endpoint_id", "created_at"),
        Index("ix_webhook_deliveries_pending", "next_attempt_at", postgresql_where=text("status = 'pending'")),
    )

    organization_id: Mapped[uuid.UUID] = org_pk()
    id: Mapped[uuid.UUID] = uuid_pk()
    endpoint_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    event_type: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    status: Mapped[str] = mapped_column(String(16), server_default="pending")  # pending, delivered, failed
    attempts: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = created_at()
    last_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Not before this may an attempt start: a running attempt's lease, then the backoff of the next one. The
    # sweeper queues again a pending delivery past it (its job was lost).
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class WebhookOutbox(Base):
    """Events written in the transaction of the change they describe; the worker fans them out after commit,
    so a crash or Redis outage between the commit and the enqueue loses nothing."""

    __tablename__ = tenant("webhook_outbox")
    __table_args__ = (
        ForeignKeyConstraint(["organization_id"], ["organizations.id"], ondelete="CASCADE"),
        Index(
            "ix_webhook_outbox_undispatched", "organization_id", "id", postgresql_where=text("dispatched_at IS NULL")
        ),
    )

    organization_id: Mapped[uuid.UUID] = org_pk()
    id: Mapped[int] = mapped_column(BigInteger, Identity(always=False), primary_key=True)
    event_type: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = created_at()
    dispatched_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

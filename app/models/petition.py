"""Petitions (a public page per slug) and their signatures: one per signer (email) and petition."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKeyConstraint,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    cast,
    func,
    select,
)
from sqlalchemy import text as sql
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import Mapped, column_property, mapped_column

from app.models.base import Base, created_at, org_pk, tenant, tenant_fk, updated_at, uuid_pk

PETITION_STATUSES = ("draft", "open", "closed")
SIGNATURE_STATUSES = ("pending", "confirmed")
SIGNATURE_CHANNELS = ("web", "embed", "field")


class PetitionCounter(Base):
    """A petition's signature count on shards: a signature adds one to a random shard (app.core.counters), so
    concurrent signers don't queue on one row; the count is the sum, exact once each signature commits."""

    __tablename__ = tenant("petition_counters")
    __table_args__ = (tenant_fk("petition_id", "petitions", ondelete="CASCADE"),)

    organization_id: Mapped[uuid.UUID] = org_pk()
    petition_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    shard: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, server_default="0")


class Petition(Base):
    __tablename__ = tenant("petitions")
    __table_args__ = (
        CheckConstraint("status IN ('draft', 'open', 'closed')", name="status"),
        CheckConstraint("goal IS NULL OR goal > 0", name="goal"),
        ForeignKeyConstraint(["organization_id"], ["organizations.id"], ondelete="CASCADE"),
        tenant_fk("action_id", "actions", ondelete="SET NULL"),
        Index(None, "slug", unique=True),
    )

    organization_id: Mapped[uuid.UUID] = org_pk()
    id: Mapped[uuid.UUID] = uuid_pk()
    slug: Mapped[str] = mapped_column(String(80))
    status: Mapped[str] = mapped_column(String(10), server_default="draft")
    title: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text, server_default="")
    goal: Mapped[int | None] = mapped_column(Integer)
    # channel → the sentence shown next to its checkbox (in the first language; translations override it).
    consent_wording: Mapped[dict[str, str]] = mapped_column(JSONB, server_default="{}")
    tags: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default="{}")
    thank_you_message: Mapped[str] = mapped_column(Text, server_default="")
    languages: Mapped[list[str]] = mapped_column(ARRAY(String(5)), server_default="{en}")
    # language → {title, text, thank_you_message, consent_wording}: what differs from the first language.
    translations: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    double_opt_in: Mapped[bool] = mapped_column(Boolean, server_default=sql("false"))
    embed_origins: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default="{}")
    action_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    # Confirmed signatures, erased signers included (an aggregate): the sum of the shards, read with the row.
    signature_count: Mapped[int] = column_property(
        select(cast(func.coalesce(func.sum(PetitionCounter.value), 0), BigInteger))
        .where(PetitionCounter.organization_id == organization_id, PetitionCounter.petition_id == id)
        .correlate_except(PetitionCounter)
        .scalar_subquery(),
        expire_on_flush=False,  # editing the petition does not change it (and must not reload it lazily)
    )
    created_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()


class PetitionSignature(Base):
    __tablename__ = tenant("petition_signatures")
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'confirmed')", name="status"),
        CheckConstraint("channel IN ('web', 'embed', 'field')", name="channel"),
        tenant_fk("petition_id", "petitions", ondelete="CASCADE"),
        # Erasing the person erases their signatures (the petition's counter, an aggregate, is kept).
        tenant_fk("contact_id", "contacts", ondelete="CASCADE"),
        Index(None, "organization_id", "petition_id", "signer_key", unique=True),
        Index(None, "confirm_token_hash", unique=True, postgresql_where=sql("confirm_token_hash IS NOT NULL")),
        # The purge of unconfirmed double opt-ins (few rows: the pending ones).
        Index("ix_petition_signatures_pending_created_at", "created_at", postgresql_where=sql("status = 'pending'")),
    )

    organization_id: Mapped[uuid.UUID] = org_pk()
    id: Mapped[uuid.UUID] = uuid_pk()
    petition_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    signer_key: Mapped[str] = mapped_column(String(320))  # the normalized email: one signature per person
    status: Mapped[str] = mapped_column(String(10), server_default="confirmed")
    contact_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    # What was submitted and shown (names, phone, the consent wording ticked): applied at once or on confirmation.
    data: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    language: Mapped[str] = mapped_column(String(5))
    channel: Mapped[str] = mapped_column(String(10))
    ip: Mapped[str | None] = mapped_column(String(64))
    collected_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    confirm_token_hash: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = created_at()
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

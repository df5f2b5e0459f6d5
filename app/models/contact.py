"""Contacts (consent-first), their consent log and timeline, tags, custom fields and saved segments."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKeyConstraint,
    Identity,
    Index,
    SmallInteger,
    String,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, clock_at, created_at, org_pk, tenant, tenant_fk, updated_at, uuid_pk

SOURCES = ("app", "import", "petition", "api", "call", "visit")
CHANNELS = ("email", "sms", "phone", "data_processing")
CONSENT_STATUSES = ("granted", "withdrawn")
# Identifiers compared only for equality are stored in byte order (COLLATE "C", migration 0026): every `=` and
# `IN` on them, and their indexes, compare bytes; the order equals the database's C.UTF-8 anyway.
BYTES = "C"
_ORG_FK = ForeignKeyConstraint(["organization_id"], ["organizations.id"], ondelete="CASCADE")


class Contact(Base):
    __tablename__ = tenant("contacts")
    __table_args__ = (
        CheckConstraint("support_level BETWEEN 1 AND 5", name="support_level"),
        CheckConstraint(f"source IN {SOURCES!r}", name="source"),
        ForeignKeyConstraint(["organization_id"], ["organizations.id"], ondelete="CASCADE"),
        tenant_fk("import_id", "imports", ondelete="SET NULL"),
        Index(None, "organization_id", "mobile_e164", postgresql_where=text("mobile_e164 IS NOT NULL")),
        Index(None, "organization_id", "home_e164", postgresql_where=text("home_e164 IS NOT NULL")),
        Index(None, "organization_id", "email", postgresql_where=text("email IS NOT NULL")),
        # The name and city keys are COLLATE "C" in these three indexes (migration 0026), and the queries that use
        # them say COLLATE "C" too (sorting.py, duplicates.py). Alembic cannot see an index column's collation (it
        # reflects the bare column), so the models name the columns only.
        Index(None, "organization_id", "last_name", "first_name", "id"),
        Index(None, "organization_id", "city", "street"),
        Index(None, "organization_id", "postal_code"),
        Index("ix_contacts_location", "location", postgresql_using="gist"),
        # Keyset sorts of the contacts table (app/contacts/sorting.py): nulls folded into a sentinel.
        Index("ix_contacts_sort_city", "organization_id", text("coalesce(city, '')"), "id"),
        Index("ix_contacts_sort_support", "organization_id", text("coalesce(support_level, 6)"), "id"),
        Index(
            "ix_contacts_sort_contacted",
            "organization_id",
            text("coalesce(last_contacted_at, '-infinity'::timestamptz)"),
            "id",
        ),
        Index("ix_contacts_sort_created", "organization_id", "created_at", "id"),
        Index("ix_contacts_tags", "tags", postgresql_using="gin"),
        Index(
            "ix_contacts_name_trgm",
            text("(lower(first_name || ' ' || last_name)) gin_trgm_ops"),
            postgresql_using="gin",
        ),
    )

    organization_id: Mapped[uuid.UUID] = org_pk()
    id: Mapped[uuid.UUID] = uuid_pk("gg_uuid7()")  # time-ordered: bulk imports append to the primary key
    first_name: Mapped[str] = mapped_column(String(200), server_default="")
    last_name: Mapped[str] = mapped_column(String(200), server_default="")
    mobile_e164: Mapped[str | None] = mapped_column(String(20, collation=BYTES))
    mobile_raw: Mapped[str | None] = mapped_column(String(64))
    mobile_invalid: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    home_e164: Mapped[str | None] = mapped_column(String(20, collation=BYTES))
    home_raw: Mapped[str | None] = mapped_column(String(64))
    home_invalid: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    email: Mapped[str | None] = mapped_column(String(320, collation=BYTES))
    email_invalid: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))  # the address bounced
    street: Mapped[str | None] = mapped_column(String(200))
    street_number: Mapped[str | None] = mapped_column(String(20))
    building: Mapped[str | None] = mapped_column(String(50))
    postal_code: Mapped[str | None] = mapped_column(String(20, collation=BYTES))
    city: Mapped[str | None] = mapped_column(String(120))
    country: Mapped[str | None] = mapped_column(String(2))
    location: Mapped[Any] = mapped_column(Geometry("POINT", srid=4326, spatial_index=False), nullable=True)
    birth_year: Mapped[int | None] = mapped_column(SmallInteger)
    birth_date: Mapped[date | None] = mapped_column(Date)
    gender: Mapped[str | None] = mapped_column(String(20))
    language: Mapped[str | None] = mapped_column(String(10))
    support_level: Mapped[int | None] = mapped_column(SmallInteger)
    is_donor: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    is_volunteer: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    is_member: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    tags: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default="{}")
    custom_fields: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    source: Mapped[str] = mapped_column(String(16), server_default="app")
    created_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    # Do-not-contact per channel (an explicit opt-out, stronger than a missing consent).
    dnc_phone: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    dnc_sms: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    dnc_email: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    dnc_visit: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    # Current consent per channel, derived from consent_log (null = never asked).
    consent_email: Mapped[str | None] = mapped_column(String(10))
    consent_sms: Mapped[str | None] = mapped_column(String(10))
    consent_phone: Mapped[str | None] = mapped_column(String(10))
    consent_data_processing: Mapped[str | None] = mapped_column(String(10))
    last_contacted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    import_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()


class ConsentLog(Base):
    """Append-only: the current consent of a contact is the latest row per channel."""

    __tablename__ = tenant("consent_log")
    __table_args__ = (
        CheckConstraint(f"channel IN {CHANNELS!r}", name="channel"),
        CheckConstraint(f"status IN {CONSENT_STATUSES!r}", name="status"),
        ForeignKeyConstraint(
            ["organization_id", "contact_id"], ["contacts.organization_id", "contacts.id"], ondelete="CASCADE"
        ),
        Index(None, "organization_id", "contact_id", "channel", "recorded_at"),
        Index(None, "organization_id", "recorded_at"),  # consents given in a period (dashboard)
    )

    organization_id: Mapped[uuid.UUID] = org_pk()
    id: Mapped[int] = mapped_column(BigInteger, Identity(always=False), primary_key=True)
    contact_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    channel: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(10))
    source: Mapped[str] = mapped_column(String(32))
    proof: Mapped[str | None] = mapped_column(Text)
    recorded_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    recorded_at: Mapped[datetime] = clock_at()


class ContactEvent(Base):
    """The contact's timeline: calls, visits, messages, notes, meetings, consent changes, edits."""

    __tablename__ = tenant("contact_events")
    __table_args__ = (
        ForeignKeyConstraint(
            ["organization_id", "contact_id"], ["contacts.organization_id", "contacts.id"], ondelete="CASCADE"
        ),
        tenant_fk("action_id", "actions", ondelete="SET NULL"),
        Index(None, "organization_id", "contact_id", "at"),
    )

    organization_id: Mapped[uuid.UUID] = org_pk()
    id: Mapped[int] = mapped_column(BigInteger, Identity(always=False), primary_key=True)
    contact_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    kind: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime] = clock_at()
    actor_user_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    action_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    summary: Mapped[str] = mapped_column(Text, server_default="")
    data: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")


class Tag(Base):
    __tablename__ = tenant("tags")
    __table_args__ = (_ORG_FK,)

    organization_id: Mapped[uuid.UUID] = org_pk()
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    color: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = created_at()


class CustomFieldDef(Base):
    __tablename__ = tenant("custom_field_defs")
    __table_args__ = (
        CheckConstraint("type IN ('text', 'number', 'boolean', 'date', 'choice')", name="type"),
        ForeignKeyConstraint(["organization_id"], ["organizations.id"], ondelete="CASCADE"),
    )

    organization_id: Mapped[uuid.UUID] = org_pk()
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    label: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(10))
    options: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default="{}")
    created_at: Mapped[datetime] = created_at()


class Segment(Base):
    """A named, dynamic filter: re-evaluated each time it is used."""

    __tablename__ = tenant("segments")
    __table_args__ = (
        ForeignKeyConstraint(["organization_id"], ["organizations.id"], ondelete="CASCADE"),
        Index(None, "organization_id", "name", unique=True),
    )

    organization_id: Mapped[uuid.UUID] = org_pk()
    id: Mapped[uuid.UUID] = uuid_pk()
    name: Mapped[str] = mapped_column(String(200))
    filter: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[datetime] = created_at()

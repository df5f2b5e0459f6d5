"""Messaging: templates per channel, campaigns, and one row per recipient of a campaign (its status)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKeyConstraint,
    Identity,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, created_at, member_fk, org_pk, tenant, tenant_fk, updated_at, uuid_pk

MESSAGE_CHANNELS = ("email", "sms")
CAMPAIGN_STATUSES = ("draft", "scheduled", "sending", "paused", "cancelled", "done")
# delivered / undelivered come from the SMS provider's status callbacks, bounced / opened from the email
# inbound endpoint (app/messaging/inbound.py); the others are the sender's own.
MESSAGE_STATUSES = (
    "queued",
    "sending",
    "sent",
    "delivered",
    "undelivered",
    "failed",
    "bounced",
    "opened",
    "skipped",
    "cancelled",
)
DIRECTIONS = ("in", "out")
# in: an SMS reply (`reply`) or an opt-out keyword (`opt_out`); out: a personal message from a contact's page
# (`personal`), an answer from the inbox (`reply`), the one opt-out confirmation (`opt_out_confirm`).
DIRECT_KINDS = ("reply", "opt_out", "personal", "opt_out_confirm")


class MessageTemplate(Base):
    __tablename__ = tenant("message_templates")
    __table_args__ = (
        CheckConstraint(f"channel IN {MESSAGE_CHANNELS!r}", name="channel"),
        ForeignKeyConstraint(["organization_id"], ["organizations.id"], ondelete="CASCADE"),
        Index(None, "organization_id", "name", unique=True),
    )

    organization_id: Mapped[uuid.UUID] = org_pk()
    id: Mapped[uuid.UUID] = uuid_pk()
    name: Mapped[str] = mapped_column(String(200))
    channel: Mapped[str] = mapped_column(String(8))
    subject: Mapped[str] = mapped_column(Text, server_default="")
    body_html: Mapped[str] = mapped_column(Text, server_default="")
    body_text: Mapped[str] = mapped_column(Text, server_default="")  # the email's text part, or the SMS
    created_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()


class Campaign(Base):
    """The template's content is copied in when the campaign is created: what is sent is what was approved."""

    __tablename__ = tenant("campaigns")
    __table_args__ = (
        CheckConstraint(f"channel IN {MESSAGE_CHANNELS!r}", name="channel"),
        CheckConstraint(f"status IN {CAMPAIGN_STATUSES!r}", name="status"),
        ForeignKeyConstraint(["organization_id"], ["organizations.id"], ondelete="CASCADE"),
        tenant_fk("template_id", "message_templates", ondelete="SET NULL"),
        tenant_fk("action_id", "actions", ondelete="SET NULL"),
        Index(None, "organization_id", "created_at"),
    )

    organization_id: Mapped[uuid.UUID] = org_pk()
    id: Mapped[uuid.UUID] = uuid_pk()
    name: Mapped[str] = mapped_column(String(200))
    channel: Mapped[str] = mapped_column(String(8))
    template_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    subject: Mapped[str] = mapped_column(Text, server_default="")
    body_html: Mapped[str] = mapped_column(Text, server_default="")
    body_text: Mapped[str] = mapped_column(Text, server_default="")
    filter: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    # The audience is the people met in this action (a call answered, a door opened) instead of `filter`.
    action_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    status: Mapped[str] = mapped_column(String(12), server_default="draft")
    run: Mapped[int] = mapped_column(Integer, server_default="0")  # bumped at each send/resume (the job's id)
    scheduled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    recipients_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # recipients materialized
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    sent_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[datetime] = created_at()


class CampaignMessage(Base):
    """One recipient of a campaign: unique per address, so nobody is written to twice."""

    __tablename__ = tenant("campaign_messages")
    __table_args__ = (
        CheckConstraint(f"status IN {MESSAGE_STATUSES!r}", name="status"),
        ForeignKeyConstraint(
            ["organization_id", "campaign_id"], ["campaigns.organization_id", "campaigns.id"], ondelete="CASCADE"
        ),
        ForeignKeyConstraint(
            ["organization_id", "contact_id"], ["contacts.organization_id", "contacts.id"], ondelete="CASCADE"
        ),
        Index(None, "organization_id", "campaign_id", "address", unique=True),
        Index(
            "ix_campaign_messages_queued",
            "organization_id",
            "campaign_id",
            "id",
            postgresql_where=text("status = 'queued'"),
        ),
        Index(
            "ix_campaign_messages_provider_id",
            "organization_id",
            "provider_id",
            postgresql_where=text("provider_id IS NOT NULL"),
        ),
    )

    organization_id: Mapped[uuid.UUID] = org_pk()
    id: Mapped[int] = mapped_column(BigInteger, Identity(always=False), primary_key=True)
    campaign_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    contact_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    address: Mapped[str] = mapped_column(String(320))
    status: Mapped[str] = mapped_column(String(12), server_default="queued")
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    provider_id: Mapped[str | None] = mapped_column(String(200))
    error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = created_at()


class DirectMessage(Base):
    """One message outside a campaign: an SMS that came in (a reply, an opt-out), or one sent to one contact (a
    personal message from the contact's page, an answer from the inbox, the opt-out confirmation)."""

    __tablename__ = tenant("direct_messages")
    __table_args__ = (
        CheckConstraint(f"channel IN {MESSAGE_CHANNELS!r}", name="channel"),
        CheckConstraint(f"direction IN {DIRECTIONS!r}", name="direction"),
        CheckConstraint(f"kind IN {DIRECT_KINDS!r}", name="kind"),
        CheckConstraint(f"status IN {(*MESSAGE_STATUSES, 'received')!r}", name="status"),
        ForeignKeyConstraint(["organization_id"], ["organizations.id"], ondelete="CASCADE"),
        tenant_fk("contact_id", "contacts", ondelete="CASCADE"),
        tenant_fk("reply_to_id", "direct_messages", ondelete="SET NULL"),
        Index(None, "organization_id", "direction", "kind", "id"),
        Index(None, "organization_id", "contact_id", "id"),
        Index(
            "ix_direct_messages_provider_id",
            "organization_id",
            "provider_id",
            postgresql_where=text("provider_id IS NOT NULL"),
        ),
    )

    organization_id: Mapped[uuid.UUID] = org_pk()
    # Time-ordered, made by the database (no client default): the inbox pages by id.
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, server_default=text("gg_uuid7()"))
    contact_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))  # none: a number we do not know
    channel: Mapped[str] = mapped_column(String(8))
    direction: Mapped[str] = mapped_column(String(3))
    kind: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(Text, server_default="")
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(12))
    provider_id: Mapped[str | None] = mapped_column(String(200))
    error: Mapped[str | None] = mapped_column(Text)
    sent_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    reply_to_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    answered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = created_at()


class SmsStatusReport(Base):
    """A provider's status callback that came before we recorded the message's provider id (a batch is recorded
    when it ends): kept here and applied when the id is recorded, then deleted."""

    __tablename__ = tenant("sms_status_reports")
    __table_args__ = (ForeignKeyConstraint(["organization_id"], ["organizations.id"], ondelete="CASCADE"),)

    organization_id: Mapped[uuid.UUID] = org_pk()
    provider_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    status: Mapped[str] = mapped_column(String(12))
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = created_at()


class PushSubscription(Base):
    """A volunteer's browser (Web Push): removed when the push service answers 404 or 410 for it."""

    __tablename__ = tenant("push_subscriptions")
    __table_args__ = (
        ForeignKeyConstraint(["organization_id"], ["organizations.id"], ondelete="CASCADE"),
        member_fk("user_id", ondelete="CASCADE"),
        Index(None, "organization_id", "endpoint", unique=True),
        Index(None, "organization_id", "user_id"),
    )

    organization_id: Mapped[uuid.UUID] = org_pk()
    id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    endpoint: Mapped[str] = mapped_column(Text)
    p256dh: Mapped[str] = mapped_column(String(200))
    auth: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = created_at()


class VapidKey(Base):
    """The server's VAPID key pair (one row, global): generated once, on first use, and kept."""

    __tablename__ = "vapid_keys"
    __table_args__ = (CheckConstraint("id = 1", name="single"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    private_pem: Mapped[str] = mapped_column(Text)
    public_key: Mapped[str] = mapped_column(String(200))  # uncompressed P-256 point, base64url (applicationServerKey)
    created_at: Mapped[datetime] = created_at()

"""Actions (phone banks, door-to-door, …), who is on them, their targets, turfs and documents."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from geoalchemy2 import Geometry
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
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, created_at, member_fk, org_pk, tenant, tenant_fk, updated_at, uuid_pk
from app.models.statuses import TargetStatus

ACTION_TYPES = ("call", "door_to_door", "petition", "event", "leafleting", "digital")
ACTION_STATUSES = ("draft", "scheduled", "active", "paused", "closed")
TARGET_STATUSES = tuple(s.value for s in TargetStatus)
PARTICIPATION = ("going", "maybe", "not_going")


def _org_fk() -> ForeignKeyConstraint:
    return ForeignKeyConstraint(["organization_id"], ["organizations.id"], ondelete="CASCADE")


def _action_fk() -> ForeignKeyConstraint:
    return ForeignKeyConstraint(
        ["organization_id", "action_id"], ["actions.organization_id", "actions.id"], ondelete="CASCADE"
    )


class Action(Base):
    __tablename__ = tenant("actions")
    __table_args__ = (
        CheckConstraint(f"type IN {ACTION_TYPES!r}", name="type"),
        CheckConstraint(f"status IN {ACTION_STATUSES!r}", name="status"),
        _org_fk(),
        tenant_fk("survey_id", "surveys", ondelete="SET NULL"),
        tenant_fk("p2p_template_id", "message_templates", ondelete="SET NULL"),
        Index(None, "organization_id", "starts_at"),
    )

    organization_id: Mapped[uuid.UUID] = org_pk()
    id: Mapped[uuid.UUID] = uuid_pk()
    type: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, server_default="")
    brief: Mapped[str] = mapped_column(Text, server_default="")
    starts_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reminder_sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # the push reminder
    meeting_point_label: Mapped[str | None] = mapped_column(String(300))
    meeting_point: Mapped[Any] = mapped_column(Geometry("POINT", srid=4326, spatial_index=False), nullable=True)
    status: Mapped[str] = mapped_column(String(10), server_default="draft")
    survey_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    # The SMS template volunteers send from their own phone after a call or visit (peer-to-peer texting).
    p2p_template_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    filter: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    reached_tag: Mapped[str | None] = mapped_column(String(64))
    allow_others: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    # With allow_others: any volunteer on the action may take anyone's targets, not only their team-mates'.
    open_to_all_volunteers: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    max_attempts: Mapped[int] = mapped_column(SmallInteger, server_default="3")
    retry_delay_minutes: Mapped[int] = mapped_column(Integer, server_default="120")
    target_count: Mapped[int] = mapped_column(Integer, server_default="0")
    created_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()


class ActionTeam(Base):
    __tablename__ = tenant("action_teams")
    __table_args__ = (
        _action_fk(),
        ForeignKeyConstraint(["organization_id", "team_id"], ["teams.organization_id", "teams.id"], ondelete="CASCADE"),
        Index(None, "organization_id", "team_id"),
    )

    organization_id: Mapped[uuid.UUID] = org_pk()
    action_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    team_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)


class ActionVolunteer(Base):
    __tablename__ = tenant("action_volunteers")
    __table_args__ = (
        _action_fk(),
        ForeignKeyConstraint(
            ["organization_id", "user_id"], ["memberships.organization_id", "memberships.user_id"], ondelete="CASCADE"
        ),
        Index(None, "organization_id", "user_id"),
    )

    organization_id: Mapped[uuid.UUID] = org_pk()
    action_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)


class Participation(Base):
    __tablename__ = tenant("participations")
    __table_args__ = (
        CheckConstraint(f"status IN {PARTICIPATION!r}", name="status"),
        _action_fk(),
        ForeignKeyConstraint(
            ["organization_id", "user_id"], ["memberships.organization_id", "memberships.user_id"], ondelete="CASCADE"
        ),
    )

    organization_id: Mapped[uuid.UUID] = org_pk()
    action_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    status: Mapped[str] = mapped_column(String(10))
    availability: Mapped[str | None] = mapped_column(String(500))
    updated_at: Mapped[datetime] = updated_at()


class ActionTarget(Base):
    """A contact targeted by an action (a snapshot), with its assignment and its row-level lease."""

    __tablename__ = tenant("action_targets")
    __table_args__ = (
        CheckConstraint(f"status IN {TARGET_STATUSES!r}", name="status"),
        _action_fk(),
        ForeignKeyConstraint(
            ["organization_id", "contact_id"], ["contacts.organization_id", "contacts.id"], ondelete="CASCADE"
        ),
        member_fk("assignee_user_id"),
        member_fk("lease_user_id"),
        Index(None, "organization_id", "action_id", "contact_id", unique=True),
        Index("ix_action_targets_claim_assignee", "organization_id", "action_id", "assignee_user_id", "status", "id"),
        Index("ix_action_targets_claim_status", "organization_id", "action_id", "status", "id"),
        Index(None, "organization_id", "contact_id"),
    )

    organization_id: Mapped[uuid.UUID] = org_pk()
    id: Mapped[uuid.UUID] = uuid_pk()
    action_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    contact_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    assignee_user_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    turf_no: Mapped[int | None] = mapped_column(Integer)
    seq: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(12), server_default="pending")
    attempts: Mapped[int] = mapped_column(SmallInteger, server_default="0")
    last_outcome: Mapped[str | None] = mapped_column(String(20))
    callback_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    available_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    lease_user_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    lease_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = created_at()


class Turf(Base):
    __tablename__ = tenant("turfs")
    __table_args__ = (_action_fk(), member_fk("assignee_user_id"), member_fk("partner_user_id"))

    organization_id: Mapped[uuid.UUID] = org_pk()
    action_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    turf_no: Mapped[int] = mapped_column(Integer, primary_key=True)
    assignee_user_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    partner_user_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    door_count: Mapped[int] = mapped_column(Integer, server_default="0")


class ActionDocument(Base):
    __tablename__ = tenant("action_documents")
    __table_args__ = (_action_fk(),)

    organization_id: Mapped[uuid.UUID] = org_pk()
    id: Mapped[uuid.UUID] = uuid_pk()
    action_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    path: Mapped[str] = mapped_column(Text)
    uploaded_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[datetime] = created_at()


class ActionCounter(Base):
    """Sharded counters per action (outcomes, reached, supporters…): the live dashboard reads these
    instead of recounting, and shards keep concurrent reports from queueing on one row."""

    __tablename__ = tenant("action_counters")
    __table_args__ = (_action_fk(),)

    organization_id: Mapped[uuid.UUID] = org_pk()
    action_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    shard: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, server_default="0")

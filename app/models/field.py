"""What happens in the field: call and visit reports (idempotent on a client UUID), survey answers,
surveys, opportunities (tasks raised in the field)."""

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
    Identity,
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
from app.models.statuses import CallOutcome, ReportKind, VisitOutcome

CALL_OUTCOMES = tuple(o.value for o in CallOutcome)
VISIT_OUTCOMES = tuple(o.value for o in VisitOutcome)
REPORT_KINDS = tuple(k.value for k in ReportKind)
OPPORTUNITY_STATUSES = ("open", "in_progress", "done", "dropped")


class FieldReport(Base):
    """A call or a door visit. `id` is the client's UUID: replaying it returns the stored response."""

    __tablename__ = tenant("field_reports")
    __table_args__ = (
        CheckConstraint(f"kind IN {REPORT_KINDS!r}", name="kind"),
        CheckConstraint("quality BETWEEN 1 AND 5", name="quality"),
        ForeignKeyConstraint(
            ["organization_id", "action_id"], ["actions.organization_id", "actions.id"], ondelete="CASCADE"
        ),
        tenant_fk("target_id", "action_targets", ondelete="SET NULL"),
        tenant_fk("contact_id", "contacts", ondelete="SET NULL"),
        tenant_fk("survey_id", "surveys", ondelete="SET NULL"),
        Index(None, "organization_id", "action_id", "created_at"),
        Index(None, "organization_id", "contact_id"),
        Index(None, "organization_id", "user_id", "created_at"),
        Index(None, "organization_id", "action_id", "recorded_at"),
        Index(None, "organization_id", "recorded_at"),  # the organization's dashboard for a period (all actions)
    )

    organization_id: Mapped[uuid.UUID] = org_pk()
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    kind: Mapped[str] = mapped_column(String(5))
    action_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    target_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    contact_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    user_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    outcome: Mapped[str] = mapped_column(String(20))
    outcome_text: Mapped[str | None] = mapped_column(Text)
    callback_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    consent_given: Mapped[bool | None] = mapped_column(Boolean)
    comment: Mapped[str | None] = mapped_column(Text)
    quality: Mapped[int | None] = mapped_column(SmallInteger)
    mobilized: Mapped[bool | None] = mapped_column(Boolean)
    survey_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    survey_version: Mapped[int | None] = mapped_column(Integer)
    request_hash: Mapped[str] = mapped_column(String(64))
    response: Mapped[dict[str, Any]] = mapped_column(JSONB)
    # Set when the rest of the flow (survey, updates, comment…) was sent after the outcome.
    details_hash: Mapped[str | None] = mapped_column(String(64))
    details_response: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    created_at: Mapped[datetime] = created_at()
    # When it happened on the phone (offline work syncs later), bounded by the server; HQ's figures read this.
    recorded_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=text("clock_timestamp()")
    )
    # 1, then one more per correction by its reporter (the versions it replaced are in field_report_corrections).
    version: Mapped[int] = mapped_column(SmallInteger, server_default="1")
    corrected_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class FieldReportCorrection(Base):
    """A reporter's correction of their own report: `id` is the client's UUID (replaying it returns `response`),
    `previous` is the version it replaced, kept as it was."""

    __tablename__ = tenant("field_report_corrections")
    __table_args__ = (
        ForeignKeyConstraint(
            ["organization_id", "report_id"], ["field_reports.organization_id", "field_reports.id"], ondelete="CASCADE"
        ),
        Index(None, "organization_id", "report_id", "version", unique=True),
    )

    organization_id: Mapped[uuid.UUID] = org_pk()
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    report_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    version: Mapped[int] = mapped_column(SmallInteger)
    user_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    previous: Mapped[dict[str, Any]] = mapped_column(JSONB)
    request_hash: Mapped[str] = mapped_column(String(64))
    response: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = created_at()


class Survey(Base):
    __tablename__ = tenant("surveys")
    __table_args__ = (ForeignKeyConstraint(["organization_id"], ["organizations.id"], ondelete="CASCADE"),)

    organization_id: Mapped[uuid.UUID] = org_pk()
    id: Mapped[uuid.UUID] = uuid_pk()
    title: Mapped[str] = mapped_column(String(200))
    current_version: Mapped[int] = mapped_column(Integer, server_default="1")
    created_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()


class SurveyVersion(Base):
    """Questions of one version of a survey; a version with answers is never edited, a new one is made."""

    __tablename__ = tenant("survey_versions")
    __table_args__ = (
        ForeignKeyConstraint(
            ["organization_id", "survey_id"], ["surveys.organization_id", "surveys.id"], ondelete="CASCADE"
        ),
    )

    organization_id: Mapped[uuid.UUID] = org_pk()
    survey_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    questions: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = created_at()


class SurveyAnswer(Base):
    __tablename__ = tenant("survey_answers")
    __table_args__ = (
        ForeignKeyConstraint(
            ["organization_id", "report_id"], ["field_reports.organization_id", "field_reports.id"], ondelete="CASCADE"
        ),
        # Checked at commit: deleting an organization removes its surveys and their answers in one statement.
        tenant_fk("survey_id", "surveys", deferrable=True, initially="DEFERRED"),
        tenant_fk("contact_id", "contacts", ondelete="SET NULL"),
        Index(None, "organization_id", "survey_id", "question_id"),
        Index(None, "organization_id", "contact_id"),
    )

    organization_id: Mapped[uuid.UUID] = org_pk()
    report_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    question_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    survey_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    survey_version: Mapped[int] = mapped_column(Integer)
    contact_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    value: Mapped[Any] = mapped_column(JSONB)


class OpportunityType(Base):
    __tablename__ = tenant("opportunity_types")
    __table_args__ = (
        ForeignKeyConstraint(["organization_id"], ["organizations.id"], ondelete="CASCADE"),
        Index(None, "organization_id", "name", unique=True),
    )

    organization_id: Mapped[uuid.UUID] = org_pk()
    id: Mapped[uuid.UUID] = uuid_pk()
    name: Mapped[str] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    created_at: Mapped[datetime] = created_at()


class Opportunity(Base):
    __tablename__ = tenant("opportunities")
    __table_args__ = (
        CheckConstraint(f"status IN {OPPORTUNITY_STATUSES!r}", name="status"),
        ForeignKeyConstraint(
            ["organization_id", "type_id"], ["opportunity_types.organization_id", "opportunity_types.id"]
        ),
        ForeignKeyConstraint(
            ["organization_id", "contact_id"], ["contacts.organization_id", "contacts.id"], ondelete="CASCADE"
        ),
        tenant_fk("action_id", "actions", ondelete="SET NULL"),
        # Checked at commit: a call report inserts the opportunities it raised before the report row itself.
        tenant_fk("report_id", "field_reports", ondelete="SET NULL", deferrable=True, initially="DEFERRED"),
        member_fk("assignee_user_id"),
        tenant_fk("assignee_team_id", "teams", ondelete="SET NULL"),
        Index(None, "organization_id", "status", "created_at"),
        Index(None, "organization_id", "assignee_user_id", "status"),
        Index(None, "organization_id", "created_at"),  # raised in a period (dashboards)
        Index(None, "organization_id", "action_id", "created_at"),  # an action's (dashboards)
    )

    organization_id: Mapped[uuid.UUID] = org_pk()
    id: Mapped[uuid.UUID] = uuid_pk()
    type_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    contact_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    action_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    report_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    note: Mapped[str] = mapped_column(Text, server_default="")
    status: Mapped[str] = mapped_column(String(12), server_default="open")
    assignee_user_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    assignee_team_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()


class OpportunityComment(Base):
    __tablename__ = tenant("opportunity_comments")
    __table_args__ = (
        ForeignKeyConstraint(
            ["organization_id", "opportunity_id"],
            ["opportunities.organization_id", "opportunities.id"],
            ondelete="CASCADE",
        ),
    )

    organization_id: Mapped[uuid.UUID] = org_pk()
    id: Mapped[int] = mapped_column(BigInteger, Identity(always=False), primary_key=True)
    opportunity_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    user_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = created_at()

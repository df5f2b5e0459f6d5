"""The dashboard's rollups (migration 0027): derived rows kept by statement-level triggers on the reports, survey
answers, contacts, consents and targets, in the writer's transaction. Nothing in the app writes them; the
dashboard reads them (app/dashboard/rollups.py). Not tenant tables in the foreign-key sense (no references: a
rollup row outlives nothing and names no object), but row-level security scopes them like one."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, DateTime, Index, Integer, SmallInteger, String
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base


def _uuid() -> Mapped[uuid.UUID]:
    return mapped_column(UUID(as_uuid=True), primary_key=True)


def _hour() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), primary_key=True)


def _count() -> Mapped[int]:
    return mapped_column(BigInteger, server_default="0")


class ReportRollup(Base):
    """Reports per UTC hour of recorded_at, action, reporter, kind and outcome."""

    __tablename__ = "report_rollups"
    organization_id: Mapped[uuid.UUID] = _uuid()
    hour_at: Mapped[datetime] = _hour()
    action_id: Mapped[uuid.UUID] = _uuid()
    user_id: Mapped[uuid.UUID] = _uuid()
    kind: Mapped[str] = mapped_column(String(5), primary_key=True)
    outcome: Mapped[str] = mapped_column(String(20), primary_key=True)
    reports: Mapped[int] = _count()
    mobilized: Mapped[int] = _count()


class SurveyRollup(Base):
    """Answers per (report's hour, action, reporter), survey, question and value (keyed by the value's md5)."""

    __tablename__ = "survey_rollups"
    organization_id: Mapped[uuid.UUID] = _uuid()
    hour_at: Mapped[datetime] = _hour()
    action_id: Mapped[uuid.UUID] = _uuid()
    user_id: Mapped[uuid.UUID] = _uuid()
    survey_id: Mapped[uuid.UUID] = _uuid()
    question_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    value_key: Mapped[uuid.UUID] = _uuid()
    value: Mapped[Any] = mapped_column(JSONB, nullable=True)
    answers: Mapped[int] = _count()


class ContactRollup(Base):
    """Contacts per UTC hour of created_at, creator (the nil uuid for none) and source."""

    __tablename__ = "contact_rollups"
    organization_id: Mapped[uuid.UUID] = _uuid()
    hour_at: Mapped[datetime] = _hour()
    created_by: Mapped[uuid.UUID] = _uuid()
    source: Mapped[str] = mapped_column(String(16), primary_key=True)
    shard: Mapped[int] = mapped_column(Integer, primary_key=True)  # the writer's backend
    contacts: Mapped[int] = _count()


class ConsentRollup(Base):
    """Granted consents per UTC hour of recorded_at, recorder (the nil uuid for none), source and channel."""

    __tablename__ = "consent_rollups"
    organization_id: Mapped[uuid.UUID] = _uuid()
    hour_at: Mapped[datetime] = _hour()
    recorded_by: Mapped[uuid.UUID] = _uuid()
    source: Mapped[str] = mapped_column(String(32), primary_key=True)
    channel: Mapped[str] = mapped_column(String(20), primary_key=True)
    shard: Mapped[int] = mapped_column(Integer, primary_key=True)  # the writer's backend
    consents: Mapped[int] = _count()


class ContactRollupDaily(Base):
    """contact_rollups per UTC day: a period's whole days."""

    __tablename__ = "contact_rollups_daily"
    organization_id: Mapped[uuid.UUID] = _uuid()
    day_at: Mapped[datetime] = _hour()
    created_by: Mapped[uuid.UUID] = _uuid()
    source: Mapped[str] = mapped_column(String(16), primary_key=True)
    shard: Mapped[int] = mapped_column(Integer, primary_key=True)  # the writer's backend
    contacts: Mapped[int] = _count()


class ConsentRollupDaily(Base):
    """consent_rollups per UTC day: a period's whole days."""

    __tablename__ = "consent_rollups_daily"
    organization_id: Mapped[uuid.UUID] = _uuid()
    day_at: Mapped[datetime] = _hour()
    recorded_by: Mapped[uuid.UUID] = _uuid()
    source: Mapped[str] = mapped_column(String(32), primary_key=True)
    channel: Mapped[str] = mapped_column(String(20), primary_key=True)
    shard: Mapped[int] = mapped_column(Integer, primary_key=True)  # the writer's backend
    consents: Mapped[int] = _count()


class ContactReach(Base):
    """Each reached contact's last reach, with its current support level and donor flag."""

    __tablename__ = "contact_reach"
    __table_args__ = (Index(None, "organization_id", "last_reached_at"),)
    organization_id: Mapped[uuid.UUID] = _uuid()
    # not `contact_id`: derived from the reports (which the access export and merges walk), kept by their triggers
    # and deleted with the contact, it is no person data of its own (app/contacts/person_data.py)
    person_id: Mapped[uuid.UUID] = _uuid()
    last_reached_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    support_level: Mapped[int | None] = mapped_column(SmallInteger)
    is_donor: Mapped[bool] = mapped_column(Boolean, server_default="false")


class ReachRollup(Base):
    """contact_reach counted per UTC hour of the last reach, level (0: none) and donor flag, on shards."""

    __tablename__ = "reach_rollups"
    organization_id: Mapped[uuid.UUID] = _uuid()
    hour_at: Mapped[datetime] = _hour()
    support_level: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    is_donor: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    shard: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    contacts: Mapped[int] = _count()


class TargetRollup(Base):
    """Open targets (pending, in progress, callback) per action, on shards."""

    __tablename__ = "target_rollups"
    organization_id: Mapped[uuid.UUID] = _uuid()
    action_id: Mapped[uuid.UUID] = _uuid()
    shard: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    open: Mapped[int] = _count()

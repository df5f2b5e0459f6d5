"""Organizations (tenants), memberships with roles, teams, invitations."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, created_at, org_pk, tenant, uuid_pk

ROLES = ("admin", "manager", "team_leader", "volunteer")


class Organization(Base):
    __tablename__ = tenant("organizations")
    __table_args__ = (
        CheckConstraint("contact_retention_days > 0", name="contact_retention_days"),
        CheckConstraint("map_style_url LIKE 'https://%'", name="map_style_url"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    name: Mapped[str] = mapped_column(String(200))
    # The organization's legal name, named in consent texts (the name when unset).
    legal_name: Mapped[str | None] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    timezone: Mapped[str] = mapped_column(String(64), server_default="Europe/Bucharest")
    default_region: Mapped[str] = mapped_column(String(2), server_default="RO")
    require_2fa_for_staff: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    # GDPR retention: contacts with no activity for this many days are erased by a daily job (None: kept).
    contact_retention_days: Mapped[int | None] = mapped_column(Integer)
    # The basemap of every map in the console (a MapLibre style JSON); None: our layers on a plain background.
    map_style_url: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = created_at()


class Membership(Base):
    __tablename__ = tenant("memberships")
    __table_args__ = (
        CheckConstraint(f"role IN {ROLES!r}", name="role"),
        Index(None, "organization_id", "role"),
    )

    organization_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = created_at()


class Team(Base):
    __tablename__ = tenant("teams")
    __table_args__ = (
        UniqueConstraint("organization_id", "name"),
        ForeignKeyConstraint(["organization_id"], ["organizations.id"], ondelete="CASCADE"),
        ForeignKeyConstraint(
            ["organization_id", "leader_user_id"], ["memberships.organization_id", "memberships.user_id"]
        ),
    )

    organization_id: Mapped[uuid.UUID] = org_pk()
    id: Mapped[uuid.UUID] = uuid_pk()
    name: Mapped[str] = mapped_column(String(200))
    region: Mapped[str | None] = mapped_column(String(200))
    leader_user_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[datetime] = created_at()


class TeamMember(Base):
    __tablename__ = tenant("team_members")
    __table_args__ = (
        ForeignKeyConstraint(["organization_id", "team_id"], ["teams.organization_id", "teams.id"], ondelete="CASCADE"),
        ForeignKeyConstraint(
            ["organization_id", "user_id"], ["memberships.organization_id", "memberships.user_id"], ondelete="CASCADE"
        ),
        Index(None, "organization_id", "user_id"),
    )

    organization_id: Mapped[uuid.UUID] = org_pk()
    team_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)


class Invitation(Base):
    __tablename__ = tenant("invitations")
    __table_args__ = (
        CheckConstraint(f"role IN {ROLES!r}", name="role"),
        UniqueConstraint("organization_id", "token_hash"),
        ForeignKeyConstraint(["organization_id"], ["organizations.id"], ondelete="CASCADE"),
        ForeignKeyConstraint(
            ["organization_id", "team_id"], ["teams.organization_id", "teams.id"], ondelete="SET NULL (team_id)"
        ),
    )

    organization_id: Mapped[uuid.UUID] = org_pk()
    id: Mapped[uuid.UUID] = uuid_pk()
    email: Mapped[str] = mapped_column(String(320))
    role: Mapped[str] = mapped_column(String(20))
    team_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    token_hash: Mapped[str] = mapped_column(String(64))
    invited_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    accepted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = created_at()

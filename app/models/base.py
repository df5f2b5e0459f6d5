"""Declarative base with a naming convention, and the column helpers every tenant table uses."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import DateTime, ForeignKeyConstraint, MetaData, func, text
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    # Server defaults (timestamps, ids) come back with RETURNING: no lazy load after a flush in async code.
    __mapper_args__ = {"eager_defaults": True}


def uuid_pk(server_default: str = "gen_random_uuid()") -> Mapped[uuid.UUID]:
    return mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4, server_default=text(server_default))


def org_pk() -> Mapped[uuid.UUID]:
    """organization_id as the leading primary-key column (Citus distribution column)."""
    return mapped_column(UUID(as_uuid=True), primary_key=True)


def created_at() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())


def clock_at() -> Mapped[datetime]:
    """Wall-clock time of the write (not the transaction's start): orders events written in one transaction."""
    return mapped_column(DateTime(timezone=True), nullable=False, server_default=func.clock_timestamp())


def updated_at() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now(), onupdate=func.now())


def tenant_fk(
    column: str, table: str, *, ondelete: str | None = None, to: str = "id", **kw: object
) -> ForeignKeyConstraint:
    """`(organization_id, column) → table (organization_id, to)`: a row can only name an object of its own
    organization. `ondelete="SET NULL"` nulls only `column` (PostgreSQL 15's column list), never the tenant."""
    if ondelete == "SET NULL":
        ondelete = f"SET NULL ({column})"
    return ForeignKeyConstraint(
        ["organization_id", column],
        [f"{table}.organization_id", f"{table}.{to}"],
        ondelete=ondelete,
        **kw,  # type: ignore[arg-type]
    )


def member_fk(column: str, *, ondelete: str | None = "SET NULL") -> ForeignKeyConstraint:
    """A person of the organization (their membership): someone removed from it is no longer assigned."""
    return tenant_fk(column, "memberships", ondelete=ondelete, to="user_id")


# Tables that carry organization_id and are protected by row-level security.
TENANT_TABLES: list[str] = []


def tenant(name: str) -> str:
    TENANT_TABLES.append(name)
    return name

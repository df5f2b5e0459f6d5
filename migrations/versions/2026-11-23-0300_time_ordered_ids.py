"""time-ordered ids (UUIDv7) for bulk-created contacts

A million contacts created by an import with random ids land on random pages of the primary key; ids that
grow with time land on the same few pages. `gg_uuid7()` builds an RFC 9562 version-7 UUID: 48 bits of Unix
milliseconds, then random bits.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 03:00:00+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
        CREATE FUNCTION gg_uuid7() RETURNS uuid LANGUAGE sql VOLATILE PARALLEL SAFE AS $$
          SELECT encode(set_bit(set_bit(overlay(uuid_send(gen_random_uuid())
                 PLACING substring(int8send(floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint) FROM 3)
                 FROM 1 FOR 6), 52, 1), 53, 1), 'hex')::uuid
        $$"""
    )
    op.execute("ALTER TABLE contacts ALTER COLUMN id SET DEFAULT gg_uuid7()")


def downgrade() -> None:
    op.execute("ALTER TABLE contacts ALTER COLUMN id SET DEFAULT gen_random_uuid()")
    op.execute("DROP FUNCTION IF EXISTS gg_uuid7()")

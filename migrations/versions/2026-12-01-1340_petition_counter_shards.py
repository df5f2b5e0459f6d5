"""petition counters on 64 shards instead of one row; the organizations holding stale pending signatures

Every signature used to add one to `petitions.signature_count`, so concurrent signers queued on that row's lock
until each commit. The count now lives in `petition_counters` (one row per petition and shard, a signature adds
to a random shard; the count is their sum), as the action counters do. Existing counts move to shard 0.

The worker's purge of unconfirmed double opt-ins finds the organizations concerned with a narrow definer function
(row-level security hides them), then deletes under each tenant.

Revision ID: 0022
Revises: 0019
Create Date: 2026-12-01 13:40:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "petition_counters",
        sa.Column("organization_id", sa.UUID(), nullable=False),
        sa.Column("petition_id", sa.UUID(), nullable=False),
        sa.Column("shard", sa.SmallInteger(), nullable=False),
        sa.Column("value", sa.BigInteger(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id", "petition_id"],
            ["petitions.organization_id", "petitions.id"],
            name=op.f("fk_petition_counters_organization_id_petition_id_petitions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("organization_id", "petition_id", "shard", name=op.f("pk_petition_counters")),
    )
    cond = "organization_id = NULLIF(current_setting('app.organization_id', true), '')::uuid"
    op.execute("ALTER TABLE petition_counters ENABLE ROW LEVEL SECURITY")
    op.execute(f"CREATE POLICY tenant_isolation ON petition_counters USING ({cond}) WITH CHECK ({cond})")
    op.execute("""
        INSERT INTO petition_counters (organization_id, petition_id, shard, value)
        SELECT organization_id, id, 0, signature_count FROM petitions WHERE signature_count <> 0
    """)
    op.drop_column("petitions", "signature_count")
    op.create_index(
        "ix_petition_signatures_pending_created_at",
        "petition_signatures",
        ["created_at"],
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.execute("""
        CREATE FUNCTION gg_pending_signature_orgs(p_before timestamptz) RETURNS SETOF uuid
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
            SELECT DISTINCT organization_id FROM petition_signatures
            WHERE status = 'pending' AND created_at < p_before
        $$""")


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS gg_pending_signature_orgs(timestamptz)")
    op.drop_index("ix_petition_signatures_pending_created_at", table_name="petition_signatures")
    op.add_column("petitions", sa.Column("signature_count", sa.Integer(), server_default=sa.text("0"), nullable=False))
    op.execute("""
        UPDATE petitions p SET signature_count = c.n
        FROM (SELECT organization_id, petition_id, sum(value) AS n FROM petition_counters
              GROUP BY organization_id, petition_id) c
        WHERE p.organization_id = c.organization_id AND p.id = c.petition_id
    """)
    op.drop_table("petition_counters")

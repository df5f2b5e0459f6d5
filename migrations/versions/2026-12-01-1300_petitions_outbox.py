"""petitions and their signatures; a webhook outbox written in the change's transaction; a delivery's next attempt

Revision ID: 0018
Revises: 0011
Create Date: 2026-12-01 13:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("petitions", "petition_signatures", "webhook_outbox")


def enable_rls_sql(table: str, column: str = "organization_id") -> list[str]:
    cond = f"{column} = NULLIF(current_setting('app.organization_id', true), '')::uuid"
    return [
        f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
        f"CREATE POLICY tenant_isolation ON {table} USING ({cond}) WITH CHECK ({cond})",
    ]


def upgrade() -> None:
    jsonb = postgresql.JSONB(astext_type=sa.Text())
    op.create_table(
        "petitions",
        sa.Column("organization_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("slug", sa.String(length=80), nullable=False),
        sa.Column("status", sa.String(length=10), server_default="draft", nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("text", sa.Text(), server_default="", nullable=False),
        sa.Column("goal", sa.Integer(), nullable=True),
        sa.Column("consent_wording", jsonb, server_default="{}", nullable=False),
        sa.Column("tags", postgresql.ARRAY(sa.Text()), server_default="{}", nullable=False),
        sa.Column("thank_you_message", sa.Text(), server_default="", nullable=False),
        sa.Column("languages", postgresql.ARRAY(sa.String(length=5)), server_default="{en}", nullable=False),
        sa.Column("translations", jsonb, server_default="{}", nullable=False),
        sa.Column("double_opt_in", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("embed_origins", postgresql.ARRAY(sa.Text()), server_default="{}", nullable=False),
        sa.Column("action_id", sa.UUID(), nullable=True),
        sa.Column("signature_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("created_by", sa.UUID(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("status IN ('draft', 'open', 'closed')", name=op.f("ck_petitions_status")),
        sa.CheckConstraint("goal IS NULL OR goal > 0", name=op.f("ck_petitions_goal")),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_petitions_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organization_id", "action_id"],
            ["actions.organization_id", "actions.id"],
            name=op.f("fk_petitions_organization_id_action_id_actions"),
            ondelete="SET NULL (action_id)",
        ),
        sa.PrimaryKeyConstraint("organization_id", "id", name=op.f("pk_petitions")),
    )
    op.create_index(op.f("ix_petitions_slug"), "petitions", ["slug"], unique=True)
    op.create_table(
        "petition_signatures",
        sa.Column("organization_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("petition_id", sa.UUID(), nullable=False),
        sa.Column("signer_key", sa.String(length=320), nullable=False),
        sa.Column("status", sa.String(length=10), server_default="confirmed", nullable=False),
        sa.Column("contact_id", sa.UUID(), nullable=True),
        sa.Column("data", jsonb, server_default="{}", nullable=False),
        sa.Column("language", sa.String(length=5), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("ip", sa.String(length=64), nullable=True),
        sa.Column("collected_by", sa.UUID(), nullable=True),
        sa.Column("confirm_token_hash", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('pending', 'confirmed')", name=op.f("ck_petition_signatures_status")),
        sa.CheckConstraint("channel IN ('web', 'embed', 'field')", name=op.f("ck_petition_signatures_channel")),
        sa.ForeignKeyConstraint(
            ["organization_id", "petition_id"],
            ["petitions.organization_id", "petitions.id"],
            name=op.f("fk_petition_signatures_organization_id_petition_id_petitions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organization_id", "contact_id"],
            ["contacts.organization_id", "contacts.id"],
            name=op.f("fk_petition_signatures_organization_id_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("organization_id", "id", name=op.f("pk_petition_signatures")),
    )
    op.create_index(
        op.f("ix_petition_signatures_organization_id_petition_id_signer_key"),
        "petition_signatures",
        ["organization_id", "petition_id", "signer_key"],
        unique=True,
    )
    op.create_index(
        op.f("ix_petition_signatures_confirm_token_hash"),
        "petition_signatures",
        ["confirm_token_hash"],
        unique=True,
        postgresql_where=sa.text("confirm_token_hash IS NOT NULL"),
    )
    op.create_table(
        "webhook_outbox",
        sa.Column("organization_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("event_type", sa.String(length=40), nullable=False),
        sa.Column("payload", jsonb, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("dispatched_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_webhook_outbox_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("organization_id", "id", name=op.f("pk_webhook_outbox")),
    )
    op.create_index(
        "ix_webhook_outbox_undispatched",
        "webhook_outbox",
        ["organization_id", "id"],
        postgresql_where=sa.text("dispatched_at IS NULL"),
    )
    op.add_column("webhook_deliveries", sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index(
        "ix_webhook_deliveries_pending",
        "webhook_deliveries",
        ["next_attempt_at"],
        postgresql_where=sa.text("status = 'pending'"),
    )
    for table in TABLES:
        for stmt in enable_rls_sql(table):
            op.execute(stmt)
    # The public page knows a slug, not a tenant: this names the organization of an open petition, nothing else;
    # the request then sets the tenant and reads the petition under row-level security.
    op.execute("""
        CREATE FUNCTION gg_petition_org(p_slug text) RETURNS uuid
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
            SELECT organization_id FROM petitions WHERE slug = p_slug AND status <> 'draft'
        $$""")
    # A confirmation link names a token, not a tenant: the organization of the pending signature it confirms.
    op.execute("""
        CREATE FUNCTION gg_signature_org(p_token_hash text) RETURNS uuid
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
            SELECT organization_id FROM petition_signatures WHERE confirm_token_hash = p_token_hash
        $$""")
    # The worker's sweeper: organizations with events not yet fanned out, and deliveries whose job was lost.
    op.execute("""
        CREATE FUNCTION gg_webhook_backlog(p_grace_s double precision)
        RETURNS TABLE (kind text, organization_id uuid, id uuid)
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
            SELECT DISTINCT 'outbox', o.organization_id, NULL::uuid FROM webhook_outbox o
            WHERE o.dispatched_at IS NULL AND o.created_at <= now() - make_interval(secs => p_grace_s)
            UNION ALL
            (SELECT 'delivery', d.organization_id, d.id FROM webhook_deliveries d
             WHERE d.status = 'pending'
               AND coalesce(d.next_attempt_at, d.created_at) <= now() - make_interval(secs => p_grace_s)
             ORDER BY coalesce(d.next_attempt_at, d.created_at) LIMIT 5000)
        $$""")


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS gg_webhook_backlog(double precision)")
    op.execute("DROP FUNCTION IF EXISTS gg_signature_org(text)")
    op.execute("DROP FUNCTION IF EXISTS gg_petition_org(text)")
    op.drop_index("ix_webhook_deliveries_pending", table_name="webhook_deliveries")
    op.drop_column("webhook_deliveries", "next_attempt_at")
    for table in reversed(TABLES):
        op.drop_table(table)

"""messaging: templates per channel (email, SMS), campaigns and one row per recipient with its status

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 11:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ["message_templates", "campaigns", "campaign_messages"]


# Row-level security as this revision creates it (frozen here: a migration never imports live app code).
def enable_rls_sql(table: str) -> list[str]:
    cond = "organization_id = NULLIF(current_setting('app.organization_id', true), '')::uuid"
    return [
        f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
        f"CREATE POLICY tenant_isolation ON {table} USING ({cond}) WITH CHECK ({cond})",
    ]


def _org_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["organization_id"],
        ["organizations.id"],
        name=op.f(f"fk_{table}_organization_id_organizations"),
        ondelete="CASCADE",
    )


def upgrade() -> None:
    op.create_table(
        "message_templates",
        sa.Column("organization_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("subject", sa.Text(), server_default="", nullable=False),
        sa.Column("body_html", sa.Text(), server_default="", nullable=False),
        sa.Column("body_text", sa.Text(), server_default="", nullable=False),
        sa.Column("created_by", sa.UUID(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("channel IN ('email', 'sms')", name=op.f("ck_message_templates_channel")),
        _org_fk("message_templates"),
        sa.PrimaryKeyConstraint("organization_id", "id", name=op.f("pk_message_templates")),
    )
    op.create_index(
        op.f("ix_message_templates_organization_id_name"),
        "message_templates",
        ["organization_id", "name"],
        unique=True,
    )
    op.create_table(
        "campaigns",
        sa.Column("organization_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("template_id", sa.UUID(), nullable=True),
        sa.Column("subject", sa.Text(), server_default="", nullable=False),
        sa.Column("body_html", sa.Text(), server_default="", nullable=False),
        sa.Column("body_text", sa.Text(), server_default="", nullable=False),
        sa.Column("filter", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False),
        sa.Column("status", sa.String(length=12), server_default="draft", nullable=False),
        sa.Column("run", sa.Integer(), server_default="0", nullable=False),
        sa.Column("scheduled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("recipients_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.UUID(), nullable=True),
        sa.Column("sent_by", sa.UUID(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("channel IN ('email', 'sms')", name=op.f("ck_campaigns_channel")),
        sa.CheckConstraint(
            "status IN ('draft', 'scheduled', 'sending', 'paused', 'cancelled', 'done')",
            name=op.f("ck_campaigns_status"),
        ),
        _org_fk("campaigns"),
        sa.ForeignKeyConstraint(
            ["organization_id", "template_id"],
            ["message_templates.organization_id", "message_templates.id"],
            name=op.f("fk_campaigns_organization_id_template_id_message_templates"),
            ondelete="SET NULL (template_id)",
        ),
        sa.PrimaryKeyConstraint("organization_id", "id", name=op.f("pk_campaigns")),
    )
    op.create_index(op.f("ix_campaigns_organization_id_created_at"), "campaigns", ["organization_id", "created_at"])
    op.create_table(
        "campaign_messages",
        sa.Column("organization_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("campaign_id", sa.UUID(), nullable=False),
        sa.Column("contact_id", sa.UUID(), nullable=False),
        sa.Column("address", sa.String(length=320), nullable=False),
        sa.Column("status", sa.String(length=10), server_default="queued", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("provider_id", sa.String(length=200), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "status IN ('queued', 'sending', 'sent', 'failed', 'skipped', 'cancelled')",
            name=op.f("ck_campaign_messages_status"),
        ),
        sa.ForeignKeyConstraint(
            ["organization_id", "campaign_id"],
            ["campaigns.organization_id", "campaigns.id"],
            name=op.f("fk_campaign_messages_organization_id_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organization_id", "contact_id"],
            ["contacts.organization_id", "contacts.id"],
            name=op.f("fk_campaign_messages_organization_id_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("organization_id", "id", name=op.f("pk_campaign_messages")),
    )
    op.create_index(
        op.f("ix_campaign_messages_organization_id_campaign_id_address"),
        "campaign_messages",
        ["organization_id", "campaign_id", "address"],
        unique=True,
    )
    op.create_index(
        "ix_campaign_messages_queued",
        "campaign_messages",
        ["organization_id", "campaign_id", "id"],
        postgresql_where=sa.text("status = 'queued'"),
    )
    for table in TABLES:
        for stmt in enable_rls_sql(table):
            op.execute(stmt)
    # The worker's sweeper finds campaigns that should be sending (a lost enqueue, a dead worker, a schedule
    # whose deferred job was lost) across organizations (row-level security hides them otherwise).
    op.execute("""
        CREATE FUNCTION gg_due_campaigns() RETURNS TABLE (organization_id uuid, id uuid)
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
            SELECT organization_id, id FROM campaigns
            WHERE status = 'sending' OR (status = 'scheduled' AND scheduled_at <= now())
        $$""")


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS gg_due_campaigns()")
    for table in reversed(TABLES):
        op.drop_table(table)

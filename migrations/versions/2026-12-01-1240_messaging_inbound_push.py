"""messaging, part two: delivery statuses from the providers, SMS inbox and personal messages, bounced
addresses, the people met in an action as an audience, Web Push subscriptions and the VAPID key, action reminders

Revision ID: 0016
Revises: 0011
Create Date: 2026-12-01 12:40:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("direct_messages", "sms_status_reports", "push_subscriptions")
OLD_STATUSES = "('queued', 'sending', 'sent', 'failed', 'skipped', 'cancelled')"
STATUSES = (
    "('queued', 'sending', 'sent', 'delivered', 'undelivered', 'failed', 'bounced', 'opened', 'skipped', 'cancelled')"
)
DIRECT_STATUSES = (
    "('queued', 'sending', 'sent', 'delivered', 'undelivered', 'failed', 'bounced', 'opened', 'skipped', "
    "'cancelled', 'received')"
)


def enable_rls_sql(table: str) -> list[str]:
    cond = "organization_id = NULLIF(current_setting('app.organization_id', true), '')::uuid"
    return [
        f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
        f"CREATE POLICY tenant_isolation ON {table} USING ({cond}) WITH CHECK ({cond})",
    ]


def upgrade() -> None:
    op.alter_column("campaign_messages", "status", type_=sa.String(length=12), existing_type=sa.String(length=10))
    op.drop_constraint(op.f("ck_campaign_messages_status"), "campaign_messages", type_="check")
    op.create_check_constraint(op.f("ck_campaign_messages_status"), "campaign_messages", f"status IN {STATUSES}")
    op.create_index(
        "ix_campaign_messages_provider_id",
        "campaign_messages",
        ["organization_id", "provider_id"],
        postgresql_where=sa.text("provider_id IS NOT NULL"),
    )
    op.add_column("campaigns", sa.Column("action_id", sa.UUID(), nullable=True))
    op.create_foreign_key(
        op.f("fk_campaigns_organization_id_action_id_actions"),
        "campaigns",
        "actions",
        ["organization_id", "action_id"],
        ["organization_id", "id"],
        ondelete="SET NULL (action_id)",
    )
    op.add_column("contacts", sa.Column("email_invalid", sa.Boolean(), server_default=sa.text("false"), nullable=False))
    op.add_column("actions", sa.Column("reminder_sent_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "direct_messages",
        sa.Column("organization_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), server_default=sa.text("gg_uuid7()"), nullable=False),
        sa.Column("contact_id", sa.UUID(), nullable=True),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("direction", sa.String(length=3), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("address", sa.String(length=320), nullable=False),
        sa.Column("subject", sa.Text(), server_default="", nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("provider_id", sa.String(length=200), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("sent_by", sa.UUID(), nullable=True),
        sa.Column("reply_to_id", sa.UUID(), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("channel IN ('email', 'sms')", name=op.f("ck_direct_messages_channel")),
        sa.CheckConstraint("direction IN ('in', 'out')", name=op.f("ck_direct_messages_direction")),
        sa.CheckConstraint(
            "kind IN ('reply', 'opt_out', 'personal', 'opt_out_confirm')", name=op.f("ck_direct_messages_kind")
        ),
        sa.CheckConstraint(f"status IN {DIRECT_STATUSES}", name=op.f("ck_direct_messages_status")),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_direct_messages_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organization_id", "contact_id"],
            ["contacts.organization_id", "contacts.id"],
            name=op.f("fk_direct_messages_organization_id_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organization_id", "reply_to_id"],
            ["direct_messages.organization_id", "direct_messages.id"],
            name=op.f("fk_direct_messages_organization_id_reply_to_id_direct_messages"),
            ondelete="SET NULL (reply_to_id)",
        ),
        sa.PrimaryKeyConstraint("organization_id", "id", name=op.f("pk_direct_messages")),
    )
    op.create_index(
        op.f("ix_direct_messages_organization_id_direction_kind_id"),
        "direct_messages",
        ["organization_id", "direction", "kind", "id"],
    )
    op.create_index(
        op.f("ix_direct_messages_organization_id_contact_id_id"),
        "direct_messages",
        ["organization_id", "contact_id", "id"],
    )
    op.create_index(
        "ix_direct_messages_provider_id",
        "direct_messages",
        ["organization_id", "provider_id"],
        postgresql_where=sa.text("provider_id IS NOT NULL"),
    )
    op.create_table(
        "sms_status_reports",
        sa.Column("organization_id", sa.UUID(), nullable=False),
        sa.Column("provider_id", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_sms_status_reports_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("organization_id", "provider_id", name=op.f("pk_sms_status_reports")),
    )
    op.create_table(
        "push_subscriptions",
        sa.Column("organization_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("endpoint", sa.Text(), nullable=False),
        sa.Column("p256dh", sa.String(length=200), nullable=False),
        sa.Column("auth", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_push_subscriptions_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organization_id", "user_id"],
            ["memberships.organization_id", "memberships.user_id"],
            name=op.f("fk_push_subscriptions_organization_id_user_id_memberships"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("organization_id", "id", name=op.f("pk_push_subscriptions")),
    )
    op.create_index(
        op.f("ix_push_subscriptions_organization_id_endpoint"),
        "push_subscriptions",
        ["organization_id", "endpoint"],
        unique=True,
    )
    op.create_index(
        op.f("ix_push_subscriptions_organization_id_user_id"), "push_subscriptions", ["organization_id", "user_id"]
    )
    op.create_table(
        "vapid_keys",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("private_pem", sa.Text(), nullable=False),
        sa.Column("public_key", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_vapid_keys_single")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vapid_keys")),
    )
    for table in TABLES:
        for stmt in enable_rls_sql(table):
            op.execute(stmt)
    # The reminder cron finds, across organizations, the actions starting soon that were not reminded yet
    # (row-level security hides them otherwise).
    op.execute("""
        CREATE FUNCTION gg_actions_to_remind(lead_minutes integer) RETURNS TABLE (organization_id uuid, id uuid)
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
            SELECT organization_id, id FROM actions
            WHERE reminder_sent_at IS NULL AND status IN ('scheduled', 'active')
              AND starts_at > now() AND starts_at <= now() + make_interval(mins => lead_minutes)
        $$""")


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS gg_actions_to_remind(integer)")
    op.drop_table("vapid_keys")
    for table in reversed(TABLES):
        op.drop_table(table)
    op.drop_column("actions", "reminder_sent_at")
    op.drop_column("contacts", "email_invalid")
    op.drop_constraint(op.f("fk_campaigns_organization_id_action_id_actions"), "campaigns", type_="foreignkey")
    op.drop_column("campaigns", "action_id")
    op.drop_index("ix_campaign_messages_provider_id", table_name="campaign_messages")
    op.execute(
        "UPDATE campaign_messages SET status = CASE WHEN status IN ('delivered', 'opened') THEN 'sent' "
        "WHEN status IN ('undelivered', 'bounced') THEN 'failed' ELSE status END"
    )
    op.drop_constraint(op.f("ck_campaign_messages_status"), "campaign_messages", type_="check")
    op.create_check_constraint(op.f("ck_campaign_messages_status"), "campaign_messages", f"status IN {OLD_STATUSES}")
    op.alter_column("campaign_messages", "status", type_=sa.String(length=10), existing_type=sa.String(length=12))

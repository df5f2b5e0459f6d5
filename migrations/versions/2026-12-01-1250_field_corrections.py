"""field reports: the phone's time (recorded_at), corrections by their reporter (versions), an organization's
legal name

Revision ID: 0017
Revises: 0011
Create Date: 2026-12-01 12:50:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("actions", sa.Column("p2p_template_id", sa.UUID(), nullable=True))
    op.create_foreign_key(
        op.f("fk_actions_organization_id_p2p_template_id_message_templates"),
        "actions",
        "message_templates",
        ["organization_id", "p2p_template_id"],
        ["organization_id", "id"],
        ondelete="SET NULL (p2p_template_id)",
    )
    op.add_column("organizations", sa.Column("legal_name", sa.String(length=200), nullable=True))
    # Existing reports were recorded when they were received.
    op.add_column("field_reports", sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE field_reports SET recorded_at = created_at")
    op.alter_column("field_reports", "recorded_at", nullable=False, server_default=sa.text("clock_timestamp()"))
    op.add_column("field_reports", sa.Column("version", sa.SmallInteger(), server_default="1", nullable=False))
    op.add_column("field_reports", sa.Column("corrected_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index(
        op.f("ix_field_reports_organization_id_action_id_recorded_at"),
        "field_reports",
        ["organization_id", "action_id", "recorded_at"],
        unique=False,
    )
    # The organization's dashboard for a period (all actions) ranges on the recorded time.
    op.create_index(
        op.f("ix_field_reports_organization_id_recorded_at"), "field_reports", ["organization_id", "recorded_at"]
    )
    op.create_table(
        "field_report_corrections",
        sa.Column("organization_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("report_id", sa.UUID(), nullable=False),
        sa.Column("version", sa.SmallInteger(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("previous", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("response", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id", "report_id"],
            ["field_reports.organization_id", "field_reports.id"],
            name=op.f("fk_field_report_corrections_organization_id_report_id_field_reports"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("organization_id", "id", name=op.f("pk_field_report_corrections")),
    )
    op.create_index(
        op.f("ix_field_report_corrections_organization_id_report_id_version"),
        "field_report_corrections",
        ["organization_id", "report_id", "version"],
        unique=True,
    )
    cond = "organization_id = NULLIF(current_setting('app.organization_id', true), '')::uuid"
    op.execute("ALTER TABLE field_report_corrections ENABLE ROW LEVEL SECURITY")
    op.execute(f"CREATE POLICY tenant_isolation ON field_report_corrections USING ({cond}) WITH CHECK ({cond})")


def downgrade() -> None:
    op.drop_index(
        op.f("ix_field_report_corrections_organization_id_report_id_version"), table_name="field_report_corrections"
    )
    op.drop_table("field_report_corrections")
    op.drop_index(op.f("ix_field_reports_organization_id_recorded_at"), table_name="field_reports")
    op.drop_index(op.f("ix_field_reports_organization_id_action_id_recorded_at"), table_name="field_reports")
    op.drop_column("field_reports", "corrected_at")
    op.drop_column("field_reports", "version")
    op.drop_column("field_reports", "recorded_at")
    op.drop_column("organizations", "legal_name")
    op.drop_constraint(
        op.f("fk_actions_organization_id_p2p_template_id_message_templates"), "actions", type_="foreignkey"
    )
    op.drop_column("actions", "p2p_template_id")

"""dashboard period indexes: the organization's figures for a period read field_reports and consent_log by time

Revision ID: 0015
Revises: 0011
Create Date: 2026-12-01 12:30:00+00:00

The organization dashboard (app/dashboard/queries.py) filters field_reports on `organization_id` and a
`created_at` range without an action (the existing (organization_id, action_id, created_at) index cannot range on
the time then), and consents given on `recorded_at`. Checked with EXPLAIN in tests/dashboard/test_period_indexes.py.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        op.f("ix_field_reports_organization_id_created_at"), "field_reports", ["organization_id", "created_at"]
    )
    op.create_index(
        op.f("ix_consent_log_organization_id_recorded_at"), "consent_log", ["organization_id", "recorded_at"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_consent_log_organization_id_recorded_at"), table_name="consent_log")
    op.drop_index(op.f("ix_field_reports_organization_id_created_at"), table_name="field_reports")

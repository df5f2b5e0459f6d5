"""dashboard period index: the organization's consents given in a period read consent_log by time

Revision ID: 0015
Revises: 0011
Create Date: 2026-12-01 12:30:00+00:00

The organization dashboard (app/dashboard/queries.py) filters consents given on `organization_id` and a
`recorded_at` range. Its reports range on field_reports.recorded_at, which migration 0017 adds with the index
(organization_id, recorded_at). Checked with EXPLAIN in tests/dashboard/test_period_indexes.py.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        op.f("ix_consent_log_organization_id_recorded_at"), "consent_log", ["organization_id", "recorded_at"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_consent_log_organization_id_recorded_at"), table_name="consent_log")

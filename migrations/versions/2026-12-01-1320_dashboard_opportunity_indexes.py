"""dashboard opportunity indexes: opportunities raised in a period, and an action's, read by index

The dashboards count opportunities raised (and still open) for a period (`organization_id`, `created_at` range)
and for one action (`action_id`); the only index with `created_at` led with `status`, so both read every
opportunity of the organization. Checked with EXPLAIN in tests/dashboard/test_period_indexes.py.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-01 13:20:00+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        op.f("ix_opportunities_organization_id_created_at"), "opportunities", ["organization_id", "created_at"]
    )
    op.create_index(
        op.f("ix_opportunities_organization_id_action_id_created_at"),
        "opportunities",
        ["organization_id", "action_id", "created_at"],
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_opportunities_organization_id_action_id_created_at"), table_name="opportunities")
    op.drop_index(op.f("ix_opportunities_organization_id_created_at"), table_name="opportunities")

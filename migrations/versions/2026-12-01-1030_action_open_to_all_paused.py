"""actions: HQ may open an action to every volunteer on it (not only team-mates), and pause an action

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 10:30:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "actions",
        sa.Column("open_to_all_volunteers", sa.Boolean(), server_default=sa.text("false"), nullable=False),
    )
    op.drop_constraint(op.f("ck_actions_status"), "actions", type_="check")
    op.create_check_constraint(
        op.f("ck_actions_status"), "actions", "status IN ('draft', 'scheduled', 'active', 'paused', 'closed')"
    )


def downgrade() -> None:
    op.execute("UPDATE actions SET status = 'scheduled' WHERE status = 'paused'")
    op.drop_constraint(op.f("ck_actions_status"), "actions", type_="check")
    op.create_check_constraint(
        op.f("ck_actions_status"), "actions", "status IN ('draft', 'scheduled', 'active', 'closed')"
    )
    op.drop_column("actions", "open_to_all_volunteers")

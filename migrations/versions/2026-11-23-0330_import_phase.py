"""import phase: what a running import is doing (reading, matching, writing)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 03:30:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("imports", sa.Column("phase", sa.String(length=16), nullable=True))


def downgrade() -> None:
    op.drop_column("imports", "phase")

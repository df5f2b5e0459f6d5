"""contact retention: an organization may say how long personal data is kept after the last activity

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 04:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("organizations", sa.Column("contact_retention_days", sa.Integer(), nullable=True))
    op.create_check_constraint(
        op.f("ck_organizations_contact_retention_days"), "organizations", "contact_retention_days > 0"
    )
    # The worker's daily retention job finds the organizations that set one (row-level security hides them).
    op.execute("""
        CREATE FUNCTION gg_retention_orgs() RETURNS TABLE (organization_id uuid, days int)
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
            SELECT id, contact_retention_days FROM organizations WHERE contact_retention_days IS NOT NULL
        $$""")


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS gg_retention_orgs()")
    op.drop_constraint(op.f("ck_organizations_contact_retention_days"), "organizations", type_="check")
    op.drop_column("organizations", "contact_retention_days")

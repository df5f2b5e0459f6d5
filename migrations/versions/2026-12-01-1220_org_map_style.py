"""org map style: the basemap style URL is an organization setting (every map of the console uses it)

Revision ID: 0014
Revises: 0011
Create Date: 2026-12-01 12:20:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("organizations", sa.Column("map_style_url", sa.String(length=500), nullable=True))
    op.create_check_constraint(
        op.f("ck_organizations_map_style_url"), "organizations", "map_style_url LIKE 'https://%'"
    )
    # The Content-Security-Policy is sent before anyone signs in: it allows the origins every organization chose
    # (row-level security hides the other organizations, so this function reads them for the server).
    op.execute("""
        CREATE FUNCTION gg_map_style_urls() RETURNS TABLE (url text)
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
            SELECT DISTINCT map_style_url FROM organizations WHERE map_style_url IS NOT NULL
        $$""")


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS gg_map_style_urls()")
    op.drop_constraint(op.f("ck_organizations_map_style_url"), "organizations", type_="check")
    op.drop_column("organizations", "map_style_url")

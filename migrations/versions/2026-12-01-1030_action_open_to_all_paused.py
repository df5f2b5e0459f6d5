"""actions: HQ may open an action to every volunteer on it (not only team-mates), and pause an action;
field reports: the first response for a report id, serialized on the id

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
    # Two identical reports arriving at once must both get the first response. The advisory lock makes the second
    # wait until the first commits; the look-up after it is a new query of a VOLATILE function, so it runs on a
    # fresh snapshot that includes the first's report (READ COMMITTED). One round trip, as the plain look-up was.
    op.execute("""
        CREATE FUNCTION gg_report_first_response(org uuid, report_id uuid)
        RETURNS TABLE (request_hash varchar, response jsonb)
        LANGUAGE plpgsql VOLATILE SET search_path = public AS $$
        #variable_conflict use_column
        BEGIN
            PERFORM pg_advisory_xact_lock(hashtextextended(org::text || ':' || report_id::text, 0));
            RETURN QUERY SELECT f.request_hash, f.response FROM field_reports f
                WHERE f.organization_id = org AND f.id = report_id;
        END
        $$""")


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS gg_report_first_response(uuid, uuid)")
    op.execute("UPDATE actions SET status = 'scheduled' WHERE status = 'paused'")
    op.drop_constraint(op.f("ck_actions_status"), "actions", type_="check")
    op.create_check_constraint(
        op.f("ck_actions_status"), "actions", "status IN ('draft', 'scheduled', 'active', 'closed')"
    )
    op.drop_column("actions", "open_to_all_volunteers")

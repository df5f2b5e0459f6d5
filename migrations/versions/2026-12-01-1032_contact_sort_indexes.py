"""contact sort indexes: the HQ contacts table pages by city, support level, last contact or creation (keyset)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 10:00:00+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The keys are the expressions app/contacts/sorting.py orders by (nulls folded into a sentinel, so a row
# comparison works as a keyset); each index serves both directions.
INDEXES = {
    "ix_contacts_sort_city": "organization_id, coalesce(city, ''), id",
    "ix_contacts_sort_support": "organization_id, coalesce(support_level, 6), id",
    "ix_contacts_sort_contacted": "organization_id, coalesce(last_contacted_at, '-infinity'::timestamptz), id",
    "ix_contacts_sort_created": "organization_id, created_at, id",
}


def upgrade() -> None:
    for name, cols in INDEXES.items():
        op.execute(f"CREATE INDEX {name} ON contacts ({cols})")


def downgrade() -> None:
    for name in INDEXES:
        op.execute(f"DROP INDEX IF EXISTS {name}")

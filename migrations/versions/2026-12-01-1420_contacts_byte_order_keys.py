"""contacts' text B-tree keys in byte order (COLLATE "C"): the database's C.UTF-8 order is code point order,
which for UTF-8 is byte order, so nothing a user sees changes; comparisons become memcmp instead of strcoll and
an import's index maintenance is cheaper.

- The identifiers (mobile_e164, home_e164, email, postal_code) take "C" as their column collation: they are only
  ever compared for equality, and every query's `=`/`IN` picks the column's collation, so the indexes stay usable
  with no COLLATE in the queries.
- The name and city keys keep their column collation (lower() and pg_trgm need the database's case rules for
  ă, é, …); their indexes are declared COLLATE "C", and the queries that use them (the contacts table's name and
  city sorts, the duplicate rule's name match) say COLLATE "C" too (app/contacts/sorting.py, duplicates.py).

Revision ID: 0026
Revises: 0019
Create Date: 2026-12-01 14:20:00+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0026"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = {
    "mobile_e164": "varchar(20)",
    "home_e164": "varchar(20)",
    "email": "varchar(320)",
    "postal_code": "varchar(20)",
}
# name: (the keys in byte order, the keys before)
INDEXES = {
    "ix_contacts_organization_id_last_name_first_name_id": (
        'organization_id, last_name COLLATE "C", first_name COLLATE "C", id',
        "organization_id, last_name, first_name, id",
    ),
    "ix_contacts_organization_id_city_street": (
        'organization_id, city COLLATE "C", street COLLATE "C"',
        "organization_id, city, street",
    ),
    "ix_contacts_sort_city": (
        "organization_id, (coalesce(city, '') COLLATE \"C\"), id",
        "organization_id, coalesce(city, ''), id",
    ),
}


def upgrade() -> None:
    # A collation change does not rewrite the table; the indexes on these columns are rebuilt in "C".
    for col, typ in COLUMNS.items():
        op.execute(f'ALTER TABLE contacts ALTER COLUMN {col} TYPE {typ} COLLATE "C"')
    for name, (keys, _) in INDEXES.items():
        op.execute(f"DROP INDEX {name}")
        op.execute(f"CREATE INDEX {name} ON contacts ({keys})")


def downgrade() -> None:
    for name, (_, keys) in INDEXES.items():
        op.execute(f"DROP INDEX {name}")
        op.execute(f"CREATE INDEX {name} ON contacts ({keys})")
    for col, typ in COLUMNS.items():
        op.execute(f'ALTER TABLE contacts ALTER COLUMN {col} TYPE {typ} COLLATE "default"')

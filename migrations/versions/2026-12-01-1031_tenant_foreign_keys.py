"""tenant foreign keys: every reference between tenant tables carries organization_id

`(organization_id, x_id) → (organization_id, id)`, so a row can only name an object of its own organization,
even if a bug skipped the application's check (app/auth/references.py). Every referenced key is already a
primary key `(organization_id, id)` (memberships: `(organization_id, user_id)`), so no unique constraint is
needed. Nullable columns are MATCH SIMPLE (a null reference is allowed); `SET NULL (col)` nulls only the
reference, never organization_id (PostgreSQL 15).

Not constrained, on purpose: authorship columns (`created_by`, `recorded_by`, `uploaded_by`, `invited_by`,
`actor_user_id`, `field_reports.user_id`, `opportunity_comments.user_id`): they record who did something, are
set from the authenticated caller (never from a body), and must outlive that person's membership (the audit
log is append-only). `audit_log.object_id` is text naming objects that may since have been deleted.

References that no longer resolve (left dangling by deletes before these constraints, or naming another
organization's object) are cleared first: nulled where the column is nullable; survey answers to a survey of
no organization's (impossible unless written by a bug) are deleted.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 10:30:00+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, column, referred table, referred column, ON DELETE, deferred)
FKS: list[tuple[str, str, str, str, str | None, bool]] = [
    ("actions", "survey_id", "surveys", "id", "SET NULL", False),
    ("contacts", "import_id", "imports", "id", "SET NULL", False),
    ("action_targets", "assignee_user_id", "memberships", "user_id", "SET NULL", False),
    ("action_targets", "lease_user_id", "memberships", "user_id", "SET NULL", False),
    ("turfs", "assignee_user_id", "memberships", "user_id", "SET NULL", False),
    ("turfs", "partner_user_id", "memberships", "user_id", "SET NULL", False),
    ("contact_events", "action_id", "actions", "id", "SET NULL", False),
    ("field_reports", "target_id", "action_targets", "id", "SET NULL", False),
    ("field_reports", "contact_id", "contacts", "id", "SET NULL", False),
    ("field_reports", "survey_id", "surveys", "id", "SET NULL", False),
    # Checked at commit: deleting an organization removes its surveys and their answers in one statement.
    ("survey_answers", "survey_id", "surveys", "id", None, True),
    ("survey_answers", "contact_id", "contacts", "id", "SET NULL", False),
    ("opportunities", "action_id", "actions", "id", "SET NULL", False),
    # Checked at commit: a call report inserts the opportunities it raised before the report row itself.
    ("opportunities", "report_id", "field_reports", "id", "SET NULL", True),
    ("opportunities", "assignee_user_id", "memberships", "user_id", "SET NULL", False),
    ("opportunities", "assignee_team_id", "teams", "id", "SET NULL", False),
]

NOT_NULL = {("survey_answers", "survey_id")}


def _name(table: str, column: str, referred: str) -> str:
    return f"fk_{table}_organization_id_{column}_{referred}"


def upgrade() -> None:
    for table, column, referred, key, ondelete, deferred in FKS:
        dangling = (
            f"NOT EXISTS (SELECT 1 FROM {referred} r "
            f"WHERE r.organization_id = t.organization_id AND r.{key} = t.{column})"
        )
        if (table, column) in NOT_NULL:
            op.execute(f"DELETE FROM {table} t WHERE {dangling}")
        else:
            op.execute(f"UPDATE {table} t SET {column} = NULL WHERE t.{column} IS NOT NULL AND {dangling}")
        on_delete = f" ON DELETE SET NULL ({column})" if ondelete == "SET NULL" else ""
        op.execute(
            f"ALTER TABLE {table} ADD CONSTRAINT {_name(table, column, referred)} "
            f"FOREIGN KEY (organization_id, {column}) REFERENCES {referred} (organization_id, {key})"
            f"{on_delete}{' DEFERRABLE INITIALLY DEFERRED' if deferred else ''}"
        )


def downgrade() -> None:
    for table, column, referred, _key, _ondelete, _deferred in reversed(FKS):
        op.drop_constraint(_name(table, column, referred), table, type_="foreignkey")

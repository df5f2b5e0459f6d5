"""auth change notifications: NOTIFY gg_auth when what a session token grants changes

Each web process remembers authenticated tokens for a few seconds (app/auth/cache.py) and forgets them all on
this notification, which PostgreSQL delivers only when the changing transaction commits, whatever made the
change (the API, the CLI, a job, SQL by hand). What a token grants: the token itself (revoked, expiry, 2FA setup
pending), the user (active, name, email), the membership (role, removal) and team membership. Tokens deleted
after they expired or were revoked (the nightly clean-up) change nothing and send nothing. The payload is empty:
PostgreSQL folds identical notifications of one transaction into one.

Revision ID: 0019
Revises: 0011
Create Date: 2026-12-01 13:10:00+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, trigger name, events, WHEN condition or None)
TRIGGERS: list[tuple[str, str, str, str | None]] = [
    (
        "auth_tokens",
        "gg_auth_changed_update",
        "UPDATE",
        "OLD.revoked_at IS DISTINCT FROM NEW.revoked_at OR OLD.expires_at IS DISTINCT FROM NEW.expires_at "
        "OR OLD.needs_2fa_setup IS DISTINCT FROM NEW.needs_2fa_setup",
    ),
    ("auth_tokens", "gg_auth_changed_delete", "DELETE", "OLD.revoked_at IS NULL AND OLD.expires_at > now()"),
    ("users", "gg_auth_changed", "UPDATE OR DELETE", None),
    ("memberships", "gg_auth_changed", "UPDATE OR DELETE", None),
    ("team_members", "gg_auth_changed", "INSERT OR UPDATE OR DELETE", None),
]


def upgrade() -> None:
    op.execute("""
        CREATE FUNCTION gg_auth_changed() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          PERFORM pg_notify('gg_auth', '');
          RETURN NULL;
        END $$""")
    for table, name, events, when in TRIGGERS:
        cond = f" WHEN ({when})" if when else ""
        op.execute(
            f"CREATE TRIGGER {name} AFTER {events} ON {table} FOR EACH ROW{cond} EXECUTE FUNCTION gg_auth_changed()"
        )


def downgrade() -> None:
    for table, name, _events, _when in reversed(TRIGGERS):
        op.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
    op.execute("DROP FUNCTION IF EXISTS gg_auth_changed()")

"""platform

Revision ID: 0001
Revises:
Create Date: 2026-11-22 23:37:30.169588+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Row-level security as this revision created it (frozen here: a migration never imports live app code).
# Policies apply to the application role, which owns no table (table owners bypass RLS by design).
def enable_rls_sql(table: str, column: str = "organization_id") -> list[str]:
    cond = f"{column} = NULLIF(current_setting('app.organization_id', true), '')::uuid"
    return [
        f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
        f"CREATE POLICY tenant_isolation ON {table} USING ({cond}) WITH CHECK ({cond})",
    ]


TENANT_TABLES = ["memberships", "teams", "team_members", "invitations", "audit_log"]


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.create_table(
        "organizations",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("slug", sa.String(length=64), nullable=False),
        sa.Column("timezone", sa.String(length=64), server_default="Europe/Bucharest", nullable=False),
        sa.Column("default_region", sa.String(length=2), server_default="RO", nullable=False),
        sa.Column("require_2fa_for_staff", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organizations")),
        sa.UniqueConstraint("slug", name=op.f("uq_organizations_slug")),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("full_name", sa.String(length=200), server_default="", nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=True),
        sa.Column("totp_secret", sa.String(length=64), nullable=True),
        sa.Column("totp_enabled", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("is_active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("email", name=op.f("uq_users_email")),
    )
    op.create_table(
        "audit_log",
        sa.Column("organization_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("actor_user_id", sa.UUID(), nullable=True),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("object_type", sa.String(length=64), nullable=False),
        sa.Column("object_id", sa.String(length=64), nullable=True),
        sa.Column("ip", postgresql.INET(), nullable=True),
        sa.Column("request_id", sa.String(length=64), nullable=True),
        sa.Column("details", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_audit_log_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("organization_id", "id", name=op.f("pk_audit_log")),
    )
    op.create_index(
        op.f("ix_audit_log_organization_id_actor_user_id_at"),
        "audit_log",
        ["organization_id", "actor_user_id", "at"],
        unique=False,
    )
    op.create_index(
        op.f("ix_audit_log_organization_id_object_type_object_id"),
        "audit_log",
        ["organization_id", "object_type", "object_id"],
        unique=False,
    )
    op.create_table(
        "auth_tokens",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("organization_id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.String(length=16), server_default="session", nullable=False),
        sa.Column("needs_2fa_setup", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_auth_tokens_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_auth_tokens_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auth_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_auth_tokens_token_hash")),
    )
    op.create_index(op.f("ix_auth_tokens_user_id"), "auth_tokens", ["user_id"], unique=False)
    op.create_table(
        "memberships",
        sa.Column("organization_id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "role IN ('admin', 'manager', 'team_leader', 'volunteer')", name=op.f("ck_memberships_role")
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_memberships_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_memberships_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("organization_id", "user_id", name=op.f("pk_memberships")),
    )
    op.create_index(
        op.f("ix_memberships_organization_id_role"), "memberships", ["organization_id", "role"], unique=False
    )
    op.create_table(
        "teams",
        sa.Column("organization_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("region", sa.String(length=200), nullable=True),
        sa.Column("leader_user_id", sa.UUID(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id", "leader_user_id"],
            ["memberships.organization_id", "memberships.user_id"],
            name=op.f("fk_teams_organization_id_leader_user_id_memberships"),
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_teams_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("organization_id", "id", name=op.f("pk_teams")),
        sa.UniqueConstraint("organization_id", "name", name=op.f("uq_teams_organization_id_name")),
    )
    op.create_table(
        "invitations",
        sa.Column("organization_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("team_id", sa.UUID(), nullable=True),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("invited_by", sa.UUID(), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "role IN ('admin', 'manager', 'team_leader', 'volunteer')", name=op.f("ck_invitations_role")
        ),
        sa.ForeignKeyConstraint(
            ["organization_id", "team_id"],
            ["teams.organization_id", "teams.id"],
            name=op.f("fk_invitations_organization_id_team_id_teams"),
            ondelete="SET NULL (team_id)",
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_invitations_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("organization_id", "id", name=op.f("pk_invitations")),
        sa.UniqueConstraint("organization_id", "token_hash", name=op.f("uq_invitations_organization_id_token_hash")),
    )
    op.create_table(
        "team_members",
        sa.Column("organization_id", sa.UUID(), nullable=False),
        sa.Column("team_id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id", "team_id"],
            ["teams.organization_id", "teams.id"],
            name=op.f("fk_team_members_organization_id_team_id_teams"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organization_id", "user_id"],
            ["memberships.organization_id", "memberships.user_id"],
            name=op.f("fk_team_members_organization_id_user_id_memberships"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("organization_id", "team_id", "user_id", name=op.f("pk_team_members")),
    )
    op.create_index(
        op.f("ix_team_members_organization_id_user_id"), "team_members", ["organization_id", "user_id"], unique=False
    )
    for table in TENANT_TABLES:
        for stmt in enable_rls_sql(table):
            op.execute(stmt)
    for stmt in enable_rls_sql("organizations", column="id"):
        op.execute(stmt)
    # Login must find a user's organizations before a tenant is chosen: a narrow definer function.
    op.execute("""
        CREATE FUNCTION gg_user_memberships(p_user uuid)
        RETURNS TABLE (organization_id uuid, slug text, role text, require_2fa boolean)
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
            SELECT m.organization_id, o.slug::text, m.role::text, o.require_2fa_for_staff
            FROM memberships m JOIN organizations o ON o.id = m.organization_id
            WHERE m.user_id = p_user ORDER BY m.created_at
        $$""")
    op.execute("""
        CREATE FUNCTION gg_org_by_slug(p_slug text) RETURNS uuid
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
            SELECT id FROM organizations WHERE slug = p_slug
        $$""")

    # One statement per request to authenticate: token → user, role, teams, and the tenant set on the transaction.
    op.execute("""
        CREATE FUNCTION gg_authenticate(p_token_hash text)
        RETURNS TABLE (token_id uuid, organization_id uuid, needs_2fa_setup boolean, user_id uuid, email text,
                       full_name text, role text, team_ids uuid[])
        LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public AS $$
        BEGIN
          RETURN QUERY
          SELECT t.id, t.organization_id, t.needs_2fa_setup, u.id, u.email::text, u.full_name::text, m.role::text,
                 ARRAY(SELECT tm.team_id FROM team_members tm
                       WHERE tm.organization_id = t.organization_id AND tm.user_id = u.id)
          FROM auth_tokens t
          JOIN users u ON u.id = t.user_id AND u.is_active
          JOIN memberships m ON m.organization_id = t.organization_id AND m.user_id = t.user_id
          WHERE t.token_hash = p_token_hash AND t.revoked_at IS NULL AND t.expires_at > now();
          IF FOUND THEN
            PERFORM set_config('app.organization_id',
              (SELECT a.organization_id::text FROM auth_tokens a WHERE a.token_hash = p_token_hash), true);
          END IF;
        END $$""")


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS gg_authenticate(text)")
    op.execute("DROP FUNCTION IF EXISTS gg_org_by_slug(text)")
    op.execute("DROP FUNCTION IF EXISTS gg_user_memberships(uuid)")
    op.drop_index(op.f("ix_team_members_organization_id_user_id"), table_name="team_members")
    op.drop_table("team_members")
    op.drop_table("invitations")
    op.drop_table("teams")
    op.drop_index(op.f("ix_memberships_organization_id_role"), table_name="memberships")
    op.drop_table("memberships")
    op.drop_index(op.f("ix_auth_tokens_user_id"), table_name="auth_tokens")
    op.drop_table("auth_tokens")
    op.drop_index(op.f("ix_audit_log_organization_id_object_type_object_id"), table_name="audit_log")
    op.drop_index(op.f("ix_audit_log_organization_id_actor_user_id_at"), table_name="audit_log")
    op.drop_table("audit_log")
    op.drop_table("users")
    op.drop_table("organizations")

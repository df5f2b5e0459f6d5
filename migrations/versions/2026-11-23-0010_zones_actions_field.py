"""zones actions field

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 23:46:59.091088+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
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


TENANT_TABLES = [
    "zones",
    "zone_pieces",
    "actions",
    "action_teams",
    "action_volunteers",
    "participations",
    "action_targets",
    "turfs",
    "action_documents",
    "action_counters",
    "field_reports",
    "surveys",
    "survey_versions",
    "survey_answers",
    "opportunity_types",
    "opportunities",
    "opportunity_comments",
]


def upgrade() -> None:
    op.create_geospatial_table(
        "actions",
        sa.Column("organization_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("type", sa.String(length=20), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        sa.Column("brief", sa.Text(), server_default="", nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("meeting_point_label", sa.String(length=300), nullable=True),
        sa.Column(
            "meeting_point",
            Geometry(
                geometry_type="POINT",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
            ),
            nullable=True,
        ),
        sa.Column("status", sa.String(length=10), server_default="draft", nullable=False),
        sa.Column("survey_id", sa.UUID(), nullable=True),
        sa.Column("filter", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False),
        sa.Column("reached_tag", sa.String(length=64), nullable=True),
        sa.Column("allow_others", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("max_attempts", sa.SmallInteger(), server_default="3", nullable=False),
        sa.Column("retry_delay_minutes", sa.Integer(), server_default="120", nullable=False),
        sa.Column("target_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("created_by", sa.UUID(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("status IN ('draft', 'scheduled', 'active', 'closed')", name=op.f("ck_actions_status")),
        sa.CheckConstraint(
            "type IN ('call', 'door_to_door', 'petition', 'event', 'leafleting', 'digital')",
            name=op.f("ck_actions_type"),
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_actions_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("organization_id", "id", name=op.f("pk_actions")),
    )
    op.create_index(
        op.f("ix_actions_organization_id_starts_at"), "actions", ["organization_id", "starts_at"], unique=False
    )
    op.create_table(
        "opportunity_types",
        sa.Column("organization_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_opportunity_types_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("organization_id", "id", name=op.f("pk_opportunity_types")),
    )
    op.create_index(
        op.f("ix_opportunity_types_organization_id_name"), "opportunity_types", ["organization_id", "name"], unique=True
    )
    op.create_table(
        "surveys",
        sa.Column("organization_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("current_version", sa.Integer(), server_default="1", nullable=False),
        sa.Column("created_by", sa.UUID(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_surveys_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("organization_id", "id", name=op.f("pk_surveys")),
    )
    op.create_geospatial_table(
        "zones",
        sa.Column("organization_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=True),
        sa.Column("kind", sa.String(length=20), server_default="custom", nullable=False),
        sa.Column("parent_id", sa.UUID(), nullable=True),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="MULTIPOLYGON",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.Column("vertex_count", sa.Integer(), nullable=False),
        sa.Column("attributes", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False),
        sa.Column("created_by", sa.UUID(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "kind IN ('district', 'neighbourhood', 'polling_station', 'custom')", name=op.f("ck_zones_kind")
        ),
        sa.ForeignKeyConstraint(
            ["organization_id", "parent_id"],
            ["zones.organization_id", "zones.id"],
            name=op.f("fk_zones_organization_id_parent_id_zones"),
            ondelete="SET NULL (parent_id)",
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_zones_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("organization_id", "id", name=op.f("pk_zones")),
    )
    op.create_geospatial_index(
        "ix_zones_geom", "zones", ["geom"], unique=False, postgresql_using="gist", postgresql_ops={}
    )
    op.create_index(
        op.f("ix_zones_organization_id_code"),
        "zones",
        ["organization_id", "code"],
        unique=True,
        postgresql_where="code IS NOT NULL",
    )
    op.create_table(
        "action_counters",
        sa.Column("organization_id", sa.UUID(), nullable=False),
        sa.Column("action_id", sa.UUID(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("shard", sa.SmallInteger(), nullable=False),
        sa.Column("value", sa.BigInteger(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id", "action_id"],
            ["actions.organization_id", "actions.id"],
            name=op.f("fk_action_counters_organization_id_action_id_actions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("organization_id", "action_id", "key", "shard", name=op.f("pk_action_counters")),
    )
    op.create_table(
        "action_documents",
        sa.Column("organization_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("action_id", sa.UUID(), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("uploaded_by", sa.UUID(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id", "action_id"],
            ["actions.organization_id", "actions.id"],
            name=op.f("fk_action_documents_organization_id_action_id_actions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("organization_id", "id", name=op.f("pk_action_documents")),
    )
    op.create_table(
        "action_targets",
        sa.Column("organization_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("action_id", sa.UUID(), nullable=False),
        sa.Column("contact_id", sa.UUID(), nullable=False),
        sa.Column("assignee_user_id", sa.UUID(), nullable=True),
        sa.Column("turf_no", sa.Integer(), nullable=True),
        sa.Column("seq", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=12), server_default="pending", nullable=False),
        sa.Column("attempts", sa.SmallInteger(), server_default="0", nullable=False),
        sa.Column("last_outcome", sa.String(length=20), nullable=True),
        sa.Column("callback_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("available_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lease_user_id", sa.UUID(), nullable=True),
        sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "status IN ('pending', 'in_progress', 'callback', 'done', 'closed')", name=op.f("ck_action_targets_status")
        ),
        sa.ForeignKeyConstraint(
            ["organization_id", "action_id"],
            ["actions.organization_id", "actions.id"],
            name=op.f("fk_action_targets_organization_id_action_id_actions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organization_id", "contact_id"],
            ["contacts.organization_id", "contacts.id"],
            name=op.f("fk_action_targets_organization_id_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("organization_id", "id", name=op.f("pk_action_targets")),
    )
    # Claims walk these in id order: mine / the pool by assignee, team-mates' by status.
    op.create_index(
        "ix_action_targets_claim_assignee",
        "action_targets",
        ["organization_id", "action_id", "assignee_user_id", "status", "id"],
        unique=False,
    )
    op.create_index(
        "ix_action_targets_claim_status",
        "action_targets",
        ["organization_id", "action_id", "status", "id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_action_targets_organization_id_action_id_contact_id"),
        "action_targets",
        ["organization_id", "action_id", "contact_id"],
        unique=True,
    )
    op.create_index(
        op.f("ix_action_targets_organization_id_contact_id"),
        "action_targets",
        ["organization_id", "contact_id"],
        unique=False,
    )
    op.create_table(
        "action_volunteers",
        sa.Column("organization_id", sa.UUID(), nullable=False),
        sa.Column("action_id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id", "action_id"],
            ["actions.organization_id", "actions.id"],
            name=op.f("fk_action_volunteers_organization_id_action_id_actions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organization_id", "user_id"],
            ["memberships.organization_id", "memberships.user_id"],
            name=op.f("fk_action_volunteers_organization_id_user_id_memberships"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("organization_id", "action_id", "user_id", name=op.f("pk_action_volunteers")),
    )
    op.create_index(
        op.f("ix_action_volunteers_organization_id_user_id"),
        "action_volunteers",
        ["organization_id", "user_id"],
        unique=False,
    )
    op.create_table(
        "field_reports",
        sa.Column("organization_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.String(length=5), nullable=False),
        sa.Column("action_id", sa.UUID(), nullable=False),
        sa.Column("target_id", sa.UUID(), nullable=True),
        sa.Column("contact_id", sa.UUID(), nullable=True),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("outcome_text", sa.Text(), nullable=True),
        sa.Column("callback_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("consent_given", sa.Boolean(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("quality", sa.SmallInteger(), nullable=True),
        sa.Column("mobilized", sa.Boolean(), nullable=True),
        sa.Column("survey_id", sa.UUID(), nullable=True),
        sa.Column("survey_version", sa.Integer(), nullable=True),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("response", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("details_hash", sa.String(length=64), nullable=True),
        sa.Column("details_response", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("kind IN ('call', 'visit')", name=op.f("ck_field_reports_kind")),
        sa.CheckConstraint("quality BETWEEN 1 AND 5", name=op.f("ck_field_reports_quality")),
        sa.ForeignKeyConstraint(
            ["organization_id", "action_id"],
            ["actions.organization_id", "actions.id"],
            name=op.f("fk_field_reports_organization_id_action_id_actions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("organization_id", "id", name=op.f("pk_field_reports")),
    )
    op.create_index(
        op.f("ix_field_reports_organization_id_action_id_created_at"),
        "field_reports",
        ["organization_id", "action_id", "created_at"],
        unique=False,
    )
    op.create_index(
        op.f("ix_field_reports_organization_id_contact_id"),
        "field_reports",
        ["organization_id", "contact_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_field_reports_organization_id_user_id_created_at"),
        "field_reports",
        ["organization_id", "user_id", "created_at"],
        unique=False,
    )
    op.create_table(
        "opportunities",
        sa.Column("organization_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("type_id", sa.UUID(), nullable=False),
        sa.Column("contact_id", sa.UUID(), nullable=True),
        sa.Column("action_id", sa.UUID(), nullable=True),
        sa.Column("report_id", sa.UUID(), nullable=True),
        sa.Column("note", sa.Text(), server_default="", nullable=False),
        sa.Column("status", sa.String(length=12), server_default="open", nullable=False),
        sa.Column("assignee_user_id", sa.UUID(), nullable=True),
        sa.Column("assignee_team_id", sa.UUID(), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.UUID(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "status IN ('open', 'in_progress', 'done', 'dropped')", name=op.f("ck_opportunities_status")
        ),
        sa.ForeignKeyConstraint(
            ["organization_id", "contact_id"],
            ["contacts.organization_id", "contacts.id"],
            name=op.f("fk_opportunities_organization_id_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organization_id", "type_id"],
            ["opportunity_types.organization_id", "opportunity_types.id"],
            name=op.f("fk_opportunities_organization_id_type_id_opportunity_types"),
        ),
        sa.PrimaryKeyConstraint("organization_id", "id", name=op.f("pk_opportunities")),
    )
    op.create_index(
        op.f("ix_opportunities_organization_id_assignee_user_id_status"),
        "opportunities",
        ["organization_id", "assignee_user_id", "status"],
        unique=False,
    )
    op.create_index(
        op.f("ix_opportunities_organization_id_status_created_at"),
        "opportunities",
        ["organization_id", "status", "created_at"],
        unique=False,
    )
    op.create_table(
        "participations",
        sa.Column("organization_id", sa.UUID(), nullable=False),
        sa.Column("action_id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("availability", sa.String(length=500), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("status IN ('going', 'maybe', 'not_going')", name=op.f("ck_participations_status")),
        sa.ForeignKeyConstraint(
            ["organization_id", "action_id"],
            ["actions.organization_id", "actions.id"],
            name=op.f("fk_participations_organization_id_action_id_actions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organization_id", "user_id"],
            ["memberships.organization_id", "memberships.user_id"],
            name=op.f("fk_participations_organization_id_user_id_memberships"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("organization_id", "action_id", "user_id", name=op.f("pk_participations")),
    )
    op.create_table(
        "survey_versions",
        sa.Column("organization_id", sa.UUID(), nullable=False),
        sa.Column("survey_id", sa.UUID(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("questions", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id", "survey_id"],
            ["surveys.organization_id", "surveys.id"],
            name=op.f("fk_survey_versions_organization_id_survey_id_surveys"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("organization_id", "survey_id", "version", name=op.f("pk_survey_versions")),
    )
    op.create_table(
        "turfs",
        sa.Column("organization_id", sa.UUID(), nullable=False),
        sa.Column("action_id", sa.UUID(), nullable=False),
        sa.Column("turf_no", sa.Integer(), nullable=False),
        sa.Column("assignee_user_id", sa.UUID(), nullable=True),
        sa.Column("partner_user_id", sa.UUID(), nullable=True),
        sa.Column("door_count", sa.Integer(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id", "action_id"],
            ["actions.organization_id", "actions.id"],
            name=op.f("fk_turfs_organization_id_action_id_actions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("organization_id", "action_id", "turf_no", name=op.f("pk_turfs")),
    )
    op.create_geospatial_table(
        "zone_pieces",
        sa.Column("organization_id", sa.UUID(), nullable=False),
        sa.Column("zone_id", sa.UUID(), nullable=False),
        sa.Column("piece_no", sa.Integer(), nullable=False),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="POLYGON",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["organization_id", "zone_id"],
            ["zones.organization_id", "zones.id"],
            name=op.f("fk_zone_pieces_organization_id_zone_id_zones"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("organization_id", "zone_id", "piece_no", name=op.f("pk_zone_pieces")),
    )
    op.create_geospatial_index(
        "ix_zone_pieces_geom", "zone_pieces", ["geom"], unique=False, postgresql_using="gist", postgresql_ops={}
    )
    op.create_table(
        "action_teams",
        sa.Column("organization_id", sa.UUID(), nullable=False),
        sa.Column("action_id", sa.UUID(), nullable=False),
        sa.Column("team_id", sa.UUID(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id", "action_id"],
            ["actions.organization_id", "actions.id"],
            name=op.f("fk_action_teams_organization_id_action_id_actions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organization_id", "team_id"],
            ["teams.organization_id", "teams.id"],
            name=op.f("fk_action_teams_organization_id_team_id_teams"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("organization_id", "action_id", "team_id", name=op.f("pk_action_teams")),
    )
    op.create_index(
        op.f("ix_action_teams_organization_id_team_id"), "action_teams", ["organization_id", "team_id"], unique=False
    )
    op.create_table(
        "opportunity_comments",
        sa.Column("organization_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("opportunity_id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id", "opportunity_id"],
            ["opportunities.organization_id", "opportunities.id"],
            name=op.f("fk_opportunity_comments_organization_id_opportunity_id_opportunities"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("organization_id", "id", name=op.f("pk_opportunity_comments")),
    )
    op.create_table(
        "survey_answers",
        sa.Column("organization_id", sa.UUID(), nullable=False),
        sa.Column("report_id", sa.UUID(), nullable=False),
        sa.Column("question_id", sa.String(length=64), nullable=False),
        sa.Column("survey_id", sa.UUID(), nullable=False),
        sa.Column("survey_version", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.UUID(), nullable=True),
        sa.Column("value", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id", "report_id"],
            ["field_reports.organization_id", "field_reports.id"],
            name=op.f("fk_survey_answers_organization_id_report_id_field_reports"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("organization_id", "report_id", "question_id", name=op.f("pk_survey_answers")),
    )
    op.create_index(
        op.f("ix_survey_answers_organization_id_contact_id"),
        "survey_answers",
        ["organization_id", "contact_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_survey_answers_organization_id_survey_id_question_id"),
        "survey_answers",
        ["organization_id", "survey_id", "question_id"],
        unique=False,
    )
    for table in TENANT_TABLES:
        for stmt in enable_rls_sql(table):
            op.execute(stmt)


def downgrade() -> None:
    op.drop_index(op.f("ix_survey_answers_organization_id_survey_id_question_id"), table_name="survey_answers")
    op.drop_index(op.f("ix_survey_answers_organization_id_contact_id"), table_name="survey_answers")
    op.drop_table("survey_answers")
    op.drop_table("opportunity_comments")
    op.drop_index(op.f("ix_action_teams_organization_id_team_id"), table_name="action_teams")
    op.drop_table("action_teams")
    op.drop_geospatial_index(
        "ix_zone_pieces_geom", table_name="zone_pieces", postgresql_using="gist", column_name="geom"
    )
    op.drop_geospatial_table("zone_pieces")
    op.drop_table("turfs")
    op.drop_table("survey_versions")
    op.drop_table("participations")
    op.drop_index(op.f("ix_opportunities_organization_id_status_created_at"), table_name="opportunities")
    op.drop_index(op.f("ix_opportunities_organization_id_assignee_user_id_status"), table_name="opportunities")
    op.drop_table("opportunities")
    op.drop_index(op.f("ix_field_reports_organization_id_user_id_created_at"), table_name="field_reports")
    op.drop_index(op.f("ix_field_reports_organization_id_contact_id"), table_name="field_reports")
    op.drop_index(op.f("ix_field_reports_organization_id_action_id_created_at"), table_name="field_reports")
    op.drop_table("field_reports")
    op.drop_index(op.f("ix_action_volunteers_organization_id_user_id"), table_name="action_volunteers")
    op.drop_table("action_volunteers")
    op.drop_index(op.f("ix_action_targets_organization_id_contact_id"), table_name="action_targets")
    op.drop_index(op.f("ix_action_targets_organization_id_action_id_contact_id"), table_name="action_targets")
    op.drop_index("ix_action_targets_claim_status", table_name="action_targets")
    op.drop_index("ix_action_targets_claim_assignee", table_name="action_targets")
    op.drop_table("action_targets")
    op.drop_table("action_documents")
    op.drop_table("action_counters")
    op.drop_index(op.f("ix_zones_organization_id_code"), table_name="zones", postgresql_where="code IS NOT NULL")
    op.drop_geospatial_index("ix_zones_geom", table_name="zones", postgresql_using="gist", column_name="geom")
    op.drop_geospatial_table("zones")
    op.drop_table("surveys")
    op.drop_index(op.f("ix_opportunity_types_organization_id_name"), table_name="opportunity_types")
    op.drop_table("opportunity_types")
    op.drop_index(op.f("ix_actions_organization_id_starts_at"), table_name="actions")
    op.drop_geospatial_table("actions")

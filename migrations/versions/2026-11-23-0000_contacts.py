"""contacts

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 23:44:31.282117+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
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
    "contacts",
    "consent_log",
    "contact_events",
    "tags",
    "custom_field_defs",
    "segments",
    "imports",
    "import_rejects",
    "exports",
]


def upgrade() -> None:
    op.create_geospatial_table(
        "contacts",
        sa.Column("organization_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("first_name", sa.String(length=200), server_default="", nullable=False),
        sa.Column("last_name", sa.String(length=200), server_default="", nullable=False),
        sa.Column("mobile_e164", sa.String(length=20), nullable=True),
        sa.Column("mobile_raw", sa.String(length=64), nullable=True),
        sa.Column("mobile_invalid", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("home_e164", sa.String(length=20), nullable=True),
        sa.Column("home_raw", sa.String(length=64), nullable=True),
        sa.Column("home_invalid", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("street", sa.String(length=200), nullable=True),
        sa.Column("street_number", sa.String(length=20), nullable=True),
        sa.Column("building", sa.String(length=50), nullable=True),
        sa.Column("postal_code", sa.String(length=20), nullable=True),
        sa.Column("city", sa.String(length=120), nullable=True),
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.Column(
            "location",
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
        sa.Column("birth_year", sa.SmallInteger(), nullable=True),
        sa.Column("birth_date", sa.Date(), nullable=True),
        sa.Column("gender", sa.String(length=20), nullable=True),
        sa.Column("language", sa.String(length=10), nullable=True),
        sa.Column("support_level", sa.SmallInteger(), nullable=True),
        sa.Column("is_donor", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("is_volunteer", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("is_member", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("tags", postgresql.ARRAY(sa.Text()), server_default="{}", nullable=False),
        sa.Column("custom_fields", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False),
        sa.Column("source", sa.String(length=16), server_default="app", nullable=False),
        sa.Column("created_by", sa.UUID(), nullable=True),
        sa.Column("dnc_phone", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("dnc_sms", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("dnc_email", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("dnc_visit", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("consent_email", sa.String(length=10), nullable=True),
        sa.Column("consent_sms", sa.String(length=10), nullable=True),
        sa.Column("consent_phone", sa.String(length=10), nullable=True),
        sa.Column("consent_data_processing", sa.String(length=10), nullable=True),
        sa.Column("last_contacted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("import_id", sa.UUID(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "source IN ('app', 'import', 'petition', 'api', 'call', 'visit')", name=op.f("ck_contacts_source")
        ),
        sa.CheckConstraint("support_level BETWEEN 1 AND 5", name=op.f("ck_contacts_support_level")),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_contacts_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("organization_id", "id", name=op.f("pk_contacts")),
    )
    op.create_geospatial_index(
        "ix_contacts_location", "contacts", ["location"], unique=False, postgresql_using="gist", postgresql_ops={}
    )
    op.create_index(
        "ix_contacts_name_trgm",
        "contacts",
        [sa.literal_column("(lower(first_name || ' ' || last_name)) gin_trgm_ops")],
        unique=False,
        postgresql_using="gin",
    )
    op.create_index(
        op.f("ix_contacts_organization_id_city_street"), "contacts", ["organization_id", "city", "street"], unique=False
    )
    op.create_index(
        op.f("ix_contacts_organization_id_email"),
        "contacts",
        ["organization_id", "email"],
        unique=False,
        postgresql_where=sa.text("email IS NOT NULL"),
    )
    op.create_index(
        op.f("ix_contacts_organization_id_home_e164"),
        "contacts",
        ["organization_id", "home_e164"],
        unique=False,
        postgresql_where=sa.text("home_e164 IS NOT NULL"),
    )
    op.create_index(
        op.f("ix_contacts_organization_id_last_name_first_name_id"),
        "contacts",
        ["organization_id", "last_name", "first_name", "id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_contacts_organization_id_mobile_e164"),
        "contacts",
        ["organization_id", "mobile_e164"],
        unique=False,
        postgresql_where=sa.text("mobile_e164 IS NOT NULL"),
    )
    op.create_index(
        op.f("ix_contacts_organization_id_postal_code"), "contacts", ["organization_id", "postal_code"], unique=False
    )
    op.create_index("ix_contacts_tags", "contacts", ["tags"], unique=False, postgresql_using="gin")
    op.create_table(
        "custom_field_defs",
        sa.Column("organization_id", sa.UUID(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("type", sa.String(length=10), nullable=False),
        sa.Column("options", postgresql.ARRAY(sa.Text()), server_default="{}", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "type IN ('text', 'number', 'boolean', 'date', 'choice')", name=op.f("ck_custom_field_defs_type")
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_custom_field_defs_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("organization_id", "key", name=op.f("pk_custom_field_defs")),
    )
    op.create_table(
        "exports",
        sa.Column("organization_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("filter", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("columns", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("created_by", sa.UUID(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("downloaded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("row_count", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_exports_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("organization_id", "id", name=op.f("pk_exports")),
    )
    op.create_table(
        "imports",
        sa.Column("organization_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="queued", nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("file_path", sa.Text(), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("encoding", sa.String(length=20), nullable=False),
        sa.Column("delimiter", sa.String(length=1), nullable=False),
        sa.Column("mapping", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("default_tags", postgresql.ARRAY(sa.Text()), server_default="{}", nullable=False),
        sa.Column("consent_source", sa.Text(), nullable=True),
        sa.Column("consent_channels", postgresql.ARRAY(sa.Text()), server_default="{}", nullable=False),
        sa.Column("dedupe_policy", sa.String(length=8), server_default="update", nullable=False),
        sa.Column("rows_total", sa.Integer(), server_default="0", nullable=False),
        sa.Column("rows_done", sa.Integer(), server_default="0", nullable=False),
        sa.Column("created_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("updated_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("skipped_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("rejected_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_by", sa.UUID(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("dedupe_policy IN ('update', 'skip')", name=op.f("ck_imports_dedupe_policy")),
        sa.CheckConstraint(
            "status IN ('uploaded', 'queued', 'running', 'done', 'failed', 'cancelled')", name=op.f("ck_imports_status")
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_imports_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("organization_id", "id", name=op.f("pk_imports")),
    )
    op.create_index(
        op.f("ix_imports_organization_id_created_at"), "imports", ["organization_id", "created_at"], unique=False
    )
    op.create_table(
        "segments",
        sa.Column("organization_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("filter", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("created_by", sa.UUID(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_segments_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("organization_id", "id", name=op.f("pk_segments")),
    )
    op.create_index(op.f("ix_segments_organization_id_name"), "segments", ["organization_id", "name"], unique=True)
    op.create_table(
        "tags",
        sa.Column("organization_id", sa.UUID(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("color", sa.String(length=16), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_tags_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("organization_id", "name", name=op.f("pk_tags")),
    )
    op.create_table(
        "consent_log",
        sa.Column("organization_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("contact_id", sa.UUID(), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("proof", sa.Text(), nullable=True),
        sa.Column("recorded_by", sa.UUID(), nullable=True),
        sa.Column(
            "recorded_at", sa.DateTime(timezone=True), server_default=sa.text("clock_timestamp()"), nullable=False
        ),
        sa.CheckConstraint(
            "channel IN ('email', 'sms', 'phone', 'data_processing')", name=op.f("ck_consent_log_channel")
        ),
        sa.CheckConstraint("status IN ('granted', 'withdrawn')", name=op.f("ck_consent_log_status")),
        sa.ForeignKeyConstraint(
            ["organization_id", "contact_id"],
            ["contacts.organization_id", "contacts.id"],
            name=op.f("fk_consent_log_organization_id_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("organization_id", "id", name=op.f("pk_consent_log")),
    )
    op.create_index(
        op.f("ix_consent_log_organization_id_contact_id_channel_recorded_at"),
        "consent_log",
        ["organization_id", "contact_id", "channel", "recorded_at"],
        unique=False,
    )
    op.create_table(
        "contact_events",
        sa.Column("organization_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("contact_id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.text("clock_timestamp()"), nullable=False),
        sa.Column("actor_user_id", sa.UUID(), nullable=True),
        sa.Column("action_id", sa.UUID(), nullable=True),
        sa.Column("summary", sa.Text(), server_default="", nullable=False),
        sa.Column("data", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id", "contact_id"],
            ["contacts.organization_id", "contacts.id"],
            name=op.f("fk_contact_events_organization_id_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("organization_id", "id", name=op.f("pk_contact_events")),
    )
    op.create_index(
        op.f("ix_contact_events_organization_id_contact_id_at"),
        "contact_events",
        ["organization_id", "contact_id", "at"],
        unique=False,
    )
    op.create_table(
        "import_rejects",
        sa.Column("organization_id", sa.UUID(), nullable=False),
        sa.Column("import_id", sa.UUID(), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("raw", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id", "import_id"],
            ["imports.organization_id", "imports.id"],
            name=op.f("fk_import_rejects_organization_id_import_id_imports"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("organization_id", "import_id", "line_no", name=op.f("pk_import_rejects")),
    )
    for table in TENANT_TABLES:
        for stmt in enable_rls_sql(table):
            op.execute(stmt)
    # The consent log is append-only: rows are never rewritten (erasure deletes the contact, cascading).
    op.execute("""
        CREATE FUNCTION gg_consent_log_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'consent_log is append-only'; END $$""")
    op.execute(
        "CREATE TRIGGER consent_log_no_update BEFORE UPDATE ON consent_log "
        "FOR EACH ROW EXECUTE FUNCTION gg_consent_log_immutable()"
    )

    # The worker's sweeper finds imports to re-queue across organizations (row-level security hides them).
    op.execute("""
        CREATE FUNCTION gg_stale_imports(stale_seconds int)
        RETURNS TABLE (organization_id uuid, id uuid, heartbeat_at timestamptz)
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
            SELECT organization_id, id, heartbeat_at FROM imports
            WHERE (status = 'queued' AND created_at < now() - interval '5 minutes' AND heartbeat_at IS NULL)
               OR (status = 'running' AND heartbeat_at < now() - make_interval(secs => stale_seconds))
        $$""")


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS gg_stale_imports(int)")
    op.execute("DROP TRIGGER IF EXISTS consent_log_no_update ON consent_log")
    op.execute("DROP FUNCTION IF EXISTS gg_consent_log_immutable()")
    op.drop_table("import_rejects")
    op.drop_index(op.f("ix_contact_events_organization_id_contact_id_at"), table_name="contact_events")
    op.drop_table("contact_events")
    op.drop_index(op.f("ix_consent_log_organization_id_contact_id_channel_recorded_at"), table_name="consent_log")
    op.drop_table("consent_log")
    op.drop_table("tags")
    op.drop_index(op.f("ix_segments_organization_id_name"), table_name="segments")
    op.drop_table("segments")
    op.drop_index(op.f("ix_imports_organization_id_created_at"), table_name="imports")
    op.drop_table("imports")
    op.drop_table("exports")
    op.drop_table("custom_field_defs")
    op.drop_index("ix_contacts_tags", table_name="contacts", postgresql_using="gin")
    op.drop_index(op.f("ix_contacts_organization_id_postal_code"), table_name="contacts")
    op.drop_index(
        op.f("ix_contacts_organization_id_mobile_e164"),
        table_name="contacts",
        postgresql_where=sa.text("mobile_e164 IS NOT NULL"),
    )
    op.drop_index(op.f("ix_contacts_organization_id_last_name_first_name_id"), table_name="contacts")
    op.drop_index(
        op.f("ix_contacts_organization_id_home_e164"),
        table_name="contacts",
        postgresql_where=sa.text("home_e164 IS NOT NULL"),
    )
    op.drop_index(
        op.f("ix_contacts_organization_id_email"), table_name="contacts", postgresql_where=sa.text("email IS NOT NULL")
    )
    op.drop_index(op.f("ix_contacts_organization_id_city_street"), table_name="contacts")
    op.drop_index("ix_contacts_name_trgm", table_name="contacts", postgresql_using="gin")
    op.drop_geospatial_index(
        "ix_contacts_location", table_name="contacts", postgresql_using="gist", column_name="location"
    )
    op.drop_geospatial_table("contacts")

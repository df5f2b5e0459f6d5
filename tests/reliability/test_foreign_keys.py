"""Issue 13.1, the database's own wall: every reference between tenant tables is a composite foreign key
`(organization_id, x_id) → (organization_id, id)`, so a row of organization A naming an object of organization
B cannot be stored even by SQL that skips the application's checks."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import set_tenant
from app.models.base import TENANT_TABLES
from tests.reliability.conftest import Rel

# uuid columns of tenant tables that name another row without a foreign key, and why.
UNCONSTRAINED = {
    "created_by": "authorship: set from the caller, outlives the person's membership",
    "recorded_by": "authorship (consent log)",
    "uploaded_by": "authorship (documents)",
    "invited_by": "authorship (invitations)",
    "sent_by": "authorship (who sent a campaign; outlives the membership)",
    "actor_user_id": "authorship (timeline, audit log: append-only history)",
    ("field_reports", "user_id"): "authorship: who made the call or visit, kept after they leave",
    ("field_report_corrections", "user_id"): "authorship: who corrected the report, kept after they leave",
    ("opportunity_comments", "user_id"): "authorship of a comment",
    (
        "petition_signatures",
        "collected_by",
    ): "authorship: the volunteer who collected a signature, kept after they leave",
    ("audit_log", "actor_api_key_id"): "authorship: the key a request was made with (append-only, outlives the key)",
}

APPEND_ONLY = {"consent_log", "audit_log"}

FKS = """
SELECT c.conname, t.relname AS tbl, r.relname AS ref, c.condeferrable,
       array_agg(a.attname ORDER BY k.i) AS cols, array_agg(ra.attname ORDER BY k.i) AS ref_cols
FROM pg_constraint c
JOIN pg_class t ON t.oid = c.conrelid JOIN pg_class r ON r.oid = c.confrelid
CROSS JOIN LATERAL unnest(c.conkey, c.confkey) WITH ORDINALITY AS k(col, ref_col, i)
JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.col
JOIN pg_attribute ra ON ra.attrelid = c.confrelid AND ra.attnum = k.ref_col
WHERE c.contype = 'f' AND t.relnamespace = 'public'::regnamespace
GROUP BY c.conname, t.relname, r.relname, c.condeferrable
"""

UUID_COLUMNS = """
SELECT table_name, column_name FROM information_schema.columns
WHERE table_schema = 'public' AND data_type = 'uuid' AND column_name NOT IN ('id', 'organization_id')
"""


@pytest.fixture
def data(rel: Rel, db: AsyncSession) -> Rel:
    return rel


async def test_every_reference_between_tenant_tables_is_a_composite_key_with_the_organization(
    db: AsyncSession, data: Rel
) -> None:
    tenant = set(TENANT_TABLES) - {"organizations"}
    fks = (await db.execute(text(FKS))).all()
    covered = {(f.tbl, col) for f in fks for col in f.cols}
    failures = [
        f"{f.conname}: {f.cols} → {f.ref}{f.ref_cols}"
        for f in fks
        if f.tbl in tenant and f.ref in tenant and (f.cols[0], f.ref_cols[0]) != ("organization_id", "organization_id")
    ]
    for table, column in (await db.execute(text(UUID_COLUMNS))).all():
        if table not in tenant or (table, column) in covered:
            continue
        if column in UNCONSTRAINED or (table, column) in UNCONSTRAINED:
            continue
        failures.append(f"{table}.{column} names a row without a foreign key (or say why in UNCONSTRAINED)")
    assert not failures, "\n".join(failures)


async def test_sql_storing_another_organizations_id_fails_on_the_foreign_key(db: AsyncSession, data: Rel) -> None:
    """For each composite foreign key: one of A's rows, pointed in SQL at an object that exists, but in B."""
    a, b = data.world.org_a.id, data.world.org_b.id
    tenant = set(TENANT_TABLES) - {"organizations"}
    fks = [f for f in (await db.execute(text(FKS))).all() if f.tbl in tenant and f.ref in tenant and len(f.cols) == 2]
    checked, failures = [], []
    for f in fks:
        col, key = f.cols[1], f.ref_cols[1]
        await set_tenant(db, b)
        theirs = await db.scalar(text(f"SELECT {key} FROM {f.ref} WHERE organization_id = :b LIMIT 1"), {"b": b})
        await set_tenant(db, a)
        ctid = await db.scalar(text(f"SELECT ctid::text FROM {f.tbl} WHERE organization_id = :a LIMIT 1"), {"a": a})
        if theirs is None or ctid is None:
            continue
        # append-only tables refuse UPDATE: a copy of the row is inserted instead (a new bigint id)
        sql = (
            f"INSERT INTO {f.tbl} SELECT (jsonb_populate_record(NULL::{f.tbl}, to_jsonb(r) || jsonb_build_object("
            f"'{col}', CAST(:v AS text), 'id', (SELECT max(id) + 1 FROM {f.tbl})))).* FROM {f.tbl} r "
            "WHERE organization_id = :a AND ctid::text = :t"
            if f.tbl in APPEND_ONLY
            else f"UPDATE {f.tbl} SET {col} = :v WHERE organization_id = :a AND ctid::text = :t"
        )
        try:
            async with db.begin_nested():
                if f.condeferrable:
                    await db.execute(text(f"SET CONSTRAINTS {f.conname} IMMEDIATE"))
                await db.execute(text(sql), {"v": str(theirs), "a": a, "t": ctid})
            failures.append(f"{f.tbl}.{col} = B's {f.ref}.{key}: stored")
        except IntegrityError as e:
            if getattr(e.orig, "sqlstate", None) != "23503" or f.conname not in str(e.orig):
                failures.append(f"{f.tbl}.{col}: failed otherwise: {e.orig}")
            checked.append(f.conname)
    assert not failures, "\n".join(failures)
    # the world has a row on both sides of nearly every key; the new ones of this issue must all be exercised
    for name in (
        "fk_opportunities_organization_id_action_id_actions",
        "fk_opportunities_organization_id_report_id_field_reports",
        "fk_action_targets_organization_id_assignee_user_id_memberships",
        "fk_field_reports_organization_id_contact_id_contacts",
        "fk_survey_answers_organization_id_survey_id_surveys",
        "fk_contact_events_organization_id_action_id_actions",
        "fk_contacts_organization_id_import_id_imports",
    ):
        assert name in checked, f"{name} not exercised: {sorted(checked)}"
    assert len(checked) >= 30, sorted(checked)


async def test_a_random_id_fails_on_the_foreign_key_too(db: AsyncSession, data: Rel) -> None:
    a = data.world.org_a.id
    await set_tenant(db, a)
    with pytest.raises(IntegrityError) as e:
        async with db.begin_nested():
            await db.execute(
                text("UPDATE opportunities SET assignee_team_id = :t WHERE organization_id = :a"),
                {"t": uuid.uuid4(), "a": a},
            )
    assert "fk_opportunities_organization_id_assignee_team_id_teams" in str(e.value.orig)

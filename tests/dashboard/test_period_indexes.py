"""The organization's dashboard for a period reads field_reports and consent_log through an index on the time
(migration 0015), not by scanning the organization's every report.

The planner's choice depends on the table's statistics, and the shared test database holds whatever earlier
tests left. Each query is therefore planned over a temporary copy of the table with the same indexes
(`LIKE … INCLUDING INDEXES`), holding a year of one organization's rows, freshly analysed."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.dashboard.queries import REPORT_AT, reports_where
from app.dashboard.scope import Period, Scope

END = datetime(2026, 12, 1, tzinfo=UTC)
DAY = Period(start=END - timedelta(days=1), end=END)


def _indexes(plan: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(plan, dict):
        if "Index Name" in plan:
            found.add(plan["Index Name"])
        for v in plan.values():
            found |= _indexes(v)
    elif isinstance(plan, list):
        for v in plan:
            found |= _indexes(v)
    return found


async def _copy(db: AsyncSession, table: str, org: uuid.UUID, at: str, actions: list[uuid.UUID]) -> str:
    """A temporary copy of `table` with its indexes and 40,000 rows of `org` over the year before END."""
    copy = f"tmp_{table}"
    await db.execute(text(f"CREATE TEMP TABLE {copy} (LIKE {table} INCLUDING DEFAULTS INCLUDING INDEXES)"))
    columns = (
        await db.execute(
            text(
                "SELECT a.attname FROM pg_attribute a WHERE a.attrelid = CAST(:t AS regclass) AND a.attnum > 0"
                " AND a.attnotnull AND NOT a.attisdropped AND a.attname NOT IN ('organization_id', 'id')"
            ),
            {"t": copy},
        )
    ).scalars()
    for column in columns:  # the rows carry only what the plan reads
        await db.execute(text(f"ALTER TABLE {copy} ALTER COLUMN {column} DROP NOT NULL"))
    id_type = (
        await db.execute(
            text(
                "SELECT format_type(atttypid, NULL) FROM pg_attribute WHERE attrelid = CAST(:t AS regclass)"
                " AND attname = 'id'"
            ),
            {"t": copy},
        )
    ).scalar_one()
    new_id = "gen_random_uuid()" if id_type == "uuid" else "n"
    action = ", action_id" if actions else ""
    action_value = ", (CAST(:actions AS uuid[]))[1 + n % cardinality(CAST(:actions AS uuid[]))]" if actions else ""
    await db.execute(
        text(
            f"INSERT INTO {copy} (organization_id, id, {at}{action})"
            f" SELECT :o, {new_id}, CAST(:end AS timestamptz) - n * interval '789 seconds'{action_value}"
            " FROM generate_series(1, 40000) n"
        ),
        {"o": org, "end": END, **({"actions": actions} if actions else {})},
    )
    await db.execute(text(f"ANALYZE {copy}"))
    return copy


async def _index_columns(db: AsyncSession, copy: str, where: str, params: dict[str, Any], head: str) -> set[str]:
    """The column lists of the indexes the planner reads to run `head FROM copy WHERE where`."""
    row = (await db.execute(text(f"EXPLAIN (FORMAT JSON) {head} FROM {copy} {where}"), params)).scalar_one()
    names = _indexes(row if isinstance(row, list) else json.loads(row))
    defs = await db.execute(
        text("SELECT pg_get_indexdef(CAST(n AS regclass)) FROM unnest(CAST(:n AS text[])) n"), {"n": sorted(names)}
    )
    return {d.split(" USING btree ")[1] for d in defs.scalars()}


async def test_the_organization_dashboard_for_a_period_uses_the_time_indexes(db: AsyncSession) -> None:
    scope = Scope(organization_id=uuid.uuid4(), timezone="Europe/Bucharest", user_ids=None, team_ids=None)
    actions = [uuid.uuid4() for _ in range(20)]
    reports = await _copy(db, "field_reports", scope.organization_id, REPORT_AT, actions)
    where, p = reports_where(scope, DAY, None, at=REPORT_AT)
    read = await _index_columns(
        db, f"{reports} r", f"WHERE {where} GROUP BY 1, 2", p, "SELECT r.kind, r.outcome, count(*)"
    )
    assert read == {"(organization_id, recorded_at)"}
    consents = await _copy(db, "consent_log", scope.organization_id, "recorded_at", [])
    where, p = reports_where(scope, DAY, None, alias="l", at="recorded_at")
    read = await _index_columns(db, f"{consents} l", f"WHERE {where} GROUP BY 1", p, "SELECT l.source, count(*)")
    assert read == {"(organization_id, recorded_at)"}


async def test_opportunities_raised_in_a_period_or_by_an_action_are_read_by_index(db: AsyncSession) -> None:
    scope = Scope(organization_id=uuid.uuid4(), timezone="Europe/Bucharest", user_ids=None, team_ids=None)
    actions = [uuid.uuid4() for _ in range(20)]
    copy = await _copy(db, "opportunities", scope.organization_id, "created_at", actions)
    for action_id, columns in (
        (None, "(organization_id, created_at)"),
        (actions[0], "(organization_id, action_id, created_at)"),
    ):
        where, p = reports_where(scope, DAY, action_id, alias="op")
        assert await _index_columns(db, f"{copy} op", f"WHERE {where}", p, "SELECT count(*)") == {columns}

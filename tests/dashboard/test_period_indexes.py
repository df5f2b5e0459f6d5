"""The organization's dashboard for a period reads field_reports and consent_log through an index on the time
(migration 0015), not by scanning the organization's every report."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.dashboard.queries import REPORT_AT, reports_where
from app.dashboard.scope import Period, Scope


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


async def _plan(db: AsyncSession, sql: str, params: dict[str, Any]) -> set[str]:
    await db.execute(text("SET LOCAL enable_seqscan = off"))  # an empty test table: ask which index would serve
    row = (await db.execute(text(f"EXPLAIN (FORMAT JSON) {sql}"), params)).scalar_one()
    return _indexes(row if isinstance(row, list) else json.loads(row))


async def test_the_organization_dashboard_for_a_period_uses_the_time_indexes(db: AsyncSession) -> None:
    scope = Scope(organization_id=uuid.uuid4(), timezone="Europe/Bucharest", user_ids=None, team_ids=None)
    end = datetime(2026, 12, 1, tzinfo=UTC)
    period = Period(start=end - timedelta(days=1), end=end)
    where, p = reports_where(scope, period, None, at=REPORT_AT)
    reports = await _plan(db, f"SELECT r.kind, r.outcome, count(*) FROM field_reports r WHERE {where} GROUP BY 1, 2", p)
    assert "ix_field_reports_organization_id_recorded_at" in reports
    where, p = reports_where(scope, period, None, alias="l", at="recorded_at")
    consents = await _plan(db, f"SELECT l.source, count(*) FROM consent_log l WHERE {where} GROUP BY 1", p)
    assert "ix_consent_log_organization_id_recorded_at" in consents


async def test_opportunities_raised_in_a_period_or_by_an_action_are_read_by_index(db: AsyncSession) -> None:
    scope = Scope(organization_id=uuid.uuid4(), timezone="Europe/Bucharest", user_ids=None, team_ids=None)
    end = datetime(2026, 12, 1, tzinfo=UTC)
    for action_id, index in (
        (None, "ix_opportunities_organization_id_created_at"),
        (uuid.uuid4(), "ix_opportunities_organization_id_action_id_created_at"),
    ):
        where, p = reports_where(scope, Period(start=end - timedelta(days=1), end=end), action_id, alias="op")
        assert index in await _plan(db, f"SELECT count(*) FROM opportunities op WHERE {where}", p)

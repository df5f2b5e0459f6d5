"""Set-based SQL for the dashboard. Every statement starts from the organization (tenant scope, also enforced by
row-level security) and narrows to the viewer's users/teams; nothing loops over rows in Python."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.dashboard.scope import Period, Scope
from app.models.statuses import REACHED

REACHED_SQL = "(" + ", ".join(f"'{o}'" for o in sorted(REACHED)) + ")"
OPEN_TARGETS_SQL = "('pending', 'in_progress', 'callback')"
# A report's time is when it was recorded on the phone (bounded by the server), not when it was synced.
REPORT_AT = "recorded_at"


def reports_where(
    scope: Scope, period: Period, action_id: uuid.UUID | None, alias: str = "r", at: str = "created_at"
) -> tuple[str, dict[str, Any]]:
    """WHERE clause of the reports (or opportunities, contacts, consents: `at` names the time column) in scope."""
    conds = [f"{alias}.organization_id = :o"]
    params: dict[str, Any] = {"o": scope.organization_id}
    if action_id is not None:
        conds.append(f"{alias}.action_id = :a")
        params["a"] = action_id
    if period.start is not None:
        conds.append(f"{alias}.{at} >= :f")
        params["f"] = period.start
    if period.end is not None:
        conds.append(f"{alias}.{at} < :t")
        params["t"] = period.end
    return " AND ".join(conds), params


def _users(scope: Scope, column: str, params: dict[str, Any]) -> str:
    if scope.user_ids is None:
        return ""
    params["users"] = scope.user_list()
    return f" AND {column} = ANY(CAST(:users AS uuid[]))"


async def report_totals(
    session: AsyncSession, scope: Scope, period: Period, action_id: uuid.UUID | None
) -> dict[str, int]:
    """Same keys as the action counters: calls, visits, reached, mobilized, outcome:<x>."""
    where, p = reports_where(scope, period, action_id, at=REPORT_AT)
    where += _users(scope, "r.user_id", p)
    rows = (
        await session.execute(
            text(f"""
            SELECT r.kind, r.outcome, count(*) AS n, count(*) FILTER (WHERE r.mobilized) AS mob
            FROM field_reports r WHERE {where} GROUP BY r.kind, r.outcome"""),  # noqa: S608 - clauses built in code from constants; values are bound
            p,
        )
    ).all()
    return keyed_totals(rows)


def keyed_totals(rows: Iterable[Any]) -> dict[str, int]:
    """(kind, outcome, reports, mobilized) rows, however counted, as the action counters' keys: calls, visits,
    reached, mobilized, outcome:<x>."""
    out: dict[str, int] = {}
    for kind, outcome, n, mob in rows:
        n, mob = int(n), int(mob)
        out[f"{kind}s"] = out.get(f"{kind}s", 0) + n
        out[f"outcome:{outcome}"] = out.get(f"outcome:{outcome}", 0) + n
        if outcome in REACHED:
            out["reached"] = out.get("reached", 0) + n
        out["mobilized"] = out.get("mobilized", 0) + mob
    return out


async def counter_totals(session: AsyncSession, org: uuid.UUID, action_id: uuid.UUID | None) -> dict[str, int]:
    """The sharded live counters written with each report (a few rows per action, whatever its size)."""
    cond = "AND action_id = :a" if action_id is not None else ""
    rows = (
        await session.execute(
            text(f"SELECT key, sum(value) FROM action_counters WHERE organization_id = :o {cond} GROUP BY key"),  # noqa: S608 - clauses built in code from constants; values are bound
            {"o": org, "a": action_id},
        )
    ).all()
    return {k: int(v) for k, v in rows}


async def support(
    session: AsyncSession, scope: Scope, period: Period, action_id: uuid.UUID | None
) -> tuple[dict[str, int], int]:
    """Distinct people reached, by current support level; and how many of them are donors."""
    where, p = reports_where(scope, period, action_id, at=REPORT_AT)
    where += _users(scope, "r.user_id", p)
    rows = (
        await session.execute(
            text(f"""
            SELECT c.support_level, count(*) AS n, count(*) FILTER (WHERE c.is_donor) AS donors
            FROM contacts c
            WHERE c.organization_id = :o AND c.id IN (
                SELECT r.contact_id FROM field_reports r
                WHERE {where} AND r.outcome IN {REACHED_SQL} AND r.contact_id IS NOT NULL)
            GROUP BY c.support_level"""),  # noqa: S608 - clauses built in code from constants; values are bound
            p,
        )
    ).all()
    levels = {("unknown" if lvl is None else str(lvl)): n for lvl, n, _ in rows}
    return levels, sum(d for *_, d in rows)


async def series(
    session: AsyncSession, scope: Scope, period: Period, action_id: uuid.UUID | None, bucket: str
) -> list[dict[str, Any]]:
    where, p = reports_where(scope, period, action_id, at=REPORT_AT)
    where += _users(scope, "r.user_id", p)
    p.update(tz=scope.timezone, bucket=bucket)
    rows = await session.execute(
        text(f"""
        SELECT date_trunc(:bucket, r.recorded_at AT TIME ZONE :tz) AT TIME ZONE :tz AS at,
               count(*) FILTER (WHERE r.kind = 'call') AS calls, count(*) FILTER (WHERE r.kind = 'visit') AS visits,
               count(*) FILTER (WHERE r.outcome IN {REACHED_SQL}) AS reached,
               count(*) FILTER (WHERE r.mobilized) AS mobilized
        FROM field_reports r WHERE {where} GROUP BY 1 ORDER BY 1"""),  # noqa: S608 - clauses built in code from constants; values are bound
        p,
    )
    return [dict(r._mapping) for r in rows]


async def survey_results(
    session: AsyncSession, scope: Scope, period: Period, action_id: uuid.UUID | None
) -> list[dict[str, Any]]:
    where, p = reports_where(scope, period, action_id, at=REPORT_AT)
    where += _users(scope, "r.user_id", p)
    counted = f"""
        SELECT a.survey_id, a.question_id, a.value, count(*) AS n
        FROM field_reports r
        JOIN survey_answers a ON a.organization_id = r.organization_id AND a.report_id = r.id
        WHERE {where} GROUP BY 1, 2, 3"""  # noqa: S608 - clauses built in code from constants; values are bound
    return await survey_figures(session, counted, p)


async def survey_figures(session: AsyncSession, counted: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    """Each question's answers with their counts, from `counted` (survey_id, question_id, value, n; however they
    were counted), the question labelled from its survey's current version. `params` binds :o."""
    rows = await session.execute(
        text(f"""
        WITH counted AS ({counted})
        SELECT c.survey_id, c.question_id, c.value, c.n,
               (SELECT q->>'label' FROM surveys s
                JOIN survey_versions v ON v.organization_id = s.organization_id AND v.survey_id = s.id
                     AND v.version = s.current_version,
                jsonb_array_elements(v.questions) q
                WHERE s.organization_id = :o AND s.id = c.survey_id AND q->>'id' = c.question_id LIMIT 1) AS label
        FROM counted c ORDER BY c.survey_id, c.question_id, c.n DESC, c.value::text"""),  # noqa: S608 - clauses built in code from constants; values are bound
        params,
    )
    out: dict[tuple[uuid.UUID, str], dict[str, Any]] = {}
    for survey_id, qid, value, n, label in rows:
        q = out.setdefault(
            (survey_id, qid), {"survey_id": survey_id, "question_id": qid, "label": label, "answered": 0, "answers": []}
        )
        q["answered"] += n
        q["answers"].append({"value": value, "count": n})
    return list(out.values())


async def opportunities(
    session: AsyncSession, scope: Scope, period: Period, action_id: uuid.UUID | None
) -> tuple[int, int]:
    where, p = reports_where(scope, period, action_id, alias="op")
    where += _users(scope, "op.created_by", p)
    row = (
        await session.execute(
            text(f"""
            SELECT count(*), count(*) FILTER (WHERE op.status IN ('open', 'in_progress'))
            FROM opportunities op WHERE {where}"""),  # noqa: S608 - clauses built in code from constants; values are bound
            p,
        )
    ).one()
    return int(row[0]), int(row[1])


async def targets(session: AsyncSession, scope: Scope, action_id: uuid.UUID | None) -> tuple[int, int]:
    """Targets and targets left, of one action or of the scope's scheduled and active actions. The total is the
    actions' `target_count` (kept by targeting); the targets left are each action's open count (target_rollups, kept by
    the targets' triggers: migration 0027)."""
    p: dict[str, Any] = {"o": scope.organization_id}
    if action_id is not None:
        acts = "a.id = :a"
        p["a"] = action_id
    else:
        acts = "a.status IN ('scheduled', 'active')"
        if scope.team_ids is not None:
            acts += " AND a.id IN (SELECT action_id FROM action_teams WHERE organization_id = :o"
            acts += " AND team_id = ANY(CAST(:teams AS uuid[])))"
            p["teams"] = sorted(scope.team_ids)
    row = (
        await session.execute(
            text(f"""
            SELECT coalesce(sum(a.target_count), 0),
                   coalesce(sum((SELECT sum(t.open) FROM target_rollups t
                                 WHERE t.organization_id = :o AND t.action_id = a.id)), 0)
            FROM actions a WHERE a.organization_id = :o AND {acts}"""),  # noqa: S608 - clauses built in code from constants; values are bound
            p,
        )
    ).one()
    return int(row[0]), int(row[1])


def _of_action(action_id: uuid.UUID | None, column: str, p: dict[str, Any]) -> str:
    """For an action: only the people its reports are about."""
    if action_id is None:
        return ""
    p["a"] = action_id
    return (
        f" AND {column} IN (SELECT r.contact_id FROM field_reports r"  # noqa: S608 - clauses built in code from constants; values are bound
        " WHERE r.organization_id = :o AND r.action_id = :a AND r.contact_id IS NOT NULL)"
    )


async def contacts_added(
    session: AsyncSession, scope: Scope, period: Period, action_id: uuid.UUID | None
) -> list[dict[str, Any]]:
    where, p = reports_where(scope, period, None, alias="c")
    where += _users(scope, "c.created_by", p)
    if action_id is not None:  # added by the action: created in the field by the reporter of one of its reports
        p["a"] = action_id
        where += (
            " AND EXISTS (SELECT 1 FROM field_reports r WHERE r.organization_id = :o AND r.action_id = :a"
            " AND r.contact_id = c.id AND r.kind = c.source AND r.user_id = c.created_by)"
        )
    rows = await session.execute(
        text(f"SELECT c.source, count(*) AS count FROM contacts c WHERE {where} GROUP BY 1 ORDER BY 2 DESC, 1"),  # noqa: S608 - clauses built in code; values bound
        p,
    )
    return [dict(r._mapping) for r in rows]


async def consents_given(
    session: AsyncSession, scope: Scope, period: Period, action_id: uuid.UUID | None
) -> list[dict[str, Any]]:
    where, p = reports_where(scope, period, None, alias="l", at="recorded_at")
    where += _users(scope, "l.recorded_by", p) + _of_action(action_id, "l.contact_id", p)
    rows = await session.execute(
        text(f"""
        SELECT l.source, l.channel, count(*) AS count FROM consent_log l
        WHERE {where} AND l.status = 'granted' GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2"""),  # noqa: S608 - clauses built in code from constants; values are bound
        p,
    )
    return [dict(r._mapping) for r in rows]


async def report_extras(
    session: AsyncSession, scope: Scope, period: Period, action_id: uuid.UUID | None
) -> dict[str, int]:
    """The counters' other keys, counted from reports: opportunities (reports that raised one) and support:<level>
    (reached reports by the contact's current level)."""
    where, p = reports_where(scope, period, action_id, at=REPORT_AT)
    where += _users(scope, "r.user_id", p)
    rows = (
        await session.execute(
            text(f"""
            SELECT 'support:' || c.support_level AS k, count(*) AS n
            FROM field_reports r JOIN contacts c ON c.organization_id = r.organization_id AND c.id = r.contact_id
            WHERE {where} AND r.outcome IN {REACHED_SQL} AND c.support_level IS NOT NULL GROUP BY 1
            UNION ALL
            SELECT 'opportunities', count(*) FROM field_reports r
            WHERE {where} AND jsonb_array_length(coalesce(r.response->'opportunity_ids', '[]')) > 0"""),  # noqa: S608 - clauses built in code from constants; values are bound
            p,
        )
    ).all()
    return {k: int(n) for k, n in rows if n}

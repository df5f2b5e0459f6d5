"""Leaderboards: volunteers or teams ranked by one metric over a period (and an action), in the viewer's scope."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.principal import Principal
from app.core import pagination
from app.dashboard import rollups
from app.dashboard.queries import reports_where
from app.dashboard.schemas import Leaderboard, LeaderRow, Metric
from app.dashboard.scope import period, viewer_scope

METRICS: tuple[str, ...] = ("calls", "visits", "reached", "mobilized", "opportunities")


async def leaderboard(
    session: AsyncSession,
    *,
    actor: Principal,
    by: Literal["volunteers", "teams"],
    metric: Metric,
    action_id: uuid.UUID | None,
    start: datetime | None,
    end: datetime | None,
    team_id: uuid.UUID | None,
    limit: int,
    cursor: str | None,
) -> Leaderboard:
    """One page of the ranking. A board is an aggregate ranked afresh on each request: the cursor holds the
    last rank shown, and the next page starts after it."""
    (after,) = pagination.after(cursor, _rank) or [0]
    scope = await viewer_scope(session, actor, team_id=team_id)
    p = period(scope, start, end)
    reports, r_params = rollups.reports_per_user(scope, p, action_id)
    o_where, params = reports_where(scope, p, action_id, alias="op")
    params.update(r_params)  # the same scope's values under the same names (o, a, users)
    users = ""
    if scope.user_ids is not None:
        params["users"] = scope.user_list()
        users = "AND {col} = ANY(CAST(:users AS uuid[]))"
    per_user = f"""
        per_user AS (
            SELECT user_id, sum(calls) AS calls, sum(visits) AS visits, sum(reached) AS reached,
                   sum(mobilized) AS mobilized, sum(opportunities) AS opportunities
            FROM (
                SELECT user_id, calls, visits, reached, mobilized, 0 AS opportunities FROM ({reports}) r
                UNION ALL
                SELECT op.created_by, 0, 0, 0, 0, count(*) FROM opportunities op
                WHERE {o_where} AND op.created_by IS NOT NULL {users.format(col="op.created_by")}
                GROUP BY op.created_by
            ) x GROUP BY user_id)"""  # noqa: S608 - clauses built in code from constants; values are bound
    sums = ", ".join(f"coalesce(sum(pu.{m}), 0)::int AS {m}" for m in METRICS)
    params.update(limit=limit + 1, after=after)
    if by == "volunteers":
        sql = f"""
            WITH {per_user}
            SELECT * FROM (
              SELECT NULL::uuid AS team_id, pu.user_id, coalesce(nullif(u.full_name, ''), u.email) AS name,
                     {", ".join(f"pu.{m}::int AS {m}" for m in METRICS)},
                     row_number() OVER (ORDER BY pu.{metric} DESC, coalesce(nullif(u.full_name, ''), u.email),
                                        pu.user_id) AS rank,
                     count(*) OVER () AS total
              FROM per_user pu JOIN users u ON u.id = pu.user_id) ranked
            WHERE rank > :after ORDER BY rank LIMIT :limit"""  # noqa: S608 - clauses built in code from constants; values are bound
    else:
        teams = ""
        if scope.team_ids is not None:
            params["teams"] = sorted(scope.team_ids)
            teams = "AND t.id = ANY(CAST(:teams AS uuid[]))"
        sql = f"""
            WITH {per_user}
            SELECT * FROM (
              SELECT t.id AS team_id, NULL::uuid AS user_id, t.name AS name, {sums},
                     row_number() OVER (ORDER BY coalesce(sum(pu.{metric}), 0) DESC, t.name, t.id) AS rank,
                     count(*) OVER () AS total
              FROM teams t
              LEFT JOIN team_members tm ON tm.organization_id = t.organization_id AND tm.team_id = t.id
              LEFT JOIN per_user pu ON pu.user_id = tm.user_id
              WHERE t.organization_id = :o {teams}
              GROUP BY t.id, t.name) ranked
            WHERE rank > :after ORDER BY rank LIMIT :limit"""  # noqa: S608 - clauses built in code from constants; values are bound
    rows = list((await session.execute(text(sql), params)).mappings().all())
    page, nxt = pagination.cut(rows, limit, lambda r: [r["rank"]])
    total = rows[0]["total"] if rows else (await _count(session, sql, params) if after else 0)
    return Leaderboard(by=by, metric=metric, items=[LeaderRow(**_row(r)) for r in page], next_cursor=nxt, total=total)


async def _count(session: AsyncSession, sql: str, params: dict[str, Any]) -> int:
    """The total when a cursor points past the last row (the page itself is empty)."""
    row = (await session.execute(text(sql), {**params, "after": 0, "limit": 1})).mappings().first()
    return int(row["total"]) if row else 0


def _rank(v: Any) -> int:
    if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v <= 2**31:
        raise ValueError("not a rank")
    return v


def _row(r: Any) -> dict[str, Any]:
    return {k: v for k, v in dict(r).items() if k != "total"}

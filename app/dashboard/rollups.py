"""The dashboard's figures from the rollups (migration 0027, app/models/rollup.py), equal to the recount of the raw
rows (app/dashboard/queries.py) for every scope and period:

- a period is split into the whole UTC hours it covers, summed from the hourly rollups, and its edges (the part of
  an hour before its first whole hour and after its last), counted from the raw rows through the period indexes;
- the time series sums the rollups' hours into the organization's hour or day buckets, which is exact when every
  UTC hour lies in one local hour: a time zone with a :30 or :45 offset is counted from the raw rows;
- the people reached, by their current support level: contacts whose last reach is in the period, which answers
  "reached since" (no end) for the whole organization and every action; a period with an end, an action or a
  team leader's scope (reached by whom) is counted from the raw rows;
- contacts added and consents given by an action (the people of its reports) are counted from the raw rows.

Each function answers like its namesake in queries.py, which it calls when the rollups cannot answer."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.dashboard import queries
from app.dashboard.queries import REACHED_SQL
from app.dashboard.scope import Period, Scope

HOUR = timedelta(hours=1)


@dataclass(frozen=True)
class Split:
    """`hours`: the whole UTC hours [start, end) of the period the rollups serve (a None bound is open), or None
    when it covers no whole hour; `edges`: the ranges counted from the raw rows."""

    hours: tuple[datetime | None, datetime | None] | None
    edges: tuple[tuple[datetime, datetime], ...]


def _floor(t: datetime) -> datetime:
    return t.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def split(p: Period) -> Split:
    hs = None if p.start is None else _floor(p.start) + (HOUR if _floor(p.start) < p.start else timedelta(0))
    he = None if p.end is None else _floor(p.end)
    if p.start is not None and p.end is not None and hs is not None and he is not None and hs >= he:
        return Split(None, ((p.start, p.end),))
    edges = []
    if p.start is not None and hs is not None and p.start < hs:
        edges.append((p.start, hs))
    if p.end is not None and he is not None and he < p.end:
        edges.append((he, p.end))
    return Split((hs, he), tuple(edges))


@lru_cache(maxsize=256)
def hour_aligned(tzname: str) -> bool:
    """Whether the zone's offset is a whole number of hours, sampled weekly from 2000 to 2060 (every zone's
    offsets since then and its rules' changes): then each UTC hour is one local hour."""
    tz = ZoneInfo(tzname)
    t = datetime(2000, 1, 1, tzinfo=UTC)
    while t.year < 2060:
        off = t.astimezone(tz).utcoffset()
        if off is None or off.total_seconds() % 3600:
            return False
        t += timedelta(days=7)
    return True


def _ceil_day(t: datetime) -> datetime:
    d = t.replace(hour=0)
    return d if d == t else d + timedelta(days=1)


def whole_days(hs: datetime | None, he: datetime | None) -> tuple[datetime | None, datetime | None] | None:
    """The whole UTC days [start, end) within the whole hours [hs, he) (None bounds open), or None if none."""
    ds = None if hs is None else _ceil_day(hs)
    de = None if he is None else he.replace(hour=0)
    if ds is not None and de is not None and ds >= de:
        return None
    return ds, de


class _Parts:
    """The pieces of one figure: the rollup tables' (daily, then hourly) and the raw rows', each a WHERE clause,
    sharing one set of parameters."""

    def __init__(
        self,
        scope: Scope,
        p: Period,
        action_id: uuid.UUID | None,
        *,
        table: str,
        user_col: str,
        raw_user_col: str,
        raw_at: str,
        daily: str | None = None,
    ) -> None:
        self.params: dict[str, Any] = {"o": scope.organization_id}
        s = split(p)
        common = ""
        raw_common = ""
        if action_id is not None:
            self.params["a"] = action_id
            common += " AND x.action_id = :a"
            raw_common += " AND r.action_id = :a"
        if scope.user_ids is not None:
            self.params["users"] = scope.user_list()
            common += f" AND x.{user_col} = ANY(CAST(:users AS uuid[]))"
            raw_common += f" AND r.{raw_user_col} = ANY(CAST(:users AS uuid[]))"
        self.pieces: list[tuple[str, str]] = []  # (table, WHERE)
        if s.hours is not None:
            hs, he = s.hours
            days = whole_days(hs, he) if daily is not None else None
            hour_ranges: list[tuple[datetime | None, datetime | None]] = [(hs, he)]
            if days is not None and daily is not None:
                self.pieces.append((daily, "x.organization_id = :o" + common + self._range("x.day_at", "d", *days)))
                hour_ranges = [(hs, days[0])] if days[0] is not None and hs is not None and hs < days[0] else []
                if days[1] is not None and he is not None and days[1] < he:
                    hour_ranges.append((days[1], he))
            ors = [
                self._range("x.hour_at", f"h{i}", f, t).removeprefix(" AND ") or "true"
                for i, (f, t) in enumerate(hour_ranges)
            ]
            if ors:
                self.pieces.append((table, "x.organization_id = :o" + common + f" AND ({' OR '.join(ors)})"))
        self.raw: str | None = None
        if s.edges:
            edges = []
            for i, (f, t) in enumerate(s.edges):
                self.params[f"ef{i}"], self.params[f"et{i}"] = f, t
                edges.append(f"(r.{raw_at} >= :ef{i} AND r.{raw_at} < :et{i})")
            self.raw = f"r.organization_id = :o{raw_common} AND ({' OR '.join(edges)})"

    def _range(self, col: str, name: str, f: datetime | None, t: datetime | None) -> str:
        out = ""
        if f is not None:
            self.params[f"{name}f"] = f
            out += f" AND {col} >= :{name}f"
        if t is not None:
            self.params[f"{name}t"] = t
            out += f" AND {col} < :{name}t"
        return out

    def union(self, rollup_sql: str, raw_sql: str) -> str:
        """`rollup_sql` ({table} and {where} filled in for each rollup piece) and `raw_sql` ({where}), UNION ALL."""
        parts = [rollup_sql.format(table=t, where=w) for t, w in self.pieces]
        if self.raw is not None:
            parts.append(raw_sql.format(where=self.raw))
        return " UNION ALL ".join(parts)


def _reports(scope: Scope, p: Period, action_id: uuid.UUID | None) -> _Parts:
    return _Parts(
        scope,
        p,
        action_id,
        table="report_rollups",
        user_col="user_id",
        raw_user_col="user_id",
        raw_at=queries.REPORT_AT,
    )


async def report_totals(session: AsyncSession, scope: Scope, p: Period, action_id: uuid.UUID | None) -> dict[str, int]:
    parts = _reports(scope, p, action_id)
    u = parts.union(
        "SELECT x.kind, x.outcome, x.reports AS n, x.mobilized AS mob FROM {table} x WHERE {where}",
        "SELECT r.kind, r.outcome, 1 AS n, CASE WHEN r.mobilized THEN 1 ELSE 0 END AS mob FROM field_reports r"
        " WHERE {where}",
    )
    rows = (
        await session.execute(
            text(f"SELECT kind, outcome, sum(n), sum(mob) FROM ({u}) u GROUP BY 1, 2 HAVING sum(n) > 0"),  # noqa: S608 - clauses built in code from constants; values are bound
            parts.params,
        )
    ).all()
    return queries.keyed_totals(rows)


async def series(
    session: AsyncSession, scope: Scope, p: Period, action_id: uuid.UUID | None, bucket: str
) -> list[dict[str, Any]]:
    if not hour_aligned(scope.timezone):
        return await queries.series(session, scope, p, action_id, bucket)
    parts = _reports(scope, p, action_id)
    parts.params.update(tz=scope.timezone, bucket=bucket)
    u = parts.union(
        "SELECT date_trunc(:bucket, x.hour_at AT TIME ZONE :tz) AT TIME ZONE :tz AS at, x.kind, x.outcome,"
        " x.reports AS n, x.mobilized AS mob FROM {table} x WHERE {where}",
        "SELECT date_trunc(:bucket, r.recorded_at AT TIME ZONE :tz) AT TIME ZONE :tz AS at, r.kind, r.outcome, 1 AS n,"
        " CASE WHEN r.mobilized THEN 1 ELSE 0 END AS mob FROM field_reports r WHERE {where}",
    )
    rows = await session.execute(
        text(f"""
        SELECT at, coalesce(sum(n) FILTER (WHERE kind = 'call'), 0)::bigint AS calls,
               coalesce(sum(n) FILTER (WHERE kind = 'visit'), 0)::bigint AS visits,
               coalesce(sum(n) FILTER (WHERE outcome IN {REACHED_SQL}), 0)::bigint AS reached,
               sum(mob)::bigint AS mobilized
        FROM ({u}) u GROUP BY 1 HAVING sum(n) > 0 ORDER BY 1"""),  # noqa: S608 - clauses built in code from constants; values are bound
        parts.params,
    )
    return [dict(r._mapping) for r in rows]


async def survey_results(
    session: AsyncSession, scope: Scope, p: Period, action_id: uuid.UUID | None
) -> list[dict[str, Any]]:
    parts = _Parts(
        scope,
        p,
        action_id,
        table="survey_rollups",
        user_col="user_id",
        raw_user_col="user_id",
        raw_at=queries.REPORT_AT,
    )
    u = parts.union(
        "SELECT x.survey_id, x.question_id, x.value, x.answers AS n FROM {table} x WHERE {where}",
        "SELECT a.survey_id, a.question_id, a.value, 1 AS n FROM field_reports r"
        " JOIN survey_answers a ON a.organization_id = r.organization_id AND a.report_id = r.id WHERE {where}",
    )
    counted = (
        f"SELECT survey_id, question_id, value, sum(n)::bigint AS n FROM ({u}) u"  # noqa: S608 - clauses built in code from constants; values are bound
        " GROUP BY 1, 2, 3 HAVING sum(n) > 0"
    )
    return await queries.survey_figures(session, counted, parts.params)


async def contacts_added(
    session: AsyncSession, scope: Scope, p: Period, action_id: uuid.UUID | None
) -> list[dict[str, Any]]:
    if action_id is not None:
        return await queries.contacts_added(session, scope, p, action_id)
    parts = _Parts(
        scope,
        p,
        None,
        table="contact_rollups",
        daily="contact_rollups_daily",
        user_col="created_by",
        raw_user_col="created_by",
        raw_at="created_at",
    )
    u = parts.union(
        "SELECT x.source, x.contacts AS n FROM {table} x WHERE {where}",
        "SELECT r.source, 1 AS n FROM contacts r WHERE {where}",
    )
    rows = await session.execute(
        text(f"SELECT source, sum(n)::bigint AS count FROM ({u}) u GROUP BY 1 HAVING sum(n) > 0 ORDER BY 2 DESC, 1"),  # noqa: S608 - clauses built in code; values bound
        parts.params,
    )
    return [dict(r._mapping) for r in rows]


async def consents_given(
    session: AsyncSession, scope: Scope, p: Period, action_id: uuid.UUID | None
) -> list[dict[str, Any]]:
    if action_id is not None:
        return await queries.consents_given(session, scope, p, action_id)
    parts = _Parts(
        scope,
        p,
        None,
        table="consent_rollups",
        daily="consent_rollups_daily",
        user_col="recorded_by",
        raw_user_col="recorded_by",
        raw_at="recorded_at",
    )
    u = parts.union(
        "SELECT x.source, x.channel, x.consents AS n FROM {table} x WHERE {where}",
        "SELECT r.source, r.channel, 1 AS n FROM consent_log r WHERE {where} AND r.status = 'granted'",
    )
    rows = await session.execute(
        text(f"""
        SELECT source, channel, sum(n)::bigint AS count FROM ({u}) u
        GROUP BY 1, 2 HAVING sum(n) > 0 ORDER BY 3 DESC, 1, 2"""),  # noqa: S608 - clauses built in code from constants; values are bound
        parts.params,
    )
    return [dict(r._mapping) for r in rows]


async def support(
    session: AsyncSession, scope: Scope, p: Period, action_id: uuid.UUID | None
) -> tuple[dict[str, int], int]:
    """Reached since `from` (or ever), by anyone, in any action: the contacts whose last reach is that late."""
    if not scope.whole_org or action_id is not None or p.end is not None:
        return await queries.support(session, scope, p, action_id)
    params: dict[str, Any] = {"o": scope.organization_id}
    s = split(p)
    assert s.hours is not None
    rollup = "SELECT support_level AS lvl, is_donor, contacts AS n FROM reach_rollups WHERE organization_id = :o"
    if s.hours[0] is not None:
        params["hs"] = s.hours[0]
        rollup += " AND hour_at >= :hs"
    u = rollup
    if s.edges:
        params["f"], params["ft"] = s.edges[0]
        u += (
            " UNION ALL SELECT coalesce(support_level, 0), is_donor, 1 FROM contact_reach"
            " WHERE organization_id = :o AND last_reached_at >= :f AND last_reached_at < :ft"
        )
    rows = (
        await session.execute(
            text(f"""
            SELECT lvl, sum(n)::bigint, coalesce(sum(n) FILTER (WHERE is_donor), 0)::bigint
            FROM ({u}) u GROUP BY 1 HAVING sum(n) > 0"""),  # noqa: S608 - clauses built in code from constants; values are bound
            params,
        )
    ).all()
    levels = {("unknown" if lvl == 0 else str(lvl)): int(n) for lvl, n, _ in rows}
    return levels, sum(int(d) for *_, d in rows)


def reports_per_user(scope: Scope, p: Period, action_id: uuid.UUID | None) -> tuple[str, dict[str, Any]]:
    """SELECT user_id, calls, visits, reached, mobilized (bigint) of each reporter with reports in the period: the
    leaderboards' report part, and its parameters."""
    parts = _reports(scope, p, action_id)
    u = parts.union(
        "SELECT x.user_id, x.kind, x.outcome, x.reports AS n, x.mobilized AS mob FROM {table} x WHERE {where}",
        "SELECT r.user_id, r.kind, r.outcome, 1 AS n, CASE WHEN r.mobilized THEN 1 ELSE 0 END AS mob"
        " FROM field_reports r WHERE {where}",
    )
    sql = f"""
        SELECT user_id, coalesce(sum(n) FILTER (WHERE kind = 'call'), 0)::bigint AS calls,
               coalesce(sum(n) FILTER (WHERE kind = 'visit'), 0)::bigint AS visits,
               coalesce(sum(n) FILTER (WHERE outcome IN {REACHED_SQL}), 0)::bigint AS reached,
               sum(mob)::bigint AS mobilized
        FROM ({u}) u GROUP BY user_id HAVING sum(n) > 0"""  # noqa: S608 - clauses built in code from constants; values are bound
    return sql, parts.params

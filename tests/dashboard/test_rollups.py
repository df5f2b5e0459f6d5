"""The dashboard's figures from the rollups (app/dashboard/rollups.py) equal the recount of the raw rows
(app/dashboard/queries.py, and a bare count of the open targets) for random periods, scopes, actions and buckets,
over a generated world spread across hours, days, users, teams and actions, in a whole-hour time zone and in one
with a :30 offset; after each write path the triggers take (corrections, moves, deletions, erasures, merges, level
changes, target progress), and the migration's rebuild finds the rows the triggers kept."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import set_tenant
from app.dashboard import queries, rollups, service
from app.dashboard.schemas import ConsentCount, QuestionFigures, SeriesPoint, SourceCount
from app.dashboard.scope import Period, Scope
from app.models import Organization
from tests.fixtures.factories import make_actor, make_org

OUTCOMES = {"call": ("answered", "absent", "refused", "wrong_number"), "visit": ("opened", "not_home")}
SOURCES = ("app", "import", "petition", "api", "call", "visit")
TARGET_STATUSES = ("pending", "in_progress", "callback", "done", "closed")
NOW = datetime.now(UTC).replace(microsecond=0)
START = NOW - timedelta(days=3)


@dataclass
class World:
    org: uuid.UUID
    tz: str
    users: list[uuid.UUID]
    actions: list[uuid.UUID]
    contacts: list[uuid.UUID]
    survey: uuid.UUID


def _at(rng: random.Random) -> datetime:
    return START + timedelta(seconds=rng.randrange(int((NOW - START).total_seconds())))


async def build(db: AsyncSession, tz: str, seed: int, n_reports: int = 260) -> World:
    rng = random.Random(seed)
    org = await make_org(db)
    users = [(await make_actor(db, org, "volunteer")).user_id for _ in range(4)]
    await set_tenant(db, org.id)
    await db.execute(text("UPDATE organizations SET timezone = :tz WHERE id = :o"), {"tz": tz, "o": org.id})
    o = {"o": org.id}
    survey = uuid.uuid4()
    await db.execute(text("INSERT INTO surveys (organization_id, id, title) VALUES (:o, :s, 'S')"), {**o, "s": survey})
    await db.execute(
        text(
            "INSERT INTO survey_versions (organization_id, survey_id, version, questions) VALUES (:o, :s, 1,"
            " CAST(:q AS jsonb))"
        ),
        {**o, "s": survey, "q": '[{"id": "q1", "label": "One"}, {"id": "q2", "label": "Two"}]'},
    )
    actions = [uuid.uuid4() for _ in range(3)]
    for i, a in enumerate(actions):
        await db.execute(
            text("INSERT INTO actions (organization_id, id, type, title, status) VALUES (:o, :a, :t, 'A', :st)"),
            {**o, "a": a, "t": "call" if i != 1 else "door_to_door", "st": ("active", "active", "draft")[i]},
        )
    contacts = [uuid.uuid4() for _ in range(60)]
    await db.execute(
        text(
            "INSERT INTO contacts (organization_id, id, source, created_by, created_at, support_level, is_donor)"
            " SELECT :o, x.id, x.src, x.by, x.at, x.lvl, x.donor FROM jsonb_to_recordset(CAST(:rows AS jsonb))"
            " AS x(id uuid, src text, by uuid, at timestamptz, lvl smallint, donor boolean)"
        ),
        {
            **o,
            "rows": _json(
                [
                    {
                        "id": c,
                        "src": rng.choice(SOURCES),
                        "by": rng.choice([*users, None]),
                        "at": _at(rng),
                        "lvl": rng.choice([1, 2, 3, 4, 5, None]),
                        "donor": rng.random() < 0.3,
                    }
                    for c in contacts
                ]
            ),
        },
    )
    await db.execute(
        text(
            "INSERT INTO action_targets (organization_id, action_id, contact_id, status)"
            " SELECT :o, a, c, (CAST(:st AS text[]))[1 + abs(hashtext(a::text || c::text)) % 5]"
            " FROM unnest(CAST(:a AS uuid[])) a, unnest(CAST(:c AS uuid[])) c"
        ),
        {**o, "a": actions, "c": contacts[:40], "st": list(TARGET_STATUSES)},
    )
    reports = []
    for _ in range(n_reports):
        kind = rng.choice(["call", "visit"])
        reports.append(
            {
                "id": uuid.uuid4(),
                "kind": kind,
                "a": rng.choice(actions),
                "c": rng.choice([*contacts, None]),
                "u": rng.choice(users),
                "out": rng.choice(OUTCOMES[kind]),
                "mob": rng.choice([True, False, None]),
                "at": _at(rng),
            }
        )
    await db.execute(
        text(
            "INSERT INTO field_reports (organization_id, id, kind, action_id, contact_id, user_id, outcome, mobilized,"
            " request_hash, response, recorded_at)"
            " SELECT :o, x.id, x.kind, x.a, x.c, x.u, x.out, x.mob, 'h', '{}', x.at"
            " FROM jsonb_to_recordset(CAST(:rows AS jsonb))"
            " AS x(id uuid, kind text, a uuid, c uuid, u uuid, out text, mob boolean, at timestamptz)"
        ),
        {**o, "rows": _json(reports)},
    )
    answers = [
        {"r": r["id"], "q": q, "v": rng.choice([True, False, "pensions", 3, 4])}
        for r in reports
        if rng.random() < 0.6
        for q in ("q1", "q2")
        if rng.random() < 0.8
    ]
    await db.execute(
        text(
            "INSERT INTO survey_answers (organization_id, report_id, question_id, survey_id, survey_version, value)"
            " SELECT :o, x.r, x.q, :s, 1, x.v"
            " FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS x(r uuid, q text, v jsonb)"
        ),
        {**o, "s": survey, "rows": _json(answers)},
    )
    consents = [
        {
            "c": rng.choice(contacts),
            "ch": rng.choice(["email", "sms", "phone", "data_processing"]),
            "st": rng.choice(["granted", "granted", "withdrawn"]),
            "src": rng.choice(["call", "visit", "import", "petition"]),
            "by": rng.choice([*users, None]),
            "at": _at(rng),
        }
        for _ in range(120)
    ]
    await db.execute(
        text(
            "INSERT INTO consent_log (organization_id, contact_id, channel, status, source, recorded_by, recorded_at)"
            " SELECT :o, x.c, x.ch, x.st, x.src, x.by, x.at FROM jsonb_to_recordset(CAST(:rows AS jsonb))"
            " AS x(c uuid, ch text, st text, src text, by uuid, at timestamptz)"
        ),
        {**o, "rows": _json(consents)},
    )
    return World(org.id, tz, users, actions, contacts, survey)


def _json(rows: list[dict[str, Any]]) -> str:
    import json

    return json.dumps(rows, default=lambda v: v.isoformat() if isinstance(v, datetime) else str(v))


async def open_targets(db: AsyncSession, w: World, action_id: uuid.UUID | None) -> int:
    acts = "a.id = :a" if action_id else "a.status IN ('scheduled', 'active')"
    return int(
        await db.scalar(
            text(
                "SELECT count(*) FROM action_targets t JOIN actions a ON a.organization_id = t.organization_id"
                f" AND a.id = t.action_id WHERE t.organization_id = :o AND {acts}"
                f" AND t.status IN {queries.OPEN_TARGETS_SQL}"
            ),
            {"o": w.org, "a": action_id},
        )
        or 0
    )


async def leaderboard_rows(db: AsyncSession, scope: Scope, p: Period, action: uuid.UUID | None) -> set[Any]:
    sql, params = rollups.reports_per_user(scope, p, action)
    return {tuple(r) for r in (await db.execute(text(sql), params)).all()}


async def leaderboard_recount(db: AsyncSession, scope: Scope, p: Period, action: uuid.UUID | None) -> set[Any]:
    where, params = queries.reports_where(scope, p, action, at="recorded_at")
    if scope.user_ids is not None:
        where += " AND r.user_id = ANY(CAST(:users AS uuid[]))"
        params["users"] = scope.user_list()
    sql = (
        "SELECT user_id, count(*) FILTER (WHERE kind = 'call'), count(*) FILTER (WHERE kind = 'visit'),"
        f" count(*) FILTER (WHERE outcome IN {queries.REACHED_SQL}), count(*) FILTER (WHERE mobilized)"
        f" FROM field_reports r WHERE {where} GROUP BY 1"
    )
    return {tuple(r) for r in (await db.execute(text(sql), params)).all()}


def _nonzero(d: dict[str, int]) -> dict[str, int]:
    return {k: v for k, v in d.items() if v}


async def assert_equal_to_recount(db: AsyncSession, w: World, rng: random.Random, rounds: int) -> int:
    """Every figure, for `rounds` random (scope, period, action, bucket); returns how many periods had raw edges."""
    instants = [START - timedelta(hours=2) + timedelta(hours=h) for h in range(80)]
    edged = 0
    for _ in range(rounds):
        users = rng.choice([None, frozenset(w.users[:2]), frozenset(w.users[2:3])])
        scope = Scope(w.org, w.tz, users, None)

        def moment() -> datetime | None:
            pick = rng.random()
            if pick < 0.2:
                return None
            base = rng.choice(instants)
            return base if pick < 0.45 else base + timedelta(minutes=rng.randrange(1, 60), seconds=rng.randrange(60))

        start, end = moment(), moment()
        if start is not None and end is not None and end <= start:
            start, end = end, start if end < start else None
        p = Period(start, end)
        edged += bool(rollups.split(p).edges)
        action = rng.choice([None, None, *w.actions])
        bucket = rng.choice(["hour", "day"])
        case = f"{scope.user_ids and len(scope.user_ids)} users, {p}, action {action}, {bucket}"
        assert _nonzero(await rollups.report_totals(db, scope, p, action)) == _nonzero(
            await queries.report_totals(db, scope, p, action)
        ), case
        assert await rollups.series(db, scope, p, action, bucket) == await queries.series(
            db, scope, p, action, bucket
        ), case
        assert await rollups.survey_results(db, scope, p, action) == await queries.survey_results(
            db, scope, p, action
        ), case
        assert await rollups.contacts_added(db, scope, p, action) == await queries.contacts_added(
            db, scope, p, action
        ), case
        assert await rollups.consents_given(db, scope, p, action) == await queries.consents_given(
            db, scope, p, action
        ), case
        assert await rollups.support(db, scope, p, action) == await queries.support(db, scope, p, action), case
        assert await leaderboard_rows(db, scope, p, action) == await leaderboard_recount(db, scope, p, action), case
        # the whole organization's "reached since": the path the rollups answer, checked for every start
        whole = Scope(w.org, w.tz, None, None)
        since = Period(start, None)
        assert await rollups.support(db, whole, since, None) == await queries.support(db, whole, since, None), case
        assert (await queries.targets(db, scope, action))[1] == await open_targets(db, w, action), case
    return edged


async def writes(db: AsyncSession, w: World, rng: random.Random) -> None:
    """Each write path the triggers see, in SQL as the app's services send them."""
    o = {"o": w.org}
    # corrections: a report's outcome, mobilized, time (to another hour and day), reporter and action
    ids = [r for (r,) in (await db.execute(text("SELECT id FROM field_reports ORDER BY id"))).all()]
    for rid in rng.sample(ids, 25):
        await db.execute(
            text(
                "UPDATE field_reports SET outcome = CASE kind WHEN 'call' THEN :oc ELSE :ov END, mobilized = :m,"
                " recorded_at = recorded_at + make_interval(mins => :d), user_id = :u, version = version + 1"
                " WHERE organization_id = :o AND id = :r"
            ),
            {
                **o,
                "r": rid,
                "oc": rng.choice(OUTCOMES["call"]),
                "ov": rng.choice(OUTCOMES["visit"]),
                "m": rng.random() < 0.5,
                "d": rng.randrange(-1500, 1500),
                "u": rng.choice(w.users),
            },
        )
    await db.execute(  # a correction replacing answers
        text(
            "UPDATE survey_answers SET value = '\"health\"' WHERE organization_id = :o AND question_id = 'q2'"
            " AND report_id IN (SELECT id FROM field_reports WHERE organization_id = :o ORDER BY id LIMIT 20)"
        ),
        o,
    )
    await db.execute(
        text(
            "DELETE FROM survey_answers WHERE organization_id = :o AND question_id = 'q1'"
            " AND report_id IN (SELECT id FROM field_reports WHERE organization_id = :o ORDER BY id DESC LIMIT 15)"
        ),
        o,
    )
    await db.execute(  # a statement touching columns no figure reads
        text("UPDATE field_reports SET comment = 'seen' WHERE organization_id = :o"), o
    )
    # merge of duplicates: the duplicate's reports, answers and consents move to the survivor, which is deleted
    keep, dup = w.contacts[0], w.contacts[1]
    m = {**o, "k": keep, "d": dup}
    await db.execute(text("UPDATE field_reports SET contact_id = :k WHERE organization_id = :o AND contact_id = :d"), m)
    await db.execute(
        text("UPDATE survey_answers SET contact_id = :k WHERE organization_id = :o AND contact_id = :d"), m
    )
    await db.execute(text("DELETE FROM contacts WHERE organization_id = :o AND id = :d"), m)
    # erasure: the contacts' reports (their answers cascading), then the contacts (their consents cascading)
    gone = {**o, "c": w.contacts[2:6]}
    await db.execute(
        text("DELETE FROM field_reports WHERE organization_id = :o AND contact_id = ANY(CAST(:c AS uuid[]))"), gone
    )
    await db.execute(text("DELETE FROM contacts WHERE organization_id = :o AND id = ANY(CAST(:c AS uuid[]))"), gone)
    # a contact deleted with its reports left (contact_id set null by the foreign key)
    await db.execute(text("DELETE FROM contacts WHERE organization_id = :o AND id = :c"), {**o, "c": w.contacts[7]})
    # levels and donor flags change (a report's update of the contact; an import's bulk update)
    await db.execute(
        text(
            "UPDATE contacts SET support_level = 1 + abs(hashtext(id::text || 'x')) % 5, is_donor = NOT is_donor"
            " WHERE organization_id = :o AND abs(hashtext(id::text)) % 3 = 0"
        ),
        o,
    )
    await db.execute(
        text("UPDATE contacts SET support_level = NULL WHERE organization_id = :o AND id = :c"),
        {**o, "c": w.contacts[8]},
    )
    # targets progress, are re-targeted, deleted; an action is deleted with its reports and targets
    await db.execute(
        text(
            "UPDATE action_targets SET status = CASE status WHEN 'pending' THEN 'in_progress'"
            " WHEN 'in_progress' THEN 'done' WHEN 'done' THEN 'callback' ELSE status END"
            " WHERE organization_id = :o AND abs(hashtext(id::text)) % 2 = 0"
        ),
        o,
    )
    await db.execute(
        text(
            "DELETE FROM action_targets WHERE organization_id = :o AND action_id = :a"
            " AND abs(hashtext(id::text)) % 4 = 0"
        ),
        {**o, "a": w.actions[0]},
    )
    await db.execute(text("DELETE FROM actions WHERE organization_id = :o AND id = :a"), {**o, "a": w.actions[2]})
    w.actions = w.actions[:2]
    # new reports, answers and contacts after all that (the insert paths again, into existing rollup rows)
    await db.execute(
        text(
            "INSERT INTO field_reports (organization_id, id, kind, action_id, contact_id, user_id, outcome,"
            " request_hash, response, recorded_at)"
            " SELECT :o, gen_random_uuid(), 'call', :a, :c, :u, 'answered', 'h', '{}', now() - interval '90 minutes'"
            " FROM generate_series(1, 3)"
        ),
        {**o, "a": w.actions[0], "c": w.contacts[9], "u": w.users[0]},
    )


async def rollup_snapshot(db: AsyncSession, org: uuid.UUID) -> dict[str, set[tuple[Any, ...]]]:
    """Each rollup's non-zero sums per key (shards summed): what the figures read."""
    q = {
        "reports": "SELECT hour_at, action_id, user_id, kind, outcome, sum(reports), sum(mobilized) FROM report_rollups"
        " WHERE organization_id = :o GROUP BY 1, 2, 3, 4, 5 HAVING sum(reports) <> 0 OR sum(mobilized) <> 0",
        "surveys": "SELECT hour_at, action_id, user_id, survey_id, question_id, value::text, sum(answers)"
        " FROM survey_rollups WHERE organization_id = :o GROUP BY 1, 2, 3, 4, 5, 6 HAVING sum(answers) <> 0",
        "contacts": "SELECT hour_at, created_by, source, sum(contacts) FROM contact_rollups"
        " WHERE organization_id = :o GROUP BY 1, 2, 3 HAVING sum(contacts) <> 0",
        "consents": "SELECT hour_at, recorded_by, source, channel, sum(consents) FROM consent_rollups"
        " WHERE organization_id = :o GROUP BY 1, 2, 3, 4 HAVING sum(consents) <> 0",
        "contacts daily": "SELECT day_at, created_by, source, sum(contacts) FROM contact_rollups_daily"
        " WHERE organization_id = :o GROUP BY 1, 2, 3 HAVING sum(contacts) <> 0",
        "consents daily": "SELECT day_at, recorded_by, source, channel, sum(consents) FROM consent_rollups_daily"
        " WHERE organization_id = :o GROUP BY 1, 2, 3, 4 HAVING sum(consents) <> 0",
        "reach": "SELECT person_id, last_reached_at, support_level, is_donor FROM contact_reach"
        " WHERE organization_id = :o",
        "reach counts": "SELECT hour_at, support_level, is_donor, sum(contacts) FROM reach_rollups"
        " WHERE organization_id = :o GROUP BY 1, 2, 3 HAVING sum(contacts) <> 0",
        "targets": "SELECT action_id, sum(open) FROM target_rollups WHERE organization_id = :o GROUP BY 1"
        " HAVING sum(open) <> 0",
    }
    return {k: {tuple(r) for r in (await db.execute(text(sql), {"o": org})).all()} for k, sql in q.items()}


@pytest.mark.parametrize(("tz", "seed"), [("Europe/Bucharest", 1), ("Asia/Kolkata", 2)])
async def test_every_figure_equals_the_recount_for_random_scopes_and_periods(
    db: AsyncSession, tz: str, seed: int
) -> None:
    w = await build(db, tz, seed)
    rng = random.Random(seed * 7)
    assert await assert_equal_to_recount(db, w, rng, 60) > 20  # many periods with edges counted from raw rows
    await writes(db, w, rng)
    await assert_equal_to_recount(db, w, rng, 60)


async def test_the_migrations_rebuild_finds_what_the_triggers_kept(db: AsyncSession) -> None:
    w = await build(db, "Europe/Bucharest", 3, n_reports=150)
    await writes(db, w, random.Random(3))
    kept = await rollup_snapshot(db, w.org)
    assert kept["reports"] and kept["surveys"] and kept["reach"] and kept["targets"] and kept["consents"]
    await db.execute(text("SELECT gg_dashboard_rollups_rebuild(:o)"), {"o": w.org})
    assert await rollup_snapshot(db, w.org) == kept


async def test_the_endpoint_figures_equal_the_recount(db: AsyncSession) -> None:
    """service.compute (what GET /api/v1/dashboard returns) against the raw statements, field by field."""
    w = await build(db, "Asia/Kolkata", 4, n_reports=120)
    org = await db.get(Organization, w.org)
    assert org is not None
    for p in (
        Period(None, None),
        Period(START + timedelta(hours=5, minutes=17), None),
        Period(START + timedelta(minutes=30), NOW - timedelta(hours=3, minutes=1)),
    ):
        for users in (None, frozenset(w.users[:1])):
            scope = Scope(w.org, w.tz, users, None)
            f = await service.compute(db, scope, p, action=None, bucket="hour")
            n = await queries.report_totals(db, scope, p, None)
            levels, donors = await queries.support(db, scope, p, None)
            if f.source == "reports":
                assert (f.calls_made, f.doors_knocked, f.mobilized) == (
                    n.get("calls", 0),
                    n.get("visits", 0),
                    n.get("mobilized", 0),
                )
            assert f.support == service.summarize_support(levels, donors)
            assert f.targets_left == await open_targets(db, w, None)
            got = f.model_dump()
            for key, raw, model in (
                ("contacts_added", await queries.contacts_added(db, scope, p, None), SourceCount),
                ("consents_given", await queries.consents_given(db, scope, p, None), ConsentCount),
                ("surveys", await queries.survey_results(db, scope, p, None), QuestionFigures),
                ("series", await queries.series(db, scope, p, None, "hour"), SeriesPoint),
            ):
                assert got[key] == [model.model_validate(x).model_dump() for x in raw], key


async def test_the_nightly_compaction_folds_the_shards_and_changes_no_sum(db: AsyncSession) -> None:
    w = await build(db, "Europe/Bucharest", 5, n_reports=150)
    await writes(db, w, random.Random(5))
    kept = await rollup_snapshot(db, w.org)
    sharded = ("reach_rollups", "target_rollups", "contact_rollups", "consent_rollups", "consent_rollups_daily")
    count = " UNION ALL ".join(
        f"SELECT '{t}', count(*) FILTER (WHERE shard <> 0) FROM {t} WHERE organization_id = :o" for t in sharded
    )
    assert any(n for _, n in (await db.execute(text(count), {"o": w.org})).all())  # the writers' shards
    await db.execute(text("SELECT gg_dashboard_rollups_compact(now() + interval '1 day')"))
    assert await rollup_snapshot(db, w.org) == kept
    assert not any(n for _, n in (await db.execute(text(count), {"o": w.org})).all())
    await assert_equal_to_recount(db, w, random.Random(6), 20)

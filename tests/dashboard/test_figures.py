"""Dashboard figures equal what the scripted reports wrote, for HQ (counters and reports agree) and for a team
leader (only their teams)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from tests.dashboard.conftest import Scene, script, setup_scene

SAME_KEYS = (
    "doors_knocked",
    "calls_made",
    "attempts",
    "reached",
    "reach_rate",
    "mobilized",
    "outcomes",
    "support",
    "opportunities_raised",
    "opportunities_open",
    "targets",
    "targets_left",
    "contacts_added",
    "consents_given",
    "surveys",
)


async def _scene(client: AsyncClient, db: AsyncSession) -> Scene:
    s = await setup_scene(client, db)
    await script(client, db, s)
    return s


def _today(tz: str = "Europe/Bucharest") -> tuple[str, str]:
    d = datetime.now(ZoneInfo(tz)).date()
    return d.isoformat(), (d + timedelta(days=1)).isoformat()


async def test_hq_figures_equal_the_scripted_reports(client: AsyncClient, db: AsyncSession) -> None:
    s = await _scene(client, db)
    r = await client.get("/api/v1/dashboard", headers=s.manager.headers)
    assert r.status_code == 200, r.text
    f = r.json()
    assert f["source"] == "counters"
    assert f["scope"]["whole_organization"] is True
    assert (f["calls_made"], f["doors_knocked"], f["attempts"], f["reached"], f["mobilized"]) == (7, 1, 8, 4, 1)
    assert f["reach_rate"] == 0.5
    assert f["outcomes"] == {"absent": 2, "answered": 3, "opened": 1, "refused": 1, "wrong_number": 1}
    assert f["support"] == {
        "strong_supporters": 1,
        "supporters": 2,
        "undecided": 1,
        "opposed": 1,
        "unknown": 0,
        "donors": 1,
        "by_level": {"1": 1, "2": 1, "3": 1, "5": 1},
    }
    assert (f["opportunities_raised"], f["opportunities_open"]) == (1, 1)
    # 12 call targets: 3 answered, 1 refused (done), 1 wrong number (closed); both "absent" come back later.
    assert (f["targets"], f["targets_left"]) == (12, 7)
    assert {c["source"]: c["count"] for c in f["contacts_added"]} == {"import": 12, "visit": 1}
    assert sorted((c["source"], c["channel"], c["count"]) for c in f["consents_given"]) == [
        ("call", "sms", 1),
        ("visit", "data_processing", 1),
    ]
    answers = {
        q["question_id"]: (q["answered"], {str(a["value"]): a["count"] for a in q["answers"]}) for q in f["surveys"]
    }
    assert answers == {"worried": (2, {"True": 1, "False": 1}), "topic": (1, {"pensions": 1}), "score": (1, {"4": 1})}
    assert next(q["label"] for q in f["surveys"] if q["question_id"] == "topic") == "Main topic"
    # The console's overview counts from the lists' totals (one page of one item each).
    h = s.manager.headers
    tasks = (await client.get("/api/v1/opportunities", params={"status": "open", "limit": 1}, headers=h)).json()
    assert tasks["total"] == f["opportunities_open"] == 1
    assert (await client.get("/api/v1/actions", params={"limit": 1}, headers=h)).json()["total"] == 2
    # The reports agree with the counters when a period is asked.
    start, end = _today()
    p = (await client.get(f"/api/v1/dashboard?from={start}&to={end}&bucket=day", headers=s.manager.headers)).json()
    assert p["source"] == "reports"
    assert {k: p[k] for k in SAME_KEYS} == {k: f[k] for k in SAME_KEYS}
    assert [(x["calls"], x["visits"], x["reached"], x["mobilized"]) for x in p["series"]] == [(7, 1, 4, 1)]
    assert datetime.fromisoformat(p["series"][0]["at"]) == datetime.fromisoformat(start).replace(
        tzinfo=ZoneInfo("Europe/Bucharest")
    )
    hourly = (await client.get(f"/api/v1/dashboard?from={start}&bucket=hour", headers=s.manager.headers)).json()
    assert sum(x["calls"] for x in hourly["series"]) == 7
    assert all(datetime.fromisoformat(x["at"]).minute == 0 for x in hourly["series"])


async def test_a_period_before_the_work_counts_nothing(client: AsyncClient, db: AsyncSession) -> None:
    s = await _scene(client, db)
    start, _ = _today()
    f = (await client.get(f"/api/v1/dashboard?to={start}", headers=s.manager.headers)).json()
    assert (f["calls_made"], f["doors_knocked"], f["reached"], f["opportunities_raised"]) == (0, 0, 0, 0)
    assert f["reach_rate"] is None and f["series"] == [] and f["surveys"] == [] and f["contacts_added"] == []


async def test_team_leader_sees_only_their_teams(client: AsyncClient, db: AsyncSession) -> None:
    s = await _scene(client, db)
    f = (await client.get("/api/v1/dashboard", headers=s.leader_a.headers)).json()
    assert f["source"] == "reports" and f["scope"]["whole_organization"] is False
    assert (f["calls_made"], f["doors_knocked"], f["reached"], f["mobilized"]) == (4, 1, 3, 1)
    assert f["outcomes"] == {"absent": 1, "answered": 2, "opened": 1, "refused": 1}
    assert (f["support"]["strong_supporters"], f["support"]["undecided"], f["support"]["opposed"]) == (1, 1, 0)
    assert f["support"]["donors"] == 0
    assert {c["source"]: c["count"] for c in f["contacts_added"]} == {"visit": 1}
    stats = (await client.get(f"/api/v1/actions/{s.call_action}/stats", headers=s.leader_a.headers)).json()
    assert (stats["calls"], stats["reached"], stats["whole_action"], stats["source"]) == (4, 2, False, "reports")
    hq = (await client.get(f"/api/v1/actions/{s.call_action}/stats", headers=s.manager.headers)).json()
    assert (hq["calls"], hq["reached"], hq["whole_action"], hq["source"]) == (7, 3, True, "counters")
    assert hq["support_levels"] == {"1": 1, "3": 1, "5": 1}
    # Another team is a 404 for the leader; a volunteer has no dashboard.
    other = await client.get(f"/api/v1/dashboard?team_id={s.team_b}", headers=s.leader_a.headers)
    assert other.status_code == 404 and other.json()["error"]["code"] == "team_not_found"
    assert (await client.get("/api/v1/dashboard", headers=s.v1.headers)).status_code == 403
    assert (await client.get("/api/v1/dashboard/leaderboard", headers=s.v1.headers)).status_code == 403


async def test_action_dashboard_team_and_person_views(client: AsyncClient, db: AsyncSession) -> None:
    s = await _scene(client, db)
    h = s.manager.headers
    a = (await client.get(f"/api/v1/dashboard/actions/{s.call_action}", headers=h)).json()
    assert (a["calls_made"], a["doors_knocked"], a["reached"], a["targets"], a["targets_left"]) == (7, 0, 3, 12, 7)
    assert a["contacts_added"] == []  # the people called were imported before the action
    d = (await client.get(f"/api/v1/dashboard/actions/{s.door_action}", headers=h)).json()
    assert d["contacts_added"] == [{"source": "visit", "count": 1}]
    assert d["consents_given"] == [{"source": "visit", "channel": "data_processing", "count": 1}]
    team_b = (await client.get(f"/api/v1/dashboard?team_id={s.team_b}", headers=h)).json()
    assert (team_b["calls_made"], team_b["reached"], team_b["support"]["donors"]) == (3, 1, 1)
    person = (await client.get(f"/api/v1/dashboard?user_id={s.v1.user_id}&bucket=hour", headers=h)).json()
    assert (person["calls_made"], person["doors_knocked"], person["opportunities_raised"]) == (2, 1, 1)
    bad = await client.get("/api/v1/dashboard?from=2026-12-02&to=2026-12-01", headers=h)
    assert bad.status_code == 422 and bad.json()["error"]["details"][0]["field"] == "to"
    bad = await client.get("/api/v1/dashboard?from=yesterday", headers=h)
    assert bad.status_code == 422 and "from" in bad.json()["error"]["details"][0]["field"]


async def test_leaderboards_rank_within_the_viewers_scope(client: AsyncClient, db: AsyncSession) -> None:
    s = await _scene(client, db)
    board = (await client.get("/api/v1/dashboard/leaderboard?metric=calls", headers=s.manager.headers)).json()
    rows = [(str(r["user_id"]), r["calls"], r["visits"], r["reached"], r["opportunities"]) for r in board["items"]]
    assert rows[0] == (str(s.v3.user_id), 3, 0, 1, 0)
    assert sorted(rows[1:]) == sorted([(str(s.v1.user_id), 2, 1, 2, 1), (str(s.v2.user_id), 2, 0, 1, 0)])
    assert [r["rank"] for r in board["items"]] == [1, 2, 3]
    teams = (
        await client.get("/api/v1/dashboard/leaderboard?by=teams&metric=reached", headers=s.manager.headers)
    ).json()
    assert [(r["name"], r["calls"], r["visits"], r["reached"], r["mobilized"]) for r in teams["items"]] == [
        ("Team A", 4, 1, 3, 1),
        ("Team B", 3, 0, 1, 0),
    ]
    mine = (await client.get("/api/v1/dashboard/leaderboard?metric=calls", headers=s.leader_a.headers)).json()
    assert {str(r["user_id"]) for r in mine["items"]} == {str(s.v1.user_id), str(s.v2.user_id)}
    mine_t = (await client.get("/api/v1/dashboard/leaderboard?by=teams", headers=s.leader_a.headers)).json()
    assert [r["name"] for r in mine_t["items"]] == ["Team A"]
    start, _ = _today()
    old = (await client.get(f"/api/v1/dashboard/leaderboard?to={start}", headers=s.manager.headers)).json()
    assert old["items"] == []


async def test_zone_coverage_and_hexbins(client: AsyncClient, db: AsyncSession) -> None:
    s = await _scene(client, db)
    h = s.manager.headers
    square = {
        "type": "Polygon",
        "coordinates": [[[25.9, 44.3], [26.2, 44.3], [26.2, 44.6], [25.9, 44.6], [25.9, 44.3]]],
    }
    z = await client.post("/api/v1/zones", headers=h, json={"name": "All of it", "geometry": square})
    assert z.status_code == 201, z.text
    await client.post(
        "/api/v1/zones",
        headers=h,
        json={
            "name": "Elsewhere",
            "geometry": {"type": "Polygon", "coordinates": [[[20, 40], [20.1, 40], [20.1, 40.1], [20, 40]]]},
        },
    )
    fc = (await client.get("/api/v1/dashboard/zones", headers=h)).json()
    props = {f["properties"]["name"]: f["properties"] for f in fc["features"]}
    assert (props["All of it"]["targets"], props["All of it"]["reached"], props["All of it"]["coverage"]) == (
        12,
        3,
        0.25,
    )
    assert props["All of it"]["finished"] == 5
    # The base with a location: 12 people, of whom 1 strong supporter, 1 undecided, 1 opposed (and a donor).
    assert (props["All of it"]["people"], props["All of it"]["strong_supporters"], props["All of it"]["undecided"]) == (
        12,
        1,
        1,
    )
    assert (props["All of it"]["opposed"], props["All of it"]["donors"]) == (1, 1)
    assert (props["Elsewhere"]["targets"], props["Elsewhere"]["coverage"], props["Elsewhere"]["people"]) == (0, None, 0)
    assert fc["features"][0]["geometry"]["type"] == "MultiPolygon"
    hexes = (await client.get("/api/v1/dashboard/hexbins?bbox=25.9,44.3,26.2,44.6&size_m=2000", headers=h)).json()
    assert sum(f["properties"]["people"] for f in hexes["features"]) == 12
    assert sum(f["properties"]["strong_supporters"] for f in hexes["features"]) == 1
    assert sum(f["properties"]["undecided"] for f in hexes["features"]) == 1
    assert hexes["features"][0]["geometry"]["type"] == "Polygon"
    too_fine = await client.get("/api/v1/dashboard/hexbins?bbox=20,40,30,50&size_m=10", headers=h)
    assert too_fine.status_code == 422 and too_fine.json()["error"]["details"][0]["field"] == "size_m"
    bad = await client.get("/api/v1/dashboard/hexbins?bbox=1,2,3", headers=h)
    assert bad.status_code == 422 and bad.json()["error"]["details"][0]["field"] == "bbox"

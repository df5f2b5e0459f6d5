"""The live dashboard (issue 15) in Chromium at 1440x900 against the real backend: an action's dashboard shows a
report posted through the API (counter and chart) within 2 s without a reload; the chart's numbers and its CSV;
the organization overview, the leaderboards, a team leader's team view and the maps, with hexagons picked from
the map's numbers opening the action wizard on them. axe-core on every page, screenshots of each."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

pytest.importorskip("playwright.async_api", reason="Playwright (Python) is not installed")
from playwright.async_api import BrowserContext, expect
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.embedded import free_port
from tests.dashboard.conftest import call, script, setup_scene
from tests.e2e.conftest import ARTIFACTS
from tests.e2e.test_hq_console import as_user, desktop, serious_violations, shot
from tests.fixtures.uvicorn import serve_app

__all__ = ["desktop"]  # the console's desktop context fixture (1440x900), shared


@pytest.fixture(scope="module")
def server_without_redis(pwa_dist: Path, services: object) -> Iterator[str]:
    """The same app and console with Redis unreachable (a closed port): the live stream is down."""
    yield from serve_app(
        {"PWA_DIST": str(pwa_dist), "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"},
        ready_path="/healthz",
        log_path=ARTIFACTS / "server-no-redis.log",
    )


async def test_an_actions_dashboard_shows_a_report_posted_through_the_api_within_two_seconds_without_reload(
    live_server: str, api: httpx.AsyncClient, live_db: AsyncSession, desktop: BrowserContext, tmp_path: Path
) -> None:
    s = await setup_scene(api, live_db)
    page = await as_user(desktop, s.manager)
    await page.goto(f"{live_server}/hq/actions/{s.call_action}")
    await page.get_by_role("link", name="Live dashboard").click()
    await expect(page).to_have_url(re.compile(rf"/hq/actions/{s.call_action}/dashboard"))
    await expect(page.get_by_role("heading", name="Live dashboard: Phone bank")).to_be_visible()
    calls = page.locator("[data-figure='calls']")
    chart = page.get_by_test_id("series-chart")
    await expect(calls).to_have_text("0")
    await expect(chart).to_have_attribute("data-total", "0")
    await expect(page.get_by_test_id("live-status")).to_have_attribute("data-state", "up")
    await expect(page.get_by_test_id("live-status")).to_have_text(re.compile("Live"))
    await page.evaluate("() => { window.__samePage = true }")
    await page.screenshot(path=shot("90-action-dashboard-before"))

    await call(api, s, s.v1, "answered", mobilized=True)
    posted = time.monotonic()  # the report is committed once its response is back
    await expect(calls).to_have_text("1", timeout=2000)
    left_ms = max(100.0, (2 - (time.monotonic() - posted)) * 1000)
    await expect(chart).not_to_have_attribute("data-total", "0", timeout=left_ms)
    assert time.monotonic() - posted < 2.0
    assert await page.evaluate("() => window.__samePage === true")  # no reload
    await expect(page.locator("[data-figure='reached']")).to_have_text("1")
    await expect(page.locator("[data-figure='mobilized']")).to_have_text("1")
    outcomes = page.get_by_test_id("chart-outcomes")
    await expect(outcomes.get_by_text("Answered")).to_be_visible()
    await page.screenshot(path=shot("91-action-dashboard-after"))
    problems = await serious_violations(page)

    # The numbers one click away, and the same numbers as CSV.
    series = page.get_by_test_id("chart-series")
    await series.get_by_role("button", name="Show the numbers").click()
    table = series.get_by_test_id("chart-table")
    await expect(table.get_by_role("row")).to_have_count(2)  # header + this hour
    await expect(table.get_by_role("row").nth(1).get_by_role("cell").nth(1)).to_have_text("1")
    await page.screenshot(path=shot("92-action-dashboard-table"))
    problems += await serious_violations(page)
    async with page.expect_download() as dl:
        await outcomes.get_by_role("button", name=re.compile("as CSV")).click()
    path = tmp_path / "outcomes.csv"
    await (await dl.value).save_as(path)
    assert path.read_text(encoding="utf-8-sig").splitlines() == ["Outcome,Count", "Answered,1"]
    assert problems == [], json.dumps(problems, indent=1)

    assert page.errors == []  # type: ignore[attr-defined]


async def test_overview_leaderboards_team_view_and_maps_show_the_days_work_and_picked_hexagons_open_the_wizard(
    live_server: str, api: httpx.AsyncClient, live_db: AsyncSession, desktop: BrowserContext
) -> None:
    s = await setup_scene(api, live_db)
    await script(api, live_db, s)  # 7 calls and a visit by two teams
    page = await as_user(desktop, s.manager)
    problems: dict[str, list[str]] = {}

    await page.goto(f"{live_server}/hq/")
    await expect(page.locator("[data-figure='calls']")).to_have_text("7")
    await expect(page.locator("[data-figure='doors']")).to_have_text("1")
    await page.get_by_role("heading", name="Results", exact=True).scroll_into_view_if_needed()
    await page.screenshot(path=shot("93-overview-dashboard"), full_page=True)
    problems["overview"] = await serious_violations(page)

    await page.get_by_role("navigation", name="Console").get_by_role("link", name="Leaderboards").click()
    board = page.get_by_test_id("leaderboard")
    await expect(board.get_by_role("row").nth(3)).to_be_visible()  # v1, v2 and v3 worked
    await page.screenshot(path=shot("94-leaderboards"), full_page=True)
    problems["leaderboards"] = await serious_violations(page)
    first = board.get_by_role("row").nth(1).get_by_role("button")
    name = (await first.inner_text()).strip()
    await first.click()
    await expect(page.get_by_role("heading", name=f"History of {name}")).to_be_visible()
    await page.screenshot(path=shot("95-volunteer-history"), full_page=True)
    problems["history"] = await serious_violations(page)

    leader = await as_user(await desktop.browser.new_context(viewport={"width": 1440, "height": 900}), s.leader_a)  # type: ignore[union-attr]
    await leader.goto(f"{live_server}/hq/leaderboards")
    await expect(leader.get_by_role("heading", name="Team Team A", exact=True)).to_be_visible()
    await expect(leader.get_by_role("heading", name="Figures of team Team A")).to_be_visible()
    await expect(leader.locator("[data-figure='calls']")).to_have_text("4")  # team A's calls only
    await leader.screenshot(path=shot("96-team-view"), full_page=True)
    problems["team view"] = await serious_violations(leader)
    await leader.context.close()

    await page.goto(f"{live_server}/hq/dashboard/map")
    await expect(page.locator(".maplibregl-canvas")).to_be_visible()
    await page.wait_for_timeout(600)
    await page.screenshot(path=shot("97-map-support"))
    problems["map support"] = await serious_violations(page)
    await page.get_by_role("button", name="Strong supporters").click()
    await page.get_by_role("button", name="Show the numbers").click()
    table = page.get_by_test_id("map-table")
    await expect(table.get_by_role("checkbox").first).to_be_visible()
    await table.get_by_role("checkbox").first.check()
    await expect(page.get_by_test_id("picked-cells")).to_have_text("1 hexagon picked")
    await page.screenshot(path=shot("98-map-hexagons-picked"))
    problems["map hexagons"] = await serious_violations(page)
    await page.get_by_role("button", name="New action on these hexagons").click()
    await expect(page).to_have_url(re.compile(r"/hq/actions/new"))
    await expect(page.get_by_test_id("target-count")).to_have_text(re.compile(r"^\d+ targets?$"))
    await page.screenshot(path=shot("99-wizard-on-hexagons"))
    bad = {k: v for k, v in problems.items() if v}
    assert bad == {}, json.dumps(bad, indent=1, ensure_ascii=False)
    assert page.errors == []  # type: ignore[attr-defined]


async def test_when_the_live_stream_is_down_the_dashboard_says_so_and_still_shows_the_figures(
    server_without_redis: str, api: httpx.AsyncClient, live_db: AsyncSession, desktop: BrowserContext
) -> None:
    s = await setup_scene(api, live_db)
    await call(api, s, s.v1, "answered")
    page = await as_user(desktop, s.manager)
    await page.goto(f"{server_without_redis}/hq/actions/{s.call_action}/dashboard")
    await expect(page.locator("[data-figure='calls']")).to_have_text("1")
    status = page.get_by_test_id("live-status")
    await expect(status).to_have_attribute("data-state", "down")
    await expect(status).to_have_text(re.compile("Live updates unavailable"))
    await page.screenshot(path=shot("92b-action-dashboard-stream-down"))
    assert await serious_violations(page) == []


async def test_a_volunteer_in_the_app_is_told_of_an_action_they_were_just_added_to(
    live_server: str, api: httpx.AsyncClient, live_db: AsyncSession, phone: BrowserContext
) -> None:
    s = await setup_scene(api, live_db)
    await phone.add_init_script(f"localStorage.setItem('gg.token', {json.dumps(s.outsider.token)})")
    page = await phone.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    await page.goto(live_server + "/")
    await expect(page.get_by_role("heading", name="My actions")).to_be_visible(timeout=60_000)
    await page.wait_for_timeout(1500)  # the stream is open once /me has answered
    r = await api.post(
        f"/api/v1/actions/{s.call_action}/assign",
        headers=s.manager.headers,
        json={"strategy": "round_robin", "volunteer_ids": [str(s.outsider.user_id)]},
    )
    assert r.status_code == 200, r.text
    notice = page.get_by_role("status").get_by_text("You were added to an action.")
    await expect(notice).to_be_visible(timeout=5000)
    await page.screenshot(path=shot("89-volunteer-assigned"))
    await page.get_by_role("button", name="Open").click()
    await expect(page).to_have_url(re.compile(rf"/actions/{s.call_action}"))
    assert errors == []

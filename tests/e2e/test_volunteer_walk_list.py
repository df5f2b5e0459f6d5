"""Issue 18 in a real browser at 360x740 against the real backend, the walk list's side: a volunteer corrects
their own visit from the walk list's "Done" filter (a new version in the database, the one it replaced kept), and
"Add person" at a building of the walk list saves the person at that building's address and location, as one of
its households, by the same rule as the person met during a visit. Every screen: axe-core 0 serious or critical,
every clickable element at least 48x48, a screenshot."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest

pytest.importorskip("playwright.async_api", reason="Playwright (Python) is not installed")
from playwright.async_api import BrowserContext, Locator, expect
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from tests.e2e.test_hq_console import as_user
from tests.e2e.test_volunteer_pwa import fetch_all, is_post, person_link, watch
from tests.e2e.test_volunteer_second_pass import check_screen, door_world

# Two buildings next to each other: P1 at number 2, P2 at number 3 of Strada Lungă.
NEIGHBOURS = [(26.10, 44.43), (26.102, 44.431)]


def household(building: Locator, name: str) -> Locator:
    return building.get_by_role("link", name=re.compile(rf"^{re.escape(name)}(\s|$)"))


async def test_a_visit_is_corrected_from_the_walk_lists_done_filter(
    live_server: str, api: httpx.AsyncClient, live_db: AsyncSession, phone: BrowserContext, owner_engine: AsyncEngine
) -> None:
    w = await door_world(api, live_db, NEIGHBOURS)
    aid = w["action_id"]
    shots = "walk-correction"
    page = await as_user(phone, w["vol"])
    errors = watch(page)
    await page.goto(f"{live_server}/actions/{aid}/walk")
    show = page.get_by_role("group", name="Show")
    await expect(show.get_by_role("button", name="To visit (2)")).to_have_attribute("aria-pressed", "true")
    await check_screen(page, shots, "01-walk-list-to-visit")

    # A door that refused, reported through the door flow.
    await person_link(page, "P1 N1").click()
    await page.get_by_role("group", name="Outcome at the door").get_by_role("button", name="Refused").click()
    async with page.expect_response(is_post("/visits")) as sent:
        await page.get_by_role("button", name="Save visit").click()
    assert (await sent.value).ok, await (await sent.value).text()
    await expect(show.get_by_role("button", name="Done (1)")).to_be_visible()
    await expect(person_link(page, "P1 N1")).to_have_count(0)  # no longer to visit

    # Done: the visited door, with its correction.
    await show.get_by_role("button", name="Done (1)").click()
    await expect(person_link(page, "P1 N1")).to_contain_text("Door · Visited")
    await expect(page).to_have_url(re.compile(r"\?show=done$"))
    await page.get_by_role("article", name="Building 2").scroll_into_view_if_needed()
    await check_screen(page, shots, "02-walk-list-done")
    await page.get_by_role("button", name="Correct: P1 N1").click()
    sheet = page.get_by_role("dialog", name="Correct your report")
    outcome = sheet.get_by_role("group", name="Outcome at the door")
    await expect(outcome.get_by_role("radio", name="Refused")).to_be_checked()
    await expect(outcome.get_by_role("radio", name="Answered")).to_have_count(0)  # a door's outcomes, not a call's
    await outcome.get_by_role("radio", name="Opened").check()
    await sheet.get_by_role("textbox", name="Comment").fill("Came back down and talked")
    await sheet.get_by_role("checkbox", name="Mobilized").check()
    await check_screen(page, shots, "03-correct-visit")
    async with page.expect_response(is_post("/corrections")) as corrected:
        await sheet.get_by_role("button", name="Save correction").click()
    assert (await corrected.value).ok, await (await corrected.value).text()
    await expect(page.get_by_text("Correction saved")).to_have_count(1)
    await expect(sheet).to_have_count(0)
    await check_screen(page, shots, "04-corrected")

    [rep] = await fetch_all(
        owner_engine,
        "SELECT id, kind, outcome, comment, mobilized, version, corrected_at FROM field_reports WHERE action_id = :a",
        a=uuid.UUID(aid),
    )
    assert (rep.kind, rep.outcome, rep.comment, rep.mobilized, rep.version) == (
        "visit",
        "opened",
        "Came back down and talked",
        True,
        2,
    )
    assert rep.corrected_at is not None
    kept = await fetch_all(
        owner_engine, "SELECT version, previous FROM field_report_corrections WHERE report_id = :r", r=rep.id
    )
    assert [(k.version, k.previous["outcome"], k.previous["version"]) for k in kept] == [(2, "refused", 1)]
    # Reopened, the sheet starts from the new version.
    await page.get_by_role("button", name="Correct: P1 N1").click()
    await expect(sheet.get_by_text("Version 2")).to_be_visible()
    await expect(sheet.get_by_role("radio", name="Opened")).to_be_checked()
    assert not errors, errors


async def test_add_person_at_a_building_of_the_walk_list_joins_its_household_at_its_place(
    live_server: str, api: httpx.AsyncClient, live_db: AsyncSession, phone: BrowserContext, owner_engine: AsyncEngine
) -> None:
    w = await door_world(api, live_db, NEIGHBOURS)
    aid = w["action_id"]
    shots = "walk-add-person"
    page = await as_user(phone, w["vol"])
    errors = watch(page)
    await page.goto(f"{live_server}/actions/{aid}/walk")
    await expect(page.get_by_role("heading", name="Building 3")).to_be_visible()
    await page.get_by_role("article", name="Building 3").scroll_into_view_if_needed()
    await check_screen(page, shots, "00-walk-list-building")
    # The building's own "Add person" (P2's building, number 3), not one for the whole list.
    await page.get_by_role("button", name="Add person met at the door · Building 3").click()
    sheet = page.get_by_role("dialog", name="Person met at the door")
    await sheet.get_by_role("textbox", name="First name").fill("Ileana")
    await sheet.get_by_role("textbox", name="Last name").fill("Scara")
    await sheet.get_by_role(
        "checkbox", name=re.compile(r"^The person agrees to org-\w+ processing their data$")
    ).check()
    await check_screen(page, shots, "01-add-person-at-building")
    async with page.expect_response(is_post("/visits")) as sent:
        await sheet.get_by_role("button", name="Save person").click()
    assert (await sent.value).ok, await (await sent.value).text()
    await expect(sheet).to_have_count(0)

    [row] = await fetch_all(
        owner_engine,
        """SELECT (n.street, n.street_number, n.postal_code, n.city)
                  IS NOT DISTINCT FROM (d.street, d.street_number, d.postal_code, d.city) AS same_address,
                  ST_Equals(n.location, d.location) AS same_place, n.street_number
           FROM contacts n, contacts d WHERE n.organization_id = :o AND n.last_name = 'Scara'
           AND d.organization_id = :o AND d.first_name = 'P2'""",
        o=w["org"],
    )
    assert (row.same_address, row.same_place, row.street_number) == (True, True, "3")
    targets = {
        t.first_name: t
        for t in await fetch_all(
            owner_engine,
            """SELECT c.first_name, t.turf_no, t.seq, t.assignee_user_id, t.status, t.attempts FROM action_targets t
               JOIN contacts c ON c.id = t.contact_id WHERE t.action_id = :a""",
            a=uuid.UUID(aid),
        )
    }
    hers, door = targets["Ileana"], targets["P2"]
    assert (hers.turf_no, hers.seq, hers.assignee_user_id) == (door.turf_no, door.seq, w["vol"].user_id)
    assert (hers.status, door.status, door.attempts) == ("done", "pending", 0)  # P2's door was not visited

    # On the walk list: one of building 3's households, under Done, and her report can be corrected there.
    await page.reload()
    await page.get_by_role("group", name="Show").get_by_role("button", name="Done (1)").click()
    building = page.get_by_role("article", name="Building 3")
    await expect(household(building, "Ileana Scara")).to_contain_text("Door · Visited")
    await expect(building.get_by_role("button", name="Correct: Ileana Scara")).to_be_visible()
    await building.scroll_into_view_if_needed()
    await check_screen(page, shots, "02-walk-list-done-household")
    await page.get_by_role("group", name="Show").get_by_role("button", name="To visit (2)").click()
    await expect(household(page.get_by_role("article", name="Building 3"), "P2 N2")).to_be_visible()
    assert not errors, errors

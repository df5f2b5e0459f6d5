"""The volunteer's day in a real browser against the real backend (issues 7 and 18): Debian's Chromium at 360x740
drives the built PWA served by uvicorn. A full call through the guided report (one step per screen, back keeps
the answers, a reload mid-survey resumes at the same step, the brief in a sheet, "Save and call next"), then two
reports recorded offline, a reload served by the service worker, and the outbox syncing by itself once the signal
is back; the database holds every report exactly once. Then door to door: the walk list (map with no tiles, doors
labelled as doors, route order from the phone's position), a guided visit and a person met at the door."""

from __future__ import annotations

import random
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

pytest.importorskip("playwright.async_api", reason="Playwright (Python) is not installed")
from playwright.async_api import BrowserContext, Geolocation, Locator, Page, Response, expect
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from tests.e2e.conftest import shot_path
from tests.fixtures.contacts import insert_contacts
from tests.fixtures.factories import PASSWORD, Actor, make_actor, make_org, make_team

NAME = re.compile(r"^P\d+ N\d+$")
# The consent names the organization (its legal name, else its name).
CONSENT = re.compile(r"^The person agrees to answer and to org-\w+ recording their answers$")


@dataclass
class Field:
    manager: Actor
    volunteer: Actor
    action_id: str
    survey_id: str
    opp_type_id: str
    contact_ids: list[uuid.UUID]


SURVEY = {
    "title": "Pensions",
    "questions": [
        {
            "id": "worried",
            "kind": "yes_no",
            "label": "Worried about pensions?",
            "required": True,
            "skip_logic": [{"equals": False, "goto_question_id": None}],  # "no" ends the survey
        },
        {
            "id": "topic",
            "kind": "single_choice",
            "label": "Main topic",
            "required": True,
            "options": [{"value": "pensions", "label": "Pensions"}, {"value": "health", "label": "Health"}],
        },
        {"id": "score", "kind": "scale", "label": "How much?", "min": 1, "max": 5},
    ],
}


async def make_field(api: httpx.AsyncClient, db: AsyncSession, *, kind: str, contacts: int, tag: str) -> Field:
    """An organization, a manager, a volunteer in a team, contacts with phones, then through the real API: a
    survey with a required question and skip logic, an opportunity type, and an action assigned to the volunteer."""
    org = await make_org(db)
    manager = await make_actor(db, org, "manager")
    volunteer = await make_actor(db, org, "volunteer")
    team = await make_team(db, org, [volunteer])
    rnd = random.Random(11)
    ids = await insert_contacts(
        db, org.id, [(rnd.uniform(26.10, 26.11), rnd.uniform(44.43, 44.44)) for _ in range(contacts)], tags=[tag]
    )
    await db.commit()
    h = manager.headers
    survey = await api.post("/api/v1/surveys", headers=h, json=SURVEY)
    assert survey.status_code == 201, survey.text
    opp = await api.post("/api/v1/opportunity-types", headers=h, json={"name": "Wants to volunteer"})
    assert opp.status_code == 201, opp.text
    body: dict[str, Any] = {
        "type": kind,
        "title": "Phone bank" if kind == "call" else "Knock on doors",
        "filter": {"tags_any": [tag]},
        "survey_id": survey.json()["id"],
        "brief": "Say hello, then **ask about pensions**.",
        "team_ids": [str(team.id)],
        "status": "active",
    }
    if kind == "call":
        body["assignment"] = {"strategy": "round_robin", "volunteer_ids": [str(volunteer.user_id)]}
    else:
        body["assignment"] = {"strategy": "geographic", "doors_per_turf": 50, "volunteer_ids": [str(volunteer.user_id)]}
    a = await api.post("/api/v1/actions", headers=h, json=body)
    assert a.status_code == 201, a.text
    return Field(manager, volunteer, a.json()["id"], survey.json()["id"], opp.json()["id"], ids)


def watch(page: Page) -> list[str]:
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    return errors


async def log_in(page: Page, base: str, who: Actor, shots: str) -> None:
    await page.goto(base + "/")
    await page.get_by_role("textbox", name="Email").fill(who.email)
    await page.get_by_role("textbox", name="Password").fill(PASSWORD)
    await page.screenshot(path=shot_path(shots, "01-login"))
    await page.get_by_role("button", name="Log in").click()
    # Password hashing is deliberately slow; give it room on a loaded machine.
    await expect(page.get_by_role("heading", name="My actions")).to_be_visible(timeout=60_000)
    # The service worker has precached the app shell once it is active: later visits start offline.
    assert await page.evaluate("() => navigator.serviceWorker.ready.then(r => !!r.active)")


def person_link(page: Page, name: str) -> Locator:
    """A list link: named by the full name, followed by the status and area ("P1 N1 To call · București")."""
    return page.get_by_role("link", name=re.compile(rf"^{re.escape(name)}(\s|$)"))


async def go_offline(context: BrowserContext, page: Page) -> None:
    """Drop the signal and wait until the page has noticed (Chromium reports it asynchronously)."""
    await context.set_offline(True)
    await page.wait_for_function("() => navigator.onLine === false")


def is_post(path_end: str) -> Callable[[Response], bool]:
    return lambda r: r.request.method == "POST" and r.url.endswith(path_end)


def pending_chip(page: Page) -> Locator:
    return page.get_by_role("status").filter(has_text="pending")


def step_of(page: Page, i: int) -> Locator:
    return page.get_by_text(re.compile(rf"^Step {i} of \d+$"))


async def next_step(page: Page) -> None:
    await page.get_by_role("button", name="Next", exact=True).click()


async def settle_draft(page: Page) -> None:
    """The draft is written to IndexedDB 300 ms after the last change."""
    await page.wait_for_timeout(700)


async def fetch_all(engine: AsyncEngine, sql: str, **params: Any) -> list[Any]:
    async with engine.connect() as conn:
        return list((await conn.execute(text(sql), params)).all())


async def test_call_flow_then_offline_reports_sync_exactly_once(
    live_server: str, api: httpx.AsyncClient, live_db: AsyncSession, phone: BrowserContext, owner_engine: AsyncEngine
) -> None:
    f = await make_field(api, live_db, kind="call", contacts=4, tag=f"e2e-{uuid.uuid4().hex[:6]}")
    names = {f"P{n} N{n}" for n in range(1, 5)}
    shots = "calling"
    page = await phone.new_page()
    errors = watch(page)
    await log_in(page, live_server, f.volunteer, shots)
    await page.screenshot(path=shot_path(shots, "02-actions"))

    # action → calling list (Mine / Others)
    await page.get_by_role("link", name="Open Phone bank").click()
    await expect(page.get_by_role("link", name="Calling list")).to_be_visible()
    await page.screenshot(path=shot_path(shots, "03-action-detail"))
    await page.get_by_role("link", name="Calling list").click()
    await expect(page.get_by_role("tab", name="Mine")).to_have_attribute("aria-selected", "true")
    for n in names:
        await expect(person_link(page, n)).to_be_visible()
    await page.screenshot(path=shot_path(shots, "04-calling-list"))

    # 1st call, online, every screen: card → Start call → outcome → consent → survey → details → extras → save
    await page.get_by_role("button", name="Call next contact").click()
    await expect(page.get_by_role("button", name="Start call")).to_be_visible()
    await expect(page.locator("#contact-name")).to_have_text(NAME)
    first = (await page.locator("#contact-name").inner_text()).strip()
    assert first in names
    await page.screenshot(path=shot_path(shots, "05-contact-card"))
    await page.get_by_role("button", name="Start call").click()
    dial = page.get_by_role("link", name=re.compile(r"^Call \+4072\d{7} (mobile|home)$"))
    await expect(dial).to_be_visible()
    assert (await dial.get_attribute("href") or "").startswith("tel:+4072")
    # The brief is one tap away during the call, in a sheet.
    await page.get_by_role("button", name="Show the brief").click()
    brief = page.get_by_role("dialog", name="Brief")
    await expect(brief.get_by_text("ask about pensions")).to_be_visible()
    await page.wait_for_timeout(400)  # the sheet slides in
    await page.screenshot(path=shot_path(shots, "06-brief-sheet"))
    await brief.get_by_role("button", name="Close").click()
    await expect(brief).to_have_count(0)

    # The guided report: outcome first, then consent, then one survey question per screen.
    await expect(step_of(page, 1)).to_be_visible()
    await page.get_by_role("group", name="Outcome").get_by_role("button", name="Answered").click()
    await page.screenshot(path=shot_path(shots, "06-outcome"))
    await next_step(page)
    await expect(step_of(page, 2)).to_be_visible()
    await page.get_by_role("checkbox", name=CONSENT).check()
    await page.screenshot(path=shot_path(shots, "07-consent"))
    await next_step(page)
    worried = page.get_by_role("group", name="Worried about pensions?")
    await expect(worried).to_be_visible()
    await expect(page.get_by_role("group", name="Main topic")).to_have_count(0)  # one question per screen
    await next_step(page)  # the required question blocks the way on
    await expect(page.get_by_text("This answer is required.").first).to_be_visible()
    await expect(worried.get_by_label("Yes")).to_be_visible()
    await page.screenshot(path=shot_path(shots, "07-survey-validation"))
    await worried.get_by_label("Yes").check()
    await next_step(page)
    await page.get_by_role("group", name="Main topic").get_by_label("Pensions").check()
    await page.screenshot(path=shot_path(shots, "08-survey-question"))
    # Back twice and forward again: nothing is lost.
    await page.get_by_role("button", name="Previous").click()
    await expect(page.get_by_role("group", name="Worried about pensions?").get_by_label("Yes")).to_be_checked()
    await page.get_by_role("button", name="Previous").click()
    await expect(page.get_by_role("checkbox", name=CONSENT)).to_be_checked()
    await next_step(page)
    await next_step(page)
    await expect(page.get_by_role("group", name="Main topic").get_by_label("Pensions")).to_be_checked()
    # The page is killed mid-survey and reopened: same step, same answers.
    await settle_draft(page)
    await page.reload()
    await expect(page.get_by_role("group", name="Main topic").get_by_label("Pensions")).to_be_checked()
    await expect(step_of(page, 4)).to_be_visible()
    await page.screenshot(path=shot_path(shots, "08-survey-resumed"))
    await next_step(page)
    await page.get_by_role("group", name="How much?").get_by_label("4").check()
    await next_step(page)
    await expect(page.get_by_role("heading", name="Contact details")).to_be_visible()
    await page.get_by_role("textbox", name="Email", exact=True).fill("first.caller@example.org")
    await page.get_by_role("group", name="Support level").get_by_role("radio", name="2 Leaning supporter").check()
    await page.get_by_role("combobox", name="SMS consent").select_option("granted")
    await page.screenshot(path=shot_path(shots, "08-details"), full_page=True)
    await next_step(page)
    await expect(page.get_by_role("heading", name="Add comments")).to_be_visible()
    await page.get_by_role("textbox", name="Comment").fill("Very friendly")
    await page.get_by_role("group", name="Quality of the conversation").get_by_label("5").check()
    await page.get_by_role("group", name="Mobilized").get_by_label("Yes").check()
    await page.screenshot(path=shot_path(shots, "09-comments"))
    await next_step(page)
    await page.get_by_role("combobox", name="Opportunity type").select_option(label="Wants to volunteer")
    await page.get_by_role("textbox", name="Opportunity note").fill("Saturdays")
    await page.get_by_role("button", name="Add opportunity").click()
    await expect(page.get_by_role("button", name="Next", exact=True)).to_have_count(0)  # the last step
    await page.screenshot(path=shot_path(shots, "09-extras-opportunity"), full_page=True)
    async with page.expect_response(is_post("/report")) as sent:
        await page.get_by_role("button", name="Save and call next").click()
    assert (await sent.value).ok, await (await sent.value).text()
    await expect(pending_chip(page)).to_have_count(0)  # sent at once while online

    # 2nd and 3rd calls are started online (revealing a number is online-only and audited), then the signal drops;
    # "Save and call next" has already opened the 2nd.
    await expect(page.get_by_role("button", name="Start call")).to_be_visible()
    await expect(page.locator("#contact-name")).to_have_text(NAME)
    await expect(page.locator("#contact-name")).not_to_have_text(first)
    second = (await page.locator("#contact-name").inner_text()).strip()
    assert second in names
    await page.get_by_role("button", name="Start call").click()
    await expect(page.get_by_role("group", name="Outcome")).to_be_visible()
    await page.goto(f"{live_server}/actions/{f.action_id}/calls")
    third = sorted(names - {first, second})[0]
    await person_link(page, third).click()
    await page.get_by_role("button", name="Start call").click()
    await expect(page.get_by_role("group", name="Outcome")).to_be_visible()

    await go_offline(phone, page)
    await page.get_by_role("button", name="Answered").click()
    await next_step(page)
    await page.get_by_role("checkbox", name=CONSENT).check()
    await next_step(page)
    await page.get_by_role("group", name="Worried about pensions?").get_by_label("No").check()
    await next_step(page)
    await expect(page.get_by_role("heading", name="Contact details")).to_be_visible()  # skip logic: "no" ends it
    await next_step(page)
    await next_step(page)
    await page.get_by_role("button", name="Save report").click()
    await expect(page.get_by_role("button", name="Next contact")).to_be_visible()
    await expect(page.get_by_role("link", name="Back to the list")).to_be_visible()
    await page.screenshot(path=shot_path(shots, "10-saved"))
    await expect(pending_chip(page)).to_have_text("1 pending")
    await page.get_by_role("link", name="Back to the list").click()  # the list, from the device
    await person_link(page, second).click()
    await expect(page.get_by_role("link", name=re.compile(r"^Call \+4072"))).to_be_visible()  # cached card
    await page.get_by_role("button", name="Absent").click()
    await page.get_by_role("button", name="Save report").click()
    await expect(page.get_by_role("button", name="Next contact")).to_be_visible()
    await expect(pending_chip(page)).to_have_text("2 pending")
    await page.screenshot(path=shot_path(shots, "11-offline-2-pending"))

    # Reload while offline: the shell comes from the service worker, the outbox from IndexedDB.
    await page.reload()
    await page.wait_for_function("() => navigator.onLine === false")
    await expect(pending_chip(page)).to_have_text("2 pending")
    await expect(page.locator("#contact-name")).to_have_text(second)  # the screen rendered from the device
    await page.screenshot(path=shot_path(shots, "12-offline-reloaded"))
    reports = await fetch_all(
        owner_engine, "SELECT id FROM field_reports WHERE action_id = :a", a=uuid.UUID(f.action_id)
    )
    assert len(reports) == 1, reports

    # The signal comes back: the outbox replays by itself on the `online` event (sooner than the 30 s timer);
    # nothing is sent twice.
    await phone.set_offline(False)
    await expect(pending_chip(page)).to_have_count(0, timeout=20_000)
    await page.screenshot(path=shot_path(shots, "13-synced"))

    # Finished contacts stay reachable under "Done"; the list opens on those still to do.
    await page.goto(f"{live_server}/actions/{f.action_id}/calls")
    await expect(person_link(page, first)).to_have_count(0)
    await expect(person_link(page, second)).to_be_visible()  # absent: to try again
    await page.get_by_role("group", name="Show").get_by_role("button", name="Done (2)").click()
    await expect(person_link(page, first)).to_be_visible()
    await expect(person_link(page, third)).to_be_visible()
    await expect(person_link(page, second)).to_have_count(0)
    await page.screenshot(path=shot_path(shots, "14-done-filter"))

    rows = await fetch_all(
        owner_engine,
        """SELECT r.id, r.target_id, r.outcome, r.consent_given, r.comment, r.quality, r.mobilized, r.user_id,
                  c.first_name || ' ' || c.last_name AS name
           FROM field_reports r JOIN contacts c ON c.id = r.contact_id
           WHERE r.action_id = :a AND r.kind = 'call' ORDER BY r.created_at""",
        a=uuid.UUID(f.action_id),
    )
    assert [(r.name, r.outcome) for r in rows] == [(first, "answered"), (third, "answered"), (second, "absent")]
    assert len({r.id for r in rows}) == 3 and len({r.target_id for r in rows}) == 3
    assert all(r.user_id == f.volunteer.user_id for r in rows)
    full = rows[0]
    assert (full.consent_given, full.comment, full.quality, full.mobilized) == (True, "Very friendly", 5, True)
    answers = await fetch_all(
        owner_engine,
        "SELECT report_id, question_id, value FROM survey_answers WHERE report_id = ANY(:ids) ORDER BY question_id",
        ids=[r.id for r in rows],
    )
    by_report: dict[uuid.UUID, dict[str, Any]] = {}
    for a in answers:
        by_report.setdefault(a.report_id, {})[a.question_id] = a.value
    assert by_report[rows[0].id] == {"worried": True, "topic": "pensions", "score": 4}
    assert by_report[rows[1].id] == {"worried": False}
    assert rows[2].id not in by_report
    opps = await fetch_all(
        owner_engine,
        "SELECT report_id, type_id, note FROM opportunities WHERE action_id = :a",
        a=uuid.UUID(f.action_id),
    )
    assert [(o.report_id, str(o.type_id), o.note) for o in opps] == [(full.id, f.opp_type_id, "Saturdays")]
    contact = (
        await fetch_all(
            owner_engine,
            "SELECT email, support_level, consent_sms FROM contacts WHERE id = (SELECT contact_id FROM field_reports "
            "WHERE id = :r)",
            r=full.id,
        )
    )[0]
    assert (contact.email, contact.support_level, contact.consent_sms) == ("first.caller@example.org", 2, "granted")
    targets = await fetch_all(
        owner_engine,
        "SELECT id, status, attempts FROM action_targets WHERE id = ANY(:ids)",
        ids=[r.target_id for r in rows],
    )
    assert all(t.attempts == 1 for t in targets), targets
    assert not errors, errors


async def test_door_to_door_walk_list_visit_and_person_met(
    live_server: str, api: httpx.AsyncClient, live_db: AsyncSession, phone: BrowserContext, owner_engine: AsyncEngine
) -> None:
    f = await make_field(api, live_db, kind="door_to_door", contacts=3, tag=f"e2e-{uuid.uuid4().hex[:6]}")
    shots = "door"
    page = await phone.new_page()
    errors = watch(page)
    await log_in(page, live_server, f.volunteer, shots)
    await page.get_by_role("link", name="Open Knock on doors").click()
    await page.get_by_role("link", name="Walk list").click()

    # The map renders with no tiles (the tile server is unreachable), buildings by street, one link per household.
    await expect(page.get_by_role("region", name="Map of the walk list")).to_be_visible()
    await expect(page.get_by_role("heading", name=re.compile(r"^Building \d+")).first).to_be_visible()
    await expect(page.locator(".leaflet-interactive").first).to_be_attached()
    await expect(person_link(page, "P1 N1")).to_contain_text("Door · To visit")  # a door, not "To call"
    await page.screenshot(path=shot_path(shots, "02-walk-list"))

    # Route order from the phone's position: the server puts the nearest building first (PostGIS distance).
    here: Geolocation = {"latitude": 44.4301, "longitude": 26.1001}
    await phone.grant_permissions(["geolocation"])
    await phone.set_geolocation(here)
    async with page.expect_response(lambda r: "near_lat=" in r.url and "/walklist" in r.url) as routed:
        await page.get_by_role("button", name="Route from my position").click()
    assert (await routed.value).ok
    await expect(page.get_by_text("Nearest door first")).to_be_visible()
    by_distance = await fetch_all(
        owner_engine,
        """SELECT c.street_number FROM action_targets t JOIN contacts c ON c.id = t.contact_id WHERE t.action_id = :a
           ORDER BY ST_Distance(c.location::geography, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography)""",
        a=uuid.UUID(f.action_id),
        lat=here["latitude"],
        lon=here["longitude"],
    )
    headings = page.get_by_role("heading", name=re.compile(r"^Building \d+"))
    await expect(headings).to_have_text([f"Building {r.street_number}" for r in by_distance])
    await expect(page.get_by_text(re.compile(r"^1 household · \d+ m away$")).first).to_be_visible()
    await page.screenshot(path=shot_path(shots, "02-walk-list-route"), full_page=True)
    await person_link(page, "P1 N1").click()

    # The guided visit, like a call; the brief is one tap away; a reload mid-visit resumes at the same step.
    await page.get_by_role("group", name="Outcome at the door").get_by_role("button", name="Opened").click()
    await next_step(page)
    await page.get_by_role("checkbox", name=CONSENT).check()
    await next_step(page)
    await page.get_by_role("group", name="Worried about pensions?").get_by_label("Yes").check()
    await next_step(page)
    await page.get_by_role("group", name="Main topic").get_by_label("Health").check()
    await page.screenshot(path=shot_path(shots, "03-door-question"))
    await next_step(page)
    await next_step(page)  # How much? is optional
    await next_step(page)  # contact details
    await page.get_by_role("textbox", name="Comment").fill("Talked on the stairs")
    await settle_draft(page)
    await page.reload()
    await expect(page.get_by_role("textbox", name="Comment")).to_have_value("Talked on the stairs")
    await expect(step_of(page, 7)).to_be_visible()
    await page.get_by_role("button", name="Previous").click()
    await page.get_by_role("button", name="Previous").click()
    await page.get_by_role("button", name="Previous").click()
    await expect(page.get_by_role("group", name="Main topic").get_by_label("Health")).to_be_checked()
    await next_step(page)
    await next_step(page)
    await next_step(page)
    await next_step(page)  # opportunities, the last step
    await page.get_by_role("button", name="Show the brief").click()
    await expect(page.get_by_role("dialog", name="Brief")).to_contain_text("ask about pensions")
    await page.get_by_role("dialog", name="Brief").get_by_role("button", name="Close").click()
    await page.screenshot(path=shot_path(shots, "03-door-flow-last"))
    async with page.expect_response(is_post("/visits")) as sent:
        await page.get_by_role("button", name="Save visit").click()
    assert (await sent.value).ok, await (await sent.value).text()
    await expect(page.get_by_role("region", name="Map of the walk list")).to_be_visible()

    await page.get_by_role("button", name="Add person met at the door").first.click()
    sheet = page.get_by_role("dialog", name="Person met at the door")
    await expect(sheet).to_be_visible()
    await sheet.get_by_role("textbox", name="First name").fill("Gheorghe")
    await sheet.get_by_role("textbox", name="Last name").fill("Vecinu")
    await sheet.get_by_role("textbox", name="Mobile phone").fill("+40722111222")
    await sheet.get_by_role("button", name="Save person").click()
    await expect(page.get_by_role("alert")).to_contain_text("Consent is required")
    await sheet.get_by_role(
        "checkbox", name=re.compile(r"^The person agrees to org-\w+ processing their data$")
    ).check()
    await sheet.get_by_role("checkbox", name="SMS consent").check()
    await page.screenshot(path=shot_path(shots, "04-person-met"))
    async with page.expect_response(is_post("/visits")) as sent:
        await sheet.get_by_role("button", name="Save person").click()
    assert (await sent.value).ok, await (await sent.value).text()
    await expect(sheet).to_have_count(0)
    await expect(pending_chip(page)).to_have_count(0, timeout=40_000)
    await page.screenshot(path=shot_path(shots, "05-walk-list-after"))

    visits = await fetch_all(
        owner_engine,
        """SELECT r.target_id, r.outcome, r.consent_given, r.comment, c.first_name, c.last_name, c.consent_sms,
                  c.mobile_e164
           FROM field_reports r JOIN contacts c ON c.id = r.contact_id
           WHERE r.action_id = :a AND r.kind = 'visit' ORDER BY r.created_at""",
        a=uuid.UUID(f.action_id),
    )
    assert len(visits) == 2, visits
    door, met = visits
    assert (door.first_name, door.outcome, door.consent_given, door.comment) == (
        "P1",
        "opened",
        True,
        "Talked on the stairs",
    )
    assert door.target_id is not None
    assert (met.first_name, met.last_name, met.mobile_e164, met.consent_sms) == (
        "Gheorghe",
        "Vecinu",
        "+40722111222",
        "granted",
    )
    consent = await fetch_all(
        owner_engine,
        "SELECT status FROM consent_log WHERE contact_id = (SELECT id FROM contacts WHERE first_name = 'Gheorghe' "
        "AND last_name = 'Vecinu' AND organization_id = :o) AND channel = 'data_processing'",
        o=f.manager.org.id,
    )
    assert [c.status for c in consent] == ["granted"], consent
    assert not errors, errors

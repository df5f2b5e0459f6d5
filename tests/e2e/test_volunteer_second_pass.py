"""Issue 18, second pass, in a real browser at 360x740 against the real backend: a report recorded offline carries
the phone's time (the page clock moved forward before the sync), the volunteer corrects it from the Done filter,
"Others" lists team-mates then one team-mate's list, "Text them" logs a P2P text, a person met at a door joins that
building's household; the consent text names the organization's legal name. Every screen: axe-core 0 serious or
critical, every clickable element at least 48x48, a screenshot."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest

pytest.importorskip("playwright.async_api", reason="Playwright (Python) is not installed")
from playwright.async_api import BrowserContext, Page, expect
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from tests.e2e.conftest import shot_path
from tests.e2e.test_hq_console import as_user, serious_violations
from tests.e2e.test_volunteer_pwa import fetch_all, go_offline, is_post, next_step, pending_chip, person_link, watch
from tests.fixtures.contacts import insert_contacts
from tests.fixtures.factories import Actor, make_actor, make_org, make_team

LEGAL = "Asociația Vecinilor"
CONSENT = f"The person agrees to answer and to {LEGAL} recording their answers"

# Every clickable element's box (a checkbox or radio: its label, the target a finger hits).
SMALL_TARGETS = """() => {
  const out = []
  const seen = new Set()
  const els = document.querySelectorAll('button, a[href], select, [role=button], [role=tab], input:not([type=hidden])')
  for (let el of els) {
    if ((el.type === 'checkbox' || el.type === 'radio') && el.closest('label')) el = el.closest('label')
    if (seen.has(el)) continue
    seen.add(el)
    const r = el.getBoundingClientRect()
    const style = getComputedStyle(el)
    if (r.width === 0 || r.height === 0 || style.visibility === 'hidden') continue
    if (el.closest('[aria-hidden=true], .leaflet-control-attribution')) continue
    const label = (el.innerText || el.getAttribute('aria-label') || '').trim().slice(0, 40)
    const size = `${Math.round(r.width)}x${Math.round(r.height)}`
    if (r.width < 47.5 || r.height < 47.5) out.push(`${el.tagName.toLowerCase()} "${label}" ${size}`)
  }
  return out
}"""


async def check_screen(page: Page, shots: str, name: str) -> None:
    """The screen as it is: a screenshot, no serious accessibility violation, no touch target under 48x48."""
    await page.wait_for_timeout(350)  # transitions
    await page.screenshot(path=shot_path(shots, name))
    assert await serious_violations(page) == [], name
    assert await page.evaluate(SMALL_TARGETS) == [], name


async def door_world(api: httpx.AsyncClient, db: AsyncSession, doors: list[tuple[float, float]]) -> dict[str, Any]:
    """A volunteer with a walk list of a door at each (lon, lat) of `doors` (P1, P2…, numbered along one street):
    {"org": its id, "vol": the volunteer, "action_id": the door-to-door action's}."""
    tag = f"e2e-{uuid.uuid4().hex[:6]}"
    org = await make_org(db)
    manager = await make_actor(db, org, "manager")
    vol = await make_actor(db, org, "volunteer")
    team = await make_team(db, org, [vol])
    await insert_contacts(db, org.id, doors, tags=[tag])
    await db.commit()
    a = await api.post(
        "/api/v1/actions",
        headers=manager.headers,
        json={
            "type": "door_to_door",
            "title": "Knock on doors",
            "filter": {"tags_any": [tag]},
            "team_ids": [str(team.id)],
            "status": "active",
            "assignment": {"strategy": "geographic", "doors_per_turf": 50, "volunteer_ids": [str(vol.user_id)]},
        },
    )
    assert a.status_code == 201, a.text
    return {"org": org.id, "vol": vol, "action_id": a.json()["id"]}


async def call_world(api: httpx.AsyncClient, db: AsyncSession, tag: str) -> dict[str, Any]:
    """Two team-mates sharing a calling list (3 people each), an admin who sets the legal name, a P2P template."""
    org = await make_org(db)
    admin = await make_actor(db, org, "admin")
    manager = await make_actor(db, org, "manager")
    ana, bogdan = await make_actor(db, org, "volunteer"), await make_actor(db, org, "volunteer")
    team = await make_team(db, org, [ana, bogdan])
    await insert_contacts(db, org.id, [(26.10 + 0.001 * i, 44.43) for i in range(6)], tags=[tag])
    await db.commit()
    r = await api.patch("/api/v1/organization", headers=admin.headers, json={"legal_name": LEGAL})
    assert r.status_code == 200, r.text
    tpl = await api.post(
        "/api/v1/messaging/templates",
        headers=manager.headers,
        json={"name": "Thanks", "channel": "sms", "body_text": "Thank you {{ contact.first_name }}!"},
    )
    assert tpl.status_code == 201, tpl.text
    a = await api.post(
        "/api/v1/actions",
        headers=manager.headers,
        json={
            "type": "call",
            "title": "Phone bank",
            "filter": {"tags_any": [tag]},
            "team_ids": [str(team.id)],
            "status": "active",
            "p2p_template_id": tpl.json()["id"],
            "assignment": {"strategy": "round_robin", "volunteer_ids": [str(ana.user_id), str(bogdan.user_id)]},
        },
    )
    assert a.status_code == 201, a.text
    return {"org": org.id, "ana": ana, "bogdan": bogdan, "action_id": a.json()["id"]}


async def test_offline_time_correction_teammates_and_texting(
    live_server: str, api: httpx.AsyncClient, live_db: AsyncSession, phone: BrowserContext, owner_engine: AsyncEngine
) -> None:
    w = await call_world(api, live_db, f"e2e-{uuid.uuid4().hex[:6]}")
    ana: Actor = w["ana"]
    shots = "second-pass"
    page = await as_user(phone, ana)
    await page.clock.install()  # the phone's clock, moved forward later
    errors = watch(page)
    await page.goto(f"{live_server}/actions/{w['action_id']}/calls")
    await expect(page.get_by_role("tab", name="Mine")).to_have_attribute("aria-selected", "true")
    await check_screen(page, shots, "01-mine")

    # Others: team-mates first, then one team-mate's list.
    await page.get_by_role("tab", name="Others").click()
    teammate = page.get_by_role("button", name=re.compile(r"Team-mate · 3 left$"))
    await expect(teammate).to_have_count(1)
    await check_screen(page, shots, "02-others-members")
    await teammate.click()
    await expect(page.get_by_role("button", name="All lists")).to_be_visible()
    await expect(page.get_by_role("list").get_by_role("link")).to_have_count(3)
    await check_screen(page, shots, "03-others-one-list")
    await page.get_by_role("button", name="All lists").click()
    await page.get_by_role("tab", name="Mine").click()

    # A call started online (the number is revealed online only), recorded offline.
    await page.get_by_role("button", name="Call next contact").click()
    await page.get_by_role("button", name="Start call").click()
    await expect(page.get_by_role("group", name="Outcome")).to_be_visible()
    name = (await page.locator("#contact-name").inner_text()).strip()
    await go_offline(phone, page)
    await page.get_by_role("group", name="Outcome").get_by_role("button", name="Answered").click()
    await next_step(page)
    await expect(page.get_by_role("checkbox", name=CONSENT)).to_be_visible()  # the legal name, not the software
    await page.get_by_role("checkbox", name=CONSENT).check()
    await check_screen(page, shots, "04-consent-legal-name")
    await next_step(page)
    await expect(page.get_by_role("heading", name="Contact details")).to_be_visible()
    await page.get_by_role("combobox", name="SMS consent").select_option("granted")
    await next_step(page)
    await page.get_by_role("textbox", name="Comment").fill("Keen")
    await next_step(page)
    phone_time_ms = await page.evaluate("() => Date.now()")
    await page.get_by_role("button", name="Save report").click()
    await expect(page.get_by_role("status").filter(has_text="Report saved on the phone")).to_be_visible()
    await expect(pending_chip(page)).to_have_text("1 pending")
    await check_screen(page, shots, "05-saved-offline")
    # The queue names the contact.
    await page.goto(f"{live_server}/profile")
    await expect(page.get_by_text(f"Call report · {name}")).to_be_visible()
    await check_screen(page, shots, "06-queue-names-contact")
    # Later on the phone: the clock moves an hour forward, real time passes, then the signal comes back.
    await page.clock.fast_forward("01:00:00")
    await page.wait_for_timeout(3000)
    await phone.set_offline(False)
    await expect(pending_chip(page)).to_have_count(0, timeout=30_000)
    await expect(page.get_by_text("Offline: showing data saved on")).to_have_count(0)  # the notice clears
    [rep] = await fetch_all(
        owner_engine,
        "SELECT id, recorded_at, created_at, version FROM field_reports WHERE action_id = :a",
        a=uuid.UUID(w["action_id"]),
    )
    # The phone's time when it was saved, not the sync time an hour of phone clock and seconds of real time later.
    assert abs(rep.recorded_at.timestamp() * 1000 - phone_time_ms) < 1000, (rep.recorded_at, phone_time_ms)
    assert rep.created_at - rep.recorded_at > timedelta(seconds=2)

    # Text them: the action's template, for a person who agreed to texts, logged on their timeline.
    await page.goto(f"{live_server}/actions/{w['action_id']}/calls")
    await page.get_by_role("group", name="Show").get_by_role("button", name="Done (1)").click()
    await expect(person_link(page, name)).to_be_visible()  # the card moved at once
    await check_screen(page, shots, "07-done-filter")

    # The correction, from the Done filter: a new version.
    await page.get_by_role("button", name=f"Correct: {name}").click()
    sheet = page.get_by_role("dialog", name="Correct your report")
    await expect(sheet.get_by_role("radio", name="Answered")).to_be_checked()
    await expect(sheet.get_by_role("textbox", name="Comment")).to_have_value("Keen")
    await sheet.get_by_role("radio", name="Refused").check()
    await sheet.get_by_role("textbox", name="Comment").fill("Actually refused")
    await check_screen(page, shots, "08-correction-sheet")
    async with page.expect_response(is_post("/corrections")) as sent:
        await sheet.get_by_role("button", name="Save correction").click()
    assert (await sent.value).ok, await (await sent.value).text()
    await expect(page.get_by_text("Correction saved")).to_have_count(1)  # one confirmation
    [fixed] = await fetch_all(
        owner_engine, "SELECT outcome, comment, version FROM field_reports WHERE id = :r", r=rep.id
    )
    assert (fixed.outcome, fixed.comment, fixed.version) == ("refused", "Actually refused", 2)
    kept = await fetch_all(owner_engine, "SELECT previous FROM field_report_corrections WHERE report_id = :r", r=rep.id)
    assert [k.previous["outcome"] for k in kept] == ["answered"]
    assert not errors, errors


async def test_text_them_after_a_call_logs_the_text(
    live_server: str, api: httpx.AsyncClient, live_db: AsyncSession, phone: BrowserContext, owner_engine: AsyncEngine
) -> None:
    w = await call_world(api, live_db, f"e2e-{uuid.uuid4().hex[:6]}")
    shots = "second-pass-text"
    page = await as_user(phone, w["ana"])
    errors = watch(page)
    await page.goto(f"{live_server}/actions/{w['action_id']}/calls")
    await page.get_by_role("button", name="Call next contact").click()
    await page.get_by_role("button", name="Start call").click()
    await page.get_by_role("group", name="Outcome").get_by_role("button", name="Answered").click()
    await next_step(page)
    await page.get_by_role("checkbox", name=CONSENT).check()
    await next_step(page)
    await page.get_by_role("combobox", name="SMS consent").select_option("granted")
    await next_step(page)
    await next_step(page)
    await page.get_by_role("button", name="Save report").click()
    text_them = page.get_by_role("button", name="Text them")
    await expect(text_them).to_be_visible()
    await check_screen(page, shots, "01-saved-text-them")
    sms_links: list[str] = []
    page.on("framenavigated", lambda fr: sms_links.append(fr.url))
    async with page.expect_response(is_post("/p2p-text")) as logged:
        await text_them.click()
    assert (await logged.value).ok, await (await logged.value).text()
    events = await fetch_all(
        owner_engine,
        "SELECT e.data, c.first_name FROM contact_events e JOIN contacts c ON c.id = e.contact_id "
        "WHERE e.action_id = :a AND e.kind = 'message'",
        a=uuid.UUID(w["action_id"]),
    )
    assert len(events) == 1 and events[0].data["body"] == f"Thank you {events[0].first_name}!"
    audits = await fetch_all(
        owner_engine,
        "SELECT count(*) AS n FROM audit_log WHERE organization_id = :o AND action = 'p2p_text.sent'",
        o=w["org"],
    )
    assert audits[0].n == 1
    assert not errors, errors


async def test_a_person_met_at_a_door_joins_that_buildings_household(
    live_server: str, api: httpx.AsyncClient, live_db: AsyncSession, phone: BrowserContext, owner_engine: AsyncEngine
) -> None:
    w = await door_world(api, live_db, [(26.10, 44.43), (26.12, 44.44)])  # two buildings apart
    aid, vol = w["action_id"], w["vol"]
    shots = "second-pass-door"
    page = await as_user(phone, vol)
    errors = watch(page)
    await page.goto(f"{live_server}/actions/{aid}/walk")
    await expect(page.get_by_text(re.compile(r"^1 household")).first).to_be_visible()  # plural rules
    await check_screen(page, shots, "01-walk-list")
    await person_link(page, "P1 N1").click()
    await expect(page.get_by_role("group", name="Outcome at the door")).to_be_visible()
    await check_screen(page, shots, "02-door")
    await page.get_by_role("button", name="Add person met at the door").click()
    sheet = page.get_by_role("dialog", name="Person met at the door")
    await sheet.get_by_role("textbox", name="First name").fill("Ileana")
    await sheet.get_by_role("textbox", name="Last name").fill("Vecina")
    await sheet.get_by_role(
        "checkbox", name=re.compile(r"^The person agrees to org-\w+ processing their data$")
    ).check()
    await check_screen(page, shots, "03-person-met")
    async with page.expect_response(is_post("/visits")) as sent:
        await sheet.get_by_role("button", name="Save person").click()
    assert (await sent.value).ok, await (await sent.value).text()
    await page.goto(f"{live_server}/actions/{aid}/walk")
    # Met and talked to: a visited household (under Done); the door she was met at is still to be reported.
    await page.get_by_role("group", name="Show").get_by_role("button", name="Done (1)").click()
    await expect(person_link(page, "Ileana Vecina")).to_contain_text("Door · Visited")
    await check_screen(page, shots, "04-walk-list-household")
    [row] = await fetch_all(
        owner_engine,
        """SELECT n.street = d.street AND n.street_number = d.street_number AS same_address,
                  ST_Equals(n.location, d.location) AS same_place
           FROM contacts n, contacts d WHERE n.organization_id = :o AND n.last_name = 'Vecina'
           AND d.organization_id = :o AND d.first_name = 'P1'""",
        o=w["org"],
    )
    assert row.same_address and row.same_place
    # In the walk list, they are one of the households of P1's building.
    wl = (await api.get(f"/api/v1/actions/{aid}/walklist", headers=vol.headers)).json()
    homes = {b["key"]: {h["first_name"] for h in b["households"]} for s in wl["streets"] for b in s["buildings"]}
    assert any({"P1", "Ileana"} <= names for names in homes.values()), homes
    assert not errors, errors

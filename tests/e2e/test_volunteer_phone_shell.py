"""Issue 18's phone polish in a real browser at 360x740 against the built PWA: a long Romanian name and a long
address wrap in the lists and the guided flows (nothing wider than the screen, nothing cut), Android's install
prompt is kept until the volunteer taps "Install the app" (then `prompt()` is called once), and the service worker
controls the page that installed it, without a reload (`clients.claim()`)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

pytest.importorskip("playwright.async_api", reason="Playwright (Python) is not installed")
from playwright.async_api import BrowserContext, Page, expect
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tests.e2e.conftest import shot_path
from tests.e2e.test_hq_console import as_user
from tests.e2e.test_volunteer_pwa import next_step, person_link, watch
from tests.fixtures.contacts import insert_contacts
from tests.fixtures.factories import make_actor, make_org, make_team

FIRST, LAST = "Maria-Magdalena Alexandrina", "Ștefănescu-Constantinescu-Brâncoveanu"
STREET, NUMBER, CITY = "Bulevardul Mareșal Constantin Prezan-Averescu", "123A bis", "Sfântu Gheorghe-Dumbrăvița"
LEGAL = "Asociația pentru Dezvoltarea Comunitară a Cartierului Drumul Taberei-Ghencea"

# The page is no wider than the screen, and no text is cut by a box narrower than its content. The one exception
# by design: the top app bar's title is one line, ended by an ellipsis (Material 3), the screen repeating it whole.
OVERFLOW = """() => {
  const out = []
  const doc = document.scrollingElement
  if (doc.scrollWidth > doc.clientWidth) out.push(`document ${doc.scrollWidth} > ${doc.clientWidth}`)
  for (const el of document.querySelectorAll('#app *')) {
    if (el.closest('.leaflet-container, [aria-hidden=true], svg, .top-app-bar h1')) continue
    const r = el.getBoundingClientRect()
    if (r.width === 0 || r.height === 0 || getComputedStyle(el).visibility === 'hidden') continue
    const name = `${el.tagName.toLowerCase()}${el.id ? '#' + el.id : ''}.${[...el.classList].join('.')}`
    const txt = (el.innerText || '').trim().slice(0, 30)
    if (r.right > innerWidth + 0.5 || r.left < -0.5)
      out.push(`${name} "${txt}" spans ${Math.round(r.left)}..${Math.round(r.right)}`)
    if (el.scrollWidth > el.clientWidth + 1 && getComputedStyle(el).overflowX !== 'visible' && txt)
      out.push(`${name} "${txt}" cut: ${el.scrollWidth} > ${el.clientWidth}`)
  }
  return out
}"""


async def fits(page: Page, shots: str, name: str) -> None:
    await page.wait_for_timeout(350)  # transitions
    await page.screenshot(path=shot_path(shots, name))
    assert await page.evaluate(OVERFLOW) == [], name


async def long_world(api: httpx.AsyncClient, db: AsyncSession) -> dict[str, Any]:
    """One person with a long name at a long address, on a calling list and on a walk list; a long legal name."""
    tag = f"e2e-{uuid.uuid4().hex[:6]}"
    org = await make_org(db)
    admin = await make_actor(db, org, "admin")
    manager = await make_actor(db, org, "manager")
    vol = await make_actor(db, org, "volunteer")
    team = await make_team(db, org, [vol])
    [cid] = await insert_contacts(db, org.id, [(26.10, 44.43)], tags=[tag], street=STREET, city=CITY)
    await db.execute(
        text("UPDATE contacts SET first_name = :f, last_name = :l, street_number = :n WHERE id = :c"),
        {"f": FIRST, "l": LAST, "n": NUMBER, "c": cid},
    )
    await db.commit()
    r = await api.patch("/api/v1/organization", headers=admin.headers, json={"legal_name": LEGAL})
    assert r.status_code == 200, r.text
    ids = {}
    for kind, assignment in (
        ("call", {"strategy": "round_robin", "volunteer_ids": [str(vol.user_id)]}),
        ("door_to_door", {"strategy": "geographic", "doors_per_turf": 50, "volunteer_ids": [str(vol.user_id)]}),
    ):
        a = await api.post(
            "/api/v1/actions",
            headers=manager.headers,
            json={
                "type": kind,
                "title": f"{kind} for the long names",
                "filter": {"tags_any": [tag]},
                "team_ids": [str(team.id)],
                "status": "active",
                "assignment": assignment,
            },
        )
        assert a.status_code == 201, a.text
        ids[kind] = a.json()["id"]
    return {"vol": vol, **ids}


async def test_a_long_romanian_name_and_address_wrap_on_a_phone(
    live_server: str, api: httpx.AsyncClient, live_db: AsyncSession, phone: BrowserContext
) -> None:
    w = await long_world(api, live_db)
    shots = "phone-long-text"
    page = await as_user(phone, w["vol"])
    errors = watch(page)
    name = f"{FIRST} {LAST}"

    # The calling list, then the guided call: the card (with the address), the outcome, the consent.
    await page.goto(f"{live_server}/actions/{w['call']}/calls")
    await expect(person_link(page, name)).to_be_visible()
    await fits(page, shots, "01-call-list")
    await person_link(page, name).click()
    await page.get_by_role("button", name="Start call").click()
    await expect(page.get_by_text(STREET)).to_be_visible()
    await expect(page.locator("#contact-name")).to_have_text(name)  # whole, under the app bar's shortened title
    await fits(page, shots, "02-call-card")
    await page.get_by_role("group", name="Outcome").get_by_role("button", name="Answered").click()
    await fits(page, shots, "03-call-outcome")
    await next_step(page)
    await expect(
        page.get_by_role("checkbox", name=f"The person agrees to answer and to {LEGAL} recording")
    ).to_be_visible()
    await fits(page, shots, "04-call-consent")

    # The walk list (street and building), then the door flow (the app bar's title is the name).
    await page.goto(f"{live_server}/actions/{w['door_to_door']}/walk")
    await expect(person_link(page, name)).to_be_visible()
    await person_link(page, name).scroll_into_view_if_needed()
    # Scrolled to, it is not left under the bottom nav (the page's scroll padding).
    box, nav = await person_link(page, name).bounding_box(), await page.get_by_role("navigation").bounding_box()
    assert box and nav and box["y"] + box["height"] <= nav["y"], (box, nav)
    await fits(page, shots, "05-walk-list")
    await person_link(page, name).click()
    await expect(page.get_by_role("group", name="Outcome at the door")).to_be_visible()
    await fits(page, shots, "06-door-outcome")
    await page.get_by_role("group", name="Outcome at the door").get_by_role("button", name="Opened").click()
    await next_step(page)
    await fits(page, shots, "07-door-consent")
    assert not errors, errors


async def test_the_install_button_appears_on_beforeinstallprompt_and_prompts_once(
    live_server: str, api: httpx.AsyncClient, live_db: AsyncSession, phone: BrowserContext
) -> None:
    org = await make_org(live_db)
    vol = await make_actor(live_db, org, "volunteer")
    await live_db.commit()
    page = await as_user(phone, vol)
    errors = watch(page)
    await page.goto(f"{live_server}/profile")
    install = page.get_by_role("button", name="Install the app")
    await expect(page.get_by_role("heading", name="Profile")).to_be_visible()
    await expect(install).to_have_count(0)  # nothing to offer before Chrome says the app can be installed
    # What Chrome on Android fires: an event whose prompt() shows the install dialog.
    prevented = await page.evaluate(
        """() => {
          const e = new Event('beforeinstallprompt', { cancelable: true })
          window.__prompts = 0
          e.prompt = () => { window.__prompts += 1; return Promise.resolve() }
          e.userChoice = Promise.resolve({ outcome: 'accepted', platform: 'web' })
          window.dispatchEvent(e)
          return e.defaultPrevented
        }"""
    )
    assert prevented  # kept for the volunteer's tap instead of Chrome's own mini-infobar
    await expect(install).to_be_visible()
    await page.screenshot(path=shot_path("phone-install", "01-install-button"))
    await install.click()
    await expect(install).to_have_count(0)  # a prompt can be shown once
    assert await page.evaluate("() => window.__prompts") == 1
    assert not errors, errors


async def test_the_service_worker_controls_the_first_page_without_a_reload(
    live_server: str, phone: BrowserContext
) -> None:
    page = await phone.new_page()
    errors = watch(page)
    await page.goto(f"{live_server}/login")
    await expect(page.get_by_role("button", name="Log in")).to_be_visible()
    assert await page.evaluate("() => navigator.serviceWorker.controller") is None  # a first visit: no worker yet
    await page.wait_for_function("() => navigator.serviceWorker.ready.then(r => !!r.active)")
    # Activated, the worker claims the open page: the first loss of signal already finds it.
    await page.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=20_000)
    script = await page.evaluate("() => navigator.serviceWorker.controller.scriptURL")
    assert script.endswith("/sw.js"), script
    assert not errors, errors

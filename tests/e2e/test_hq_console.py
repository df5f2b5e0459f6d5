"""The HQ console (issue 14) in a real browser against the real backend: Debian's Chromium at 1440x900 drives
dist/hq/ served by uvicorn at /hq/. Sign in, the contacts table, a polygon drawn on the map whose preview count is
the API's count for the same shape and whose action holds those targets, a CSV import to 100% with its rejected
rows downloaded, an opportunity on the board, a volunteer refused; axe-core on every page, screenshots of each."""

from __future__ import annotations

import csv
import io
import json
import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

pytest.importorskip("playwright.async_api", reason="Playwright (Python) is not installed")
from playwright.async_api import BrowserContext, Locator, Page, Route, expect
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.config import ROOT
from tests.fixtures.contacts import insert_contacts
from tests.fixtures.factories import PASSWORD, Actor, make_actor, make_org, make_team

DESKTOP = {"width": 1440, "height": 900}
AXE = ROOT / "pwa" / "node_modules" / "axe-core" / "axe.min.js"
SHOTS = Path(__file__).parent / "artifacts" / "hq"


@pytest.fixture
async def desktop(browser: object) -> AsyncIterator[BrowserContext]:
    context = await browser.new_context(viewport=DESKTOP, locale="en-US", accept_downloads=True)  # type: ignore[attr-defined]
    context.set_default_timeout(30_000)
    try:
        yield context
    finally:
        await context.close()


def shot(name: str) -> str:
    SHOTS.mkdir(parents=True, exist_ok=True)
    return str(SHOTS / f"{name}.png")


async def as_user(context: BrowserContext, who: Actor) -> Page:
    """A page already signed in as `who` (the token the volunteer app and the console share)."""
    # Top frame only: a sandboxed frame (the email preview) has no storage and would throw.
    token = json.dumps(who.token)
    await context.add_init_script(f"if (window === window.top) localStorage.setItem('gg.token', {token})")
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.errors = errors  # type: ignore[attr-defined]
    return page


async def choose(page: Page, field: str | Locator, option: str | re.Pattern[str]) -> None:
    """Opens a Vuetify select (by its label, or its field's locator) and picks an option. A menu opened while the
    page still moves (a stepper's window sliding in) can close again at once (seen under a loaded full run), so a
    select that shows no option is opened again (closed first if its menu is open but empty: an Escape with no
    menu open would close a dialog instead); the action wizard's "a list failed to load" alert fails the test with
    its message instead of a timeout."""
    if isinstance(field, str):
        field = page.get_by_label(field, exact=True)
    await expect(field).to_be_visible()
    item = page.get_by_role("option", name=option)
    # Its field, clicked when it stands still (a click during a dialog's opening can land on the scrim): the
    # selection text covers the input itself.
    control = field.locator("xpath=ancestor::*[contains(concat(' ', @class, ' '), ' v-field ')][1]")
    for _ in range(3):
        await control.click()
        try:
            await expect(item).to_be_visible(timeout=5_000)
            break
        except AssertionError:
            await expect(page.get_by_test_id("lists-failed")).to_have_count(0)
            if await field.get_attribute("aria-expanded") == "true":
                await page.keyboard.press("Escape")
    await item.click()


# The contrast of a tonal alert's text on its own background (its underlay: the text's colour at the underlay's
# opacity over what is behind the alert), which axe-core leaves undecided (a background of overlaid layers).
TONAL_CONTRAST = """(el) => {
  const rgb = (s) => s.match(/[\\d.]+/g).map(Number)
  const lum = (c) => c.slice(0, 3).map((v) => (v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4)
    .reduce((sum, v, i) => sum + [0.2126, 0.7152, 0.0722][i] * v, 0)
  const text = rgb(getComputedStyle(el).color)
  const under = el.querySelector('.v-alert__underlay')
  const a = under ? Number(getComputedStyle(under).opacity) : 0
  let back = [255, 255, 255]
  for (let p = el.parentElement; p; p = p.parentElement) {
    const c = rgb(getComputedStyle(p).backgroundColor)
    if (c.length < 4 || c[3] > 0) { back = c; break }
  }
  const [hi, lo] = [lum(text), lum(back.slice(0, 3).map((b, i) => (1 - a) * b + a * text[i]))].sort((x, y) => y - x)
  return (hi + 0.05) / (lo + 0.05)
}"""


async def serious_violations(page: Page) -> list[str]:
    """axe-core's serious and critical violations on the page as it is now."""
    if not AXE.exists():
        pytest.skip(f"{AXE} is missing: `npm ci` in pwa/")
    # Evaluated through the DevTools protocol: the page's CSP (script-src 'self') forbids an injected <script>.
    # Colours read mid-transition are faded (a hint sliding in): let running animations finish first.
    await page.wait_for_function(
        "() => document.getAnimations().every(a => a.playState !== 'running'"
        " || a.effect?.getTiming().iterations === Infinity)"
    )
    if not await page.evaluate("() => typeof axe !== 'undefined'"):
        await page.evaluate(AXE.read_text(encoding="utf-8") + "\n;undefined")
    result = await page.evaluate("() => axe.run(document, { resultTypes: ['violations'] })")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — {[(n['target'], n['html'][:200], n['failureSummary']) for n in v['nodes'][:3]]}"  # noqa: E501
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


async def setup_org(db: AsyncSession, inside: int = 5, outside: int = 3) -> tuple[Actor, list[uuid.UUID]]:
    org = await make_org(db, name=f"Party {uuid.uuid4().hex[:4]}")
    admin = await make_actor(db, org, "admin")
    # Near the map's default centre (26.10, 44.43) and, further away, contacts no small drawing reaches.
    pts = [(26.100 + 0.001 * i, 44.430 + 0.001 * i) for i in range(inside)]
    pts += [(26.60 + 0.01 * i, 44.90) for i in range(outside)]
    ids = await insert_contacts(db, org.id, pts, tags=["e2e"])
    await db.commit()
    return admin, ids


# Every animation frame from the page's start: where the drawer's right edge and the overview's first card are.
LAYOUT_FRAMES = """(() => { window.__frames = []; const t0 = performance.now();
  function tick() {
    const d = document.querySelector('.v-navigation-drawer'), c = document.querySelector('.grid-3 .v-card');
    const login = !!document.querySelector('input[type=password]')
    if (d || c) window.__frames.push({ t: Math.round(performance.now() - t0), login,
      drawer: d ? d.getBoundingClientRect().right : null, card: c ? c.getBoundingClientRect().left : null });
    if (performance.now() - t0 < 20000) requestAnimationFrame(tick);
  }
  requestAnimationFrame(tick); })()"""


async def test_sign_in_then_every_page_shows_the_base_and_passes_axe(
    live_server: str, api: httpx.AsyncClient, live_db: AsyncSession, desktop: BrowserContext
) -> None:
    admin, ids = await setup_org(live_db)
    await desktop.add_init_script(LAYOUT_FRAMES)
    page = await desktop.new_page()
    await page.goto(live_server + "/hq/")
    await expect(page.get_by_role("textbox", name="Email")).to_be_visible()
    await page.get_by_role("textbox", name="Email").fill(admin.email)
    await page.get_by_role("textbox", name="Password").fill(PASSWORD)
    await page.screenshot(path=shot("01-login"))
    problems: dict[str, list[str]] = {"login": await serious_violations(page)}
    await page.get_by_role("button", name="Sign in").click()

    # Overview: the counts come from the database.
    await expect(page.locator("[data-figure='overview.contacts']")).to_have_text(str(len(ids)), timeout=60_000)
    await expect(page.get_by_text(admin.org.name).first).to_be_visible()
    await page.screenshot(path=shot("02-overview"))
    # The drawer appears with the shell after sign-in: never on the sign-in page, and never over the first card
    # (the main area was sliding its padding in from 0 under a drawer already in place).
    frames = await page.evaluate("() => window.__frames")
    assert not [f for f in frames if f["login"] and f["drawer"] is not None], frames[:3]
    covered = [f for f in frames if f["drawer"] is not None and f["card"] is not None and f["card"] < f["drawer"]]
    assert any(f["card"] is not None for f in frames)
    assert covered == [], covered[:3]
    problems["overview"] = await serious_violations(page)

    # Contacts: the table holds the rows of the database (names P1 N1 … from the fixture).
    await page.get_by_role("link", name="Contacts").first.click()
    await expect(page.get_by_test_id("live-count")).to_have_text(f"{len(ids)} contacts")
    for n in range(1, len(ids) + 1):
        await expect(page.get_by_role("link", name=f"P{n} N{n}", exact=True)).to_be_visible()
    await page.screenshot(path=shot("03-contacts"))
    problems["contacts"] = await serious_violations(page)

    await page.get_by_role("link", name="P1 N1", exact=True).click()
    await expect(page.get_by_role("heading", name="P1 N1")).to_be_visible()
    await page.screenshot(path=shot("04-contact"))
    problems["contact"] = await serious_violations(page)

    for path, name, heading in [
        ("/hq/map", "05-map", "Map"),
        ("/hq/actions", "06-actions", "Actions"),
        ("/hq/actions/new", "07-wizard", "New action"),
        ("/hq/surveys", "08-surveys", "Surveys"),
        ("/hq/tasks", "09-tasks", "Tasks"),
        ("/hq/teams", "10-teams", "Teams"),
        ("/hq/imports", "11-imports", "Imports"),
        ("/hq/settings", "12-settings", "Settings"),
    ]:
        await page.goto(live_server + path)
        await expect(page.get_by_role("heading", name=re.compile(rf"^{heading}")).first).to_be_visible()
        if path == "/hq/map":
            await expect(page.locator(".maplibregl-canvas")).to_be_visible()
        await page.wait_for_timeout(400)
        await page.screenshot(path=shot(name))
        problems[name] = await serious_violations(page)
    bad = {k: v for k, v in problems.items() if v}
    (SHOTS / "axe.json").write_text(json.dumps(bad, indent=1, ensure_ascii=False))
    assert bad == {}, json.dumps(bad, indent=1, ensure_ascii=False)


async def click_canvas(page: Page, points: list[tuple[float, float]]) -> None:
    box = await page.get_by_test_id("area-map").bounding_box()
    assert box
    for x, y in points:
        await page.mouse.move(box["x"] + x, box["y"] + y)
        await page.wait_for_timeout(120)
        await page.mouse.click(box["x"] + x, box["y"] + y)
        await page.wait_for_timeout(250)


async def test_polygon_drawn_in_the_wizard_counts_like_the_api_and_becomes_the_actions_targets(
    live_server: str, api: httpx.AsyncClient, live_db: AsyncSession, desktop: BrowserContext, owner_engine: AsyncEngine
) -> None:
    admin, ids = await setup_org(live_db, inside=5, outside=3)
    page = await as_user(desktop, admin)
    await page.goto(live_server + "/hq/actions/new")
    await page.get_by_label("Phone banking").check()
    await page.get_by_role("button", name="Next").click()
    await page.get_by_label("Title", exact=True).fill("Bucharest centre calls")
    await page.get_by_role("button", name="Next").click()
    await page.get_by_role("button", name="Area drawn on the map").click()
    await expect(page.locator("[data-testid='area-map'] .maplibregl-canvas")).to_be_visible(timeout=60_000)
    await page.wait_for_timeout(1500)  # the style has loaded and terra-draw is listening
    await page.get_by_role("button", name="Draw a polygon").click()
    box = await page.get_by_test_id("area-map").bounding_box()
    assert box
    cx, cy = box["width"] / 2, box["height"] / 2
    # A square around the map's centre (26.10, 44.43) with the five near contacts in it, closed on the first point.
    square = [(cx - 60, cy + 60), (cx + 90, cy + 60), (cx + 90, cy - 90), (cx - 60, cy - 90), (cx - 60, cy + 60)]
    await click_canvas(page, square)
    await page.screenshot(path=shot("20-wizard-drawn"))

    # The drawn shape is in the wizard's draft: the API's count for it is the count shown.
    draft = await page.evaluate("() => JSON.parse(localStorage.getItem('gg.hq.wizardDraft'))")
    polygon = draft["form"]["polygon"]
    assert polygon and polygon["type"] == "Polygon", draft
    r = await api.post("/api/v1/contacts/count", headers=admin.headers, json={"filter": {"polygon": polygon}})
    assert r.status_code == 200, r.text
    expected = r.json()["count"]
    assert expected == 5
    await expect(page.get_by_test_id("target-count")).to_have_text(f"{expected} targets")
    problems = await serious_violations(page)

    for _ in range(3):
        await page.get_by_role("button", name="Next").click()
    await expect(page.get_by_role("button", name="Create the action")).to_be_visible()
    await page.screenshot(path=shot("21-wizard-summary"))
    await page.get_by_role("button", name="Create the action").click()
    await expect(page.get_by_test_id("action-targets")).to_have_text(str(expected), timeout=30_000)
    await page.screenshot(path=shot("22-action"))
    problems += await serious_violations(page)
    action_id = page.url.rsplit("/", 1)[-1]
    async with owner_engine.connect() as conn:
        targets = (
            await conn.execute(text("SELECT contact_id FROM action_targets WHERE action_id = :a"), {"a": action_id})
        ).scalars()
        inside = set(ids[:5])
        assert set(targets) == inside
    assert problems == []
    assert page.errors == []  # type: ignore[attr-defined]


def _square(x0: float, y0: float, x1: float, y1: float) -> list[list[float]]:
    return [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]


async def test_an_area_of_several_pieces_is_edited_piece_by_piece_and_a_drawn_shape_adds_one(
    live_server: str, api: httpx.AsyncClient, live_db: AsyncSession, desktop: BrowserContext
) -> None:
    """What hexagons picked on the dashboard's map bring to the wizard: a MultiPolygon, drawn as its pieces."""
    admin, _ids = await setup_org(live_db, inside=5, outside=3)
    # The five near contacts in one piece; the first far one (26.60, 44.90) in the other.
    area = {
        "type": "MultiPolygon",
        "coordinates": [[_square(26.099, 44.429, 26.106, 44.436)], [_square(26.595, 44.895, 26.605, 44.905)]],
    }
    r = await api.post("/api/v1/contacts/count", headers=admin.headers, json={"filter": {"polygon": area}})
    assert r.status_code == 200, r.text
    assert r.json()["count"] == 6
    page = await as_user(desktop, admin)
    await page.goto(live_server + "/hq/")
    draft = {"step": 3, "form": {"type": "call", "title": "Two pieces", "target": "polygon", "polygon": area}}
    await page.evaluate("(d) => localStorage.setItem('gg.hq.wizardDraft', JSON.stringify(d))", draft)
    await page.goto(live_server + "/hq/actions/new")
    picker = page.get_by_test_id("area-map")
    await expect(picker.locator(".maplibregl-canvas")).to_be_visible(timeout=60_000)
    await expect(picker).to_have_attribute("data-pieces", "2")
    await expect(page.get_by_test_id("area-pieces")).to_have_text("2 pieces: each is edited on its own")
    await expect(page.get_by_test_id("target-count")).to_have_text("6 targets")
    await page.wait_for_timeout(1500)  # the style has loaded and terra-draw is listening
    await page.screenshot(path=shot("20b-wizard-area-of-two-pieces"))
    problems = await serious_violations(page)

    # A shape drawn now is one more piece: the draft holds all three, the first two as they were.
    await page.get_by_role("button", name="Draw a polygon").click()
    box = await picker.bounding_box()
    assert box
    cx, cy = box["width"] / 2, box["height"] / 2
    await click_canvas(page, [(cx - 30, cy + 30), (cx + 30, cy + 30), (cx + 30, cy - 30), (cx - 30, cy + 30)])
    await expect(picker).to_have_attribute("data-pieces", "3")
    stored = await page.evaluate("() => JSON.parse(localStorage.getItem('gg.hq.wizardDraft'))")
    polygon = stored["form"]["polygon"]
    assert polygon["type"] == "MultiPolygon" and len(polygon["coordinates"]) == 3, polygon
    assert [p[0][0][:2] for p in polygon["coordinates"][:2]] == [[26.099, 44.429], [26.595, 44.895]]
    await page.screenshot(path=shot("20c-wizard-piece-added"))

    await page.get_by_role("button", name="Clear", exact=True).click()
    await expect(picker).to_have_attribute("data-pieces", "0")
    await expect(page.get_by_test_id("area-pieces")).to_have_count(0)
    assert problems == []
    assert page.errors == []  # type: ignore[attr-defined]


def csv_file() -> bytes:
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["Prenume", "Nume", "Telefon mobil", "Email", "Localitate"])
    w.writerow(["Ana", "Pop", "0722 123 456", "ana@example.org", "București"])
    w.writerow(["Ion", "Ionescu", "0733 111 222", "", "Cluj-Napoca"])
    w.writerow(["Bad", "Email", "", "not-an-email", ""])
    return out.getvalue().encode()


@pytest.mark.usefixtures("arq_worker")
async def test_csv_import_reaches_100_percent_and_the_rejected_rows_download(
    live_server: str, live_db: AsyncSession, desktop: BrowserContext, tmp_path: Path
) -> None:
    admin, _ = await setup_org(live_db, inside=0, outside=0)
    page = await as_user(desktop, admin)
    await page.goto(live_server + "/hq/imports")
    f = tmp_path / "people.csv"
    f.write_bytes(csv_file())
    await page.get_by_label("CSV file", exact=True).set_input_files(str(f))
    await expect(page.get_by_role("cell", name="ana@example.org")).to_be_visible()
    await page.screenshot(path=shot("30-import-mapping"))
    problems = await serious_violations(page)
    await page.get_by_role("button", name="Start the import").click()
    bar = page.get_by_test_id("import-progress")
    await expect(bar).to_have_attribute("aria-valuenow", "100", timeout=60_000)
    await expect(page.get_by_text("2 created, 0 updated, 0 skipped, 1 rejected").first).to_be_visible()
    await expect(page.get_by_role("cell", name="2 created, 0 updated, 0 skipped, 1 rejected")).to_be_visible()
    await page.screenshot(path=shot("31-import-done"))
    problems += await serious_violations(page)
    async with page.expect_download() as dl:
        await page.get_by_role("button", name="Download rejected rows").first.click()
    path = await (await dl.value).path()
    body = Path(path).read_text(encoding="utf-8-sig")
    rows = list(csv.reader(io.StringIO(body)))
    assert rows[0] == ["line", "reason", "row"]
    assert [(r[0], r[1]) for r in rows[1:]] == [("4", "email: not a valid email address")]
    assert problems == []


async def test_an_opportunity_raised_through_the_api_is_on_the_board(
    live_server: str, api: httpx.AsyncClient, live_db: AsyncSession, desktop: BrowserContext
) -> None:
    admin, ids = await setup_org(live_db, inside=1, outside=0)
    t = await api.post("/api/v1/opportunity-types", headers=admin.headers, json={"name": "Wants a yard sign"})
    assert t.status_code == 201, t.text
    body: dict[str, Any] = {"type_id": t.json()["id"], "contact_id": str(ids[0]), "note": "Corner house, blue gate"}
    o = await api.post("/api/v1/opportunities", headers=admin.headers, json=body)
    assert o.status_code == 201, o.text
    page = await as_user(desktop, admin)
    await page.goto(live_server + "/hq/tasks")
    selector = f"[data-opportunity='{o.json()['id']}']"
    card = page.locator(selector)
    await expect(card).to_contain_text("Wants a yard sign")
    await expect(card).to_contain_text("Corner house, blue gate")
    await expect(page.get_by_role("region", name=re.compile("^Open")).locator(selector)).to_be_visible()
    await page.screenshot(path=shot("40-board"))
    assert await serious_violations(page) == []


async def test_a_volunteer_is_refused_the_staff_pages(
    live_server: str, live_db: AsyncSession, desktop: BrowserContext
) -> None:
    org = await make_org(live_db)
    volunteer = await make_actor(live_db, org, "volunteer")
    await live_db.commit()
    page = await as_user(desktop, volunteer)
    for path in ("/hq/", "/hq/contacts", "/hq/map", "/hq/imports"):
        await page.goto(live_server + path)
        await expect(page.get_by_role("heading", name="This console is for staff")).to_be_visible()
        await expect(page.get_by_role("table")).to_have_count(0)
    await expect(page.get_by_role("link", name="Open the volunteer app")).to_have_attribute("href", "/")
    await page.screenshot(path=shot("50-refused"))
    assert await serious_violations(page) == []


async def test_a_zone_drawn_on_the_map_is_saved_and_a_crossing_import_is_shown_where_it_crosses(
    live_server: str, live_db: AsyncSession, desktop: BrowserContext, owner_engine: AsyncEngine, tmp_path: Path
) -> None:
    admin, _ = await setup_org(live_db, inside=5, outside=3)
    page = await as_user(desktop, admin)
    await page.goto(live_server + "/hq/map")
    await expect(page.locator("[data-testid='map'] .maplibregl-canvas")).to_be_visible(timeout=60_000)
    await page.wait_for_timeout(1500)
    await page.get_by_role("button", name="Draw a polygon").click()
    box = await page.get_by_test_id("map").bounding_box()
    assert box
    cx, cy = box["width"] / 2, box["height"] / 2
    for x, y in [(cx - 60, cy + 60), (cx + 90, cy + 60), (cx + 90, cy - 90), (cx - 60, cy - 90), (cx - 60, cy + 60)]:
        await page.mouse.move(box["x"] + x, box["y"] + y)
        await page.wait_for_timeout(120)
        await page.mouse.click(box["x"] + x, box["y"] + y)
        await page.wait_for_timeout(250)
    await expect(page.get_by_test_id("drawn-count")).to_have_text("5 contacts")
    await page.get_by_label("Zone name").fill("Centre")
    await page.screenshot(path=shot("60-map-new-zone"))
    problems = await serious_violations(page)
    await page.get_by_role("button", name="Save the zone").click()
    await expect(page.get_by_text('Zone "Centre" saved.')).to_be_visible()
    async with owner_engine.connect() as conn:
        names = (
            await conn.execute(text("SELECT name FROM zones WHERE organization_id = :o"), {"o": admin.org.id})
        ).scalars()
        assert list(names) == ["Centre"]
    await page.get_by_role("list", name="Zones").get_by_text("Centre").click()
    await expect(page.get_by_role("heading", name="Centre")).to_be_visible()
    await page.screenshot(path=shot("61-map-zone"))

    # A bow tie crosses itself at (26.105, 44.435): the error says so and the point is marked on the map.
    bow = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"name": "Bow"},
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [[[26.10, 44.43], [26.11, 44.44], [26.11, 44.43], [26.10, 44.44], [26.10, 44.43]]],
                },
            }
        ],
    }
    f = tmp_path / "bow.geojson"
    f.write_text(json.dumps(bow))
    await page.locator("input[type=file]").set_input_files(str(f))
    await expect(page.get_by_role("alert").filter(has_text="44.43500")).to_be_visible()
    await expect(page.locator(".problem-marker")).to_be_visible()
    await page.screenshot(path=shot("62-map-import-error"))
    problems += await serious_violations(page)
    assert problems == []


async def test_the_apis_422_is_shown_next_to_the_field_it_names_and_a_lost_connection_is_said(
    live_server: str, live_db: AsyncSession, desktop: BrowserContext
) -> None:
    admin, _ = await setup_org(live_db, inside=1, outside=0)
    page = await as_user(desktop, admin)
    # The wizard sent without a title: back on the details step, the message under "Title".
    await page.goto(live_server + "/hq/actions/new")
    for _ in range(5):
        await page.get_by_role("button", name="Next").click()
    await page.get_by_role("button", name="Create the action").click()
    title = page.get_by_label("Title", exact=True)
    await expect(title).to_be_visible()
    described = await title.get_attribute("aria-describedby")
    assert described
    await expect(page.locator(f"[id='{described}']")).to_contain_text("at least 1 character")
    await page.screenshot(path=shot("70-wizard-422"))

    # Settings: a bad phone region is named under its field; offline, the form says the connection is lost.
    await page.goto(live_server + "/hq/settings")
    region = page.get_by_label("Default phone region")
    await region.fill("xyz")
    await page.get_by_role("button", name="Save").click()
    messages = await region.get_attribute("aria-describedby")
    await expect(page.locator(f"[id='{messages}']")).to_contain_text("not a region")
    await desktop.set_offline(True)
    await region.fill("FR")
    await page.get_by_role("button", name="Save").click()
    await expect(page.get_by_role("alert").filter(has_text="Connection lost")).to_be_visible()
    await expect(region).to_have_value("FR")
    await page.screenshot(path=shot("71-settings-offline"))
    await desktop.set_offline(False)


async def test_a_wizard_list_that_fails_to_load_is_said_and_retry_loads_it(
    live_server: str, live_db: AsyncSession, desktop: BrowserContext
) -> None:
    """The teams list answers 503 to the page's first load, its client's two repeats included: the wizard says a
    list could not be loaded (not an empty picker), and its Retry loads the list into the picker."""
    admin, _ = await setup_org(live_db, inside=1, outside=0)
    await make_team(live_db, admin.org, [], name="Echipa Nord")
    await live_db.commit()
    page = await as_user(desktop, admin)
    asked: list[str] = []

    async def teams(route: Route) -> None:
        asked.append(route.request.url)
        if len(asked) > 3:
            await route.continue_()
            return
        body = {"error": {"code": "unavailable", "message": "The database is busy", "details": []}}
        headers = {"Retry-After": "0", "Content-Type": "application/json"}
        await route.fulfill(status=503, headers=headers, body=json.dumps(body))

    await page.route(re.compile(r"/api/v1/teams(\?|$)"), teams)
    await page.goto(live_server + "/hq/actions/new")
    alert = page.get_by_test_id("lists-failed")
    await expect(alert).to_contain_text("Some lists (zones, surveys, teams, volunteers) could not be loaded.")
    await expect(alert).to_contain_text("The server had a problem. Try again in a moment")
    assert len(asked) == 3  # the first try and the client's two repeats, all refused
    await page.wait_for_timeout(400)  # the alert's transition
    await page.screenshot(path=shot("72-wizard-lists-failed"))
    assert await serious_violations(page) == []
    assert await alert.evaluate(TONAL_CONTRAST) >= 4.5  # WCAG AA for its text

    async with page.expect_response(lambda r: "/api/v1/teams" in r.url) as loaded:
        await alert.get_by_role("button", name="Retry").click()
    assert (await loaded.value).status == 200 and len(asked) == 4
    await expect(alert).to_have_count(0)
    for _ in range(4):  # to the people step
        await page.get_by_role("button", name="Next").click()
    await choose(page, "Teams", "Echipa Nord")
    await expect(page.locator(".v-chip").filter(has_text="Echipa Nord")).to_be_visible()
    assert not page.errors  # type: ignore[attr-defined]


async def test_an_admin_in_the_volunteer_app_is_offered_the_console(
    live_server: str, live_db: AsyncSession, desktop: BrowserContext
) -> None:
    admin, _ = await setup_org(live_db, inside=0, outside=0)
    page = await as_user(desktop, admin)
    await page.goto(live_server + "/actions")
    link = page.get_by_role("link", name="You manage this organization: open the HQ console")
    await expect(link).to_have_attribute("href", "/hq/")
    await link.click()
    await expect(page).to_have_url(live_server + "/hq/")
    await expect(page.get_by_role("link", name="Overview")).to_be_visible()


async def test_a_team_leader_sees_only_the_pages_their_role_allows(
    live_server: str, live_db: AsyncSession, desktop: BrowserContext
) -> None:
    org = await make_org(live_db)
    leader = await make_actor(live_db, org, "team_leader")
    await live_db.commit()
    page = await as_user(desktop, leader)
    await page.goto(live_server + "/hq/")
    nav = page.get_by_role("navigation", name="Console")
    for name in ("Overview", "Contacts", "Map", "Actions", "Tasks", "Teams"):
        await expect(nav.get_by_role("link", name=name)).to_be_visible()
    for name in ("Surveys", "Imports", "Settings"):
        await expect(nav.get_by_role("link", name=name)).to_have_count(0)
    await page.goto(live_server + "/hq/imports")
    await expect(page).to_have_url(live_server + "/hq/")
    await expect(page.get_by_role("heading", name="Imports")).to_have_count(0)


async def test_a_survey_built_with_skip_logic_is_stored_typed_and_previewed_as_the_volunteer_sees_it(
    live_server: str, live_db: AsyncSession, desktop: BrowserContext, owner_engine: AsyncEngine
) -> None:
    admin, _ = await setup_org(live_db, inside=0, outside=0)
    page = await as_user(desktop, admin)
    await page.goto(live_server + "/hq/surveys")
    await page.get_by_label("Survey title").fill("Pensions")
    await page.get_by_role("button", name="Add a question").click()
    await page.get_by_label("Question 1").fill("Worried about pensions?")
    await choose(page, page.get_by_label("Type", exact=True).first, "Yes / no")
    await page.get_by_label("Question id", exact=True).first.fill("worried")
    await page.get_by_label("Required", exact=True).first.check()
    await page.get_by_role("button", name="Add a skip rule").first.click()
    await choose(page, page.get_by_label("Value", exact=True).first, "No")  # "no" ends the survey (goto: the end)
    await page.get_by_role("button", name="Add a question").click()
    await page.get_by_label("Question 2").fill("Main topic")
    await page.get_by_label("Question id", exact=True).nth(1).fill("topic")
    await page.get_by_role("button", name="Add an option").click()
    await page.get_by_label("Option 1").fill("Health")
    # One option is refused by the API: its message is shown, then a second option saves.
    await page.get_by_role("button", name="Save").click()
    await expect(page.get_by_role("alert").filter(has_text="at least two options")).to_be_visible()
    await page.get_by_role("button", name="Add an option").click()
    await page.get_by_label("Option 2").fill("Pensions")
    await page.get_by_role("button", name="Save").click()
    await expect(page.get_by_text('Survey "Pensions" saved (version 1).')).to_be_visible()
    async with owner_engine.connect() as conn:
        questions = (
            await conn.execute(
                text("SELECT questions FROM survey_versions WHERE organization_id = :o AND version = 1"),
                {"o": admin.org.id},
            )
        ).scalar_one()
    assert [q["id"] for q in questions] == ["worried", "topic"]
    assert questions[0]["kind"] == "yes_no" and questions[0]["required"] is True
    assert questions[0]["skip_logic"] == [{"equals": False, "goto_question_id": None}]
    assert [o["label"] for o in questions[1]["options"]] == ["Health", "Pensions"]

    # The preview applies the skip logic: "No" ends the survey, "Yes" goes on to the topic.
    preview = page.locator(".v-card").filter(has=page.get_by_role("heading", name="Preview"))
    await preview.get_by_label("Yes").check()
    await expect(preview.get_by_text("Main topic")).to_be_visible()
    await preview.get_by_label("No").check()
    await expect(preview.get_by_text("Main topic")).to_have_count(0)
    await page.screenshot(path=shot("80-survey-builder"))
    assert await serious_violations(page) == []


async def _tags(engine: AsyncEngine, ids: list[uuid.UUID]) -> list[list[str]]:
    """The contacts' tags as stored, read as the owner (no tenant to set), in the order of `ids`."""
    async with engine.connect() as conn:
        rows = (await conn.execute(text("SELECT id, tags FROM contacts WHERE id = ANY(:ids)"), {"ids": ids})).all()
    found = {r.id: sorted(r.tags) for r in rows}
    return [found[i] for i in ids]


async def test_bulk_tags_go_in_one_request_for_the_selection_or_everyone_matching_the_filter(
    live_server: str, live_db: AsyncSession, owner_engine: AsyncEngine, desktop: BrowserContext
) -> None:
    admin, ids = await setup_org(live_db)
    page = await as_user(desktop, admin)
    sent: list[str] = []
    page.on("request", lambda r: sent.append(f"{r.method} {r.url}") if "/api/v1/contacts" in r.url else None)
    await page.goto(live_server + "/hq/contacts")
    await expect(page.get_by_test_id("live-count")).to_have_text(f"{len(ids)} contacts", timeout=60_000)

    # Two rows selected: one request names their ids; the tag lands on those two only.
    for name in ("P1 N1", "P2 N2"):
        await page.get_by_role("row").filter(has_text=name).get_by_role("checkbox").check()
    await page.get_by_role("button", name="Add a tag").click()
    dialog = page.get_by_role("dialog")
    await expect(dialog.get_by_role("radio", name="2 selected")).to_be_checked()
    await dialog.get_by_role("textbox", name="Tag").fill("door")
    await dialog.get_by_role("button", name="Apply").click()
    await expect(page.get_by_role("row").filter(has_text="P1 N1").get_by_text("door")).to_be_visible()
    assert await _tags(owner_engine, ids) == [["door", "e2e"]] * 2 + [["e2e"]] * (len(ids) - 2)

    # Everyone matching the filter (here the whole base, also the rows not on screen): one request again.
    await page.get_by_role("button", name="Remove a tag").click()
    await dialog.get_by_role("radio", name=f"All {len(ids)} matching the filter").check()
    await dialog.get_by_role("textbox", name="Tag").fill("e2e")
    await page.screenshot(path=shot("13-bulk-tags"))
    await dialog.get_by_role("button", name="Apply").click()
    await expect(page.get_by_role("row").filter(has_text="P3 N3").get_by_text("e2e")).to_have_count(0)
    assert await _tags(owner_engine, ids) == [["door"]] * 2 + [[]] * (len(ids) - 2)
    bulk = [s for s in sent if "bulk-tags" in s]
    assert len(bulk) == 2 and not [s for s in sent if s.startswith("PATCH")], sent
    assert page.errors == []  # type: ignore[attr-defined]

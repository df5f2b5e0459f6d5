"""The console's people and settings pieces of issue 14 in a real browser (1440x900) against the real backend:
duplicates merged from the contact page, the organization's map style requested by the map (served over https by
a local server, the only origin the Content-Security-Policy opens to), an action created from the table's
selection. axe-core on each page, screenshots in tests/e2e/artifacts/hq/."""

from __future__ import annotations

import json
import re
import shutil
import ssl
import subprocess
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

pytest.importorskip("playwright.async_api", reason="Playwright (Python) is not installed")
from playwright.async_api import BrowserContext, expect
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.core.db import set_tenant
from app.models import Contact
from tests.e2e.test_hq_console import DESKTOP, as_user, serious_violations, setup_org, shot
from tests.fixtures.factories import make_actor, make_org


async def test_a_duplicate_is_merged_from_the_contact_page(
    live_server: str, api: httpx.AsyncClient, live_db: AsyncSession, browser: object, owner_engine: AsyncEngine
) -> None:
    org = await make_org(live_db, name=f"Party {uuid.uuid4().hex[:4]}")
    admin = await make_actor(live_db, org, "admin")
    await set_tenant(live_db, org.id)
    keep, other = uuid.uuid4(), uuid.uuid4()
    common = {"organization_id": org.id, "mobile_e164": "+40722123456", "last_name": "Popescu", "custom_fields": {}}
    live_db.add(Contact(id=keep, first_name="Ioana", email="ioana@example.org", tags=["pensions"], **common))
    live_db.add(
        Contact(
            id=other, first_name="Ioana M.", email="ioana.m@example.org", tags=["health"], support_level=2, **common
        )
    )
    await live_db.commit()
    note = await api.post(f"/api/v1/contacts/{other}/notes", headers=admin.headers, json={"text": "Met at the market"})
    assert note.status_code == 201, note.text

    context = await browser.new_context(viewport=DESKTOP, locale="en-US")  # type: ignore[attr-defined]
    page = await as_user(context, admin)
    await page.goto(f"{live_server}/hq/contacts/{keep}")
    await expect(page.get_by_role("heading", name="Ioana Popescu")).to_be_visible()
    card = page.get_by_test_id("duplicates")
    await expect(card.get_by_role("link", name="Ioana M. Popescu")).to_be_visible()
    await expect(card.get_by_text("Same mobile")).to_be_visible()
    await page.screenshot(path=shot("30-contact-duplicates"), full_page=True)
    problems = await serious_violations(page)

    await page.get_by_role("button", name="Merge Ioana M. Popescu into this contact").click()
    dialog = page.get_by_role("dialog")
    await expect(dialog.get_by_text("Choose which value to keep")).to_be_visible()
    await dialog.get_by_role("radio", name=re.compile(r"ioana\.m@example\.org")).check()
    await page.screenshot(path=shot("31-merge-dialog"))
    problems += await serious_violations(page)
    await dialog.get_by_role("button", name="Merge into this contact").click()

    await expect(page.get_by_role("status").get_by_text("Ioana M. Popescu merged into this contact.")).to_be_visible()
    await expect(page.get_by_text("No likely duplicate")).to_be_visible()
    await expect(page.get_by_text("Met at the market")).to_be_visible()
    await expect(page.get_by_text("ioana.m@example.org")).to_be_visible()
    await page.screenshot(path=shot("32-contact-merged"), full_page=True)
    problems += await serious_violations(page)
    await context.close()

    async with owner_engine.connect() as conn:
        rows = (
            await conn.execute(text("SELECT id, email, tags FROM contacts WHERE organization_id = :o"), {"o": org.id})
        ).all()
        assert [(r.id, r.email, sorted(r.tags)) for r in rows] == [
            (keep, "ioana.m@example.org", ["health", "pensions"])
        ]
        notes = (
            await conn.execute(text("SELECT summary FROM contact_events WHERE contact_id = :c"), {"c": keep})
        ).scalars()
        assert "Met at the market" in list(notes)
    assert problems == []
    assert page.errors == []  # type: ignore[attr-defined]


class _StyleServer:
    """A basemap host on this machine, over https (a self-signed certificate the test's browser context accepts)."""

    STYLE = {
        "version": 8,
        "name": "Test basemap",
        "sources": {},
        "layers": [{"id": "land", "type": "background", "paint": {"background-color": "#f6e7c1"}}],
    }

    def __init__(self, tmp: Path) -> None:
        self.requests: list[str] = []
        cert, key = tmp / "cert.pem", tmp / "key.pem"
        subprocess.run(
            [
                "openssl",
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "1",
                "-subj",
                "/CN=127.0.0.1",
                "-keyout",
                str(key),
                "-out",
                str(cert),
            ],
            check=True,
            capture_output=True,
        )
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.requests.append(self.path)
                body = json.dumps(outer.STYLE).encode()
                self.send_response(200 if self.path == "/style.json" else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Access-Control-Allow-Origin", "*")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.url = f"https://127.0.0.1:{self.httpd.server_address[1]}/style.json"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def style_server(tmp_path: Path) -> Iterator[_StyleServer]:
    if not shutil.which("openssl"):
        pytest.skip("openssl is missing: it makes the local basemap host's certificate")
    s = _StyleServer(tmp_path)
    try:
        yield s
    finally:
        s.stop()


@pytest.fixture
async def trusting(browser: object) -> AsyncIterator[BrowserContext]:
    """A desktop context that accepts the local basemap host's self-signed certificate."""
    context = await browser.new_context(viewport=DESKTOP, locale="en-US", ignore_https_errors=True)  # type: ignore[attr-defined]
    context.set_default_timeout(30_000)
    try:
        yield context
    finally:
        await context.close()


async def test_the_map_requests_the_style_set_in_the_organizations_settings(
    live_server: str,
    api: httpx.AsyncClient,
    live_db: AsyncSession,
    trusting: BrowserContext,
    style_server: _StyleServer,
) -> None:
    admin, _ = await setup_org(live_db)
    page = await as_user(trusting, admin)
    blocked: list[str] = []
    page.on("console", lambda m: blocked.append(m.text) if "Content Security Policy" in m.text else None)
    await page.goto(live_server + "/hq/settings")
    field = page.get_by_label("Map style URL (every map of the organization)")
    await field.fill(style_server.url.replace("https://", "http://"))
    await page.get_by_role("button", name="Save").click()
    await expect(page.get_by_text("must be an https:// URL")).to_be_visible()

    await field.fill(style_server.url)
    await page.get_by_role("button", name="Save").click()
    await expect(page.get_by_text("The page reloaded so that every map uses the new style")).to_be_visible()
    await expect(page.get_by_label("Map style URL (every map of the organization)")).to_have_value(style_server.url)
    await page.screenshot(path=shot("33-settings-map-style"))
    problems = await serious_violations(page)
    csp = (await api.get("/hq/map")).headers["content-security-policy"]
    origin = style_server.url.removesuffix("/style.json")
    assert f"connect-src 'self' {origin};" in csp

    await page.goto(live_server + "/hq/map")
    await expect(page.locator(".maplibregl-canvas")).to_be_visible(timeout=60_000)
    for _ in range(60):  # the map fetches the organization's style from the basemap host
        if "/style.json" in style_server.requests:
            break
        await page.wait_for_timeout(500)
    assert "/style.json" in style_server.requests
    await page.wait_for_timeout(800)
    await page.screenshot(path=shot("34-map-with-style"))
    problems += await serious_violations(page)
    assert blocked == []
    assert problems == []
    assert page.errors == []  # type: ignore[attr-defined]


async def test_an_action_is_created_from_the_contacts_selected_in_the_table(
    live_server: str, live_db: AsyncSession, browser: object, owner_engine: AsyncEngine
) -> None:
    admin, ids = await setup_org(live_db)
    context = await browser.new_context(viewport=DESKTOP, locale="en-US")  # type: ignore[attr-defined]
    page = await as_user(context, admin)
    await page.goto(live_server + "/hq/contacts")
    await expect(page.get_by_test_id("live-count")).to_have_text(f"{len(ids)} contacts")
    for name in ("P2 N2", "P4 N4"):
        await page.get_by_role("row", name=re.compile(rf"\b{name}\b")).get_by_role("checkbox").check()
    await page.get_by_role("button", name="Create an action for them").click()
    await expect(page).to_have_url(re.compile(r"/hq/actions/new$"))
    await page.get_by_label("Phone banking").check()
    await page.get_by_role("button", name="Next").click()
    await page.get_by_label("Title", exact=True).fill("Two people to call")
    await page.get_by_role("button", name="Next").click()
    await expect(page.get_by_test_id("selection-target")).to_contain_text("The target is the 2 contacts selected")
    await expect(page.get_by_test_id("target-count")).to_have_text("2 targets")
    await page.screenshot(path=shot("35-wizard-selection"))
    problems = await serious_violations(page)
    for _ in range(3):
        await page.get_by_role("button", name="Next").click()
    await page.get_by_role("button", name="Create the action").click()
    await expect(page.get_by_test_id("action-targets")).to_have_text("2", timeout=30_000)
    action_id = page.url.rsplit("/", 1)[-1]
    await context.close()
    async with owner_engine.connect() as conn:
        names = (
            await conn.execute(
                text(
                    "SELECT c.first_name FROM action_targets t JOIN contacts c ON c.id = t.contact_id "
                    "WHERE t.action_id = :a"
                ),
                {"a": action_id},
            )
        ).scalars()
        assert sorted(names) == ["P2", "P4"]
    assert problems == []

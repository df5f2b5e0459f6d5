"""End-to-end fixtures: the real app served by uvicorn (a subprocess on a free port, against the test session's
throwaway PostgreSQL and Redis) and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from app.config import ROOT
from app.core.embedded import free_port
from tests.fixtures.uvicorn import serve_app

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
PHONE = {"width": 360, "height": 740}
ARTIFACTS = ROOT / "test-artifacts" / "e2e"


@pytest.fixture(scope="session")
def pwa_dist() -> Path:
    dist = Path(os.environ.get("PWA_DIST", ROOT / "pwa" / "dist"))
    if not (dist / "index.html").exists():
        pytest.skip(f"{dist}/index.html is missing: build the PWA first (`make pwa`, needs Node.js)")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing: `apt-get install -y chromium` (see shared docs/testing.md)")
    return dist


@pytest.fixture(scope="session")
def live_server(pwa_dist: Path, services: object) -> Iterator[str]:
    """`python -m uvicorn app.main:create_app --factory` on a free port; the environment (DATABASE_URL, REDIS_URL,
    MIGRATION_DATABASE_URL set by the `services` fixture) is inherited. Map tiles point at a closed port so the
    map is exercised with no tiles and nothing leaves the machine."""
    yield from serve_app(
        {"PWA_DIST": str(pwa_dist), "MAP_TILE_URL": f"http://127.0.0.1:{free_port()}/{{z}}/{{x}}/{{y}}.png"},
        ready_path="/readyz",
        log_path=ARTIFACTS / "server.log",
    )


@pytest.fixture
async def api(live_server: str) -> AsyncIterator[httpx.AsyncClient]:
    """HTTP client for the live server (test data is set up through the real API)."""
    async with httpx.AsyncClient(base_url=live_server, timeout=30) as c:
        yield c


@pytest.fixture(scope="session")
async def browser(pwa_dist: Path) -> AsyncIterator[object]:
    from playwright.async_api import async_playwright, expect

    # Generous waits (they end as soon as the condition holds): the 2-core machine may be busy.
    expect.set_options(timeout=20_000)
    async with async_playwright() as p:
        b = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        await b.close()


@pytest.fixture
async def phone(browser: object) -> AsyncIterator[object]:
    """A fresh phone-sized browser context (its own service worker, IndexedDB and storage)."""
    context = await browser.new_context(viewport=PHONE, locale="en-US", device_scale_factor=2)  # type: ignore[attr-defined]
    context.set_default_timeout(30_000)
    try:
        yield context
    finally:
        await context.close()


def shot_path(test: str, name: str) -> str:
    d = ARTIFACTS / test
    d.mkdir(parents=True, exist_ok=True)
    return str(d / f"{name}.png")

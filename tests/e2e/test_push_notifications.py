"""Web Push in the real browser: the profile's Notifications switch subscribes the browser and registers the
subscription with the server, and the built service worker shows a push as a notification. Headless Chromium has
no push service to reach here, so `pushManager.subscribe` answers with a browser-shaped subscription (the real
encryption and delivery are proved in tests/push against a local push service); the push itself is delivered to
the real service worker through Chromium's DevTools protocol."""

from __future__ import annotations

import json

import httpx
import pytest

pytest.importorskip("playwright.async_api", reason="Playwright (Python) is not installed")
from playwright.async_api import expect
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import set_tenant
from app.models import PushSubscription
from tests.e2e.conftest import shot_path
from tests.e2e.test_volunteer_pwa import log_in, watch
from tests.fixtures.factories import make_actor, make_org

ENDPOINT = "https://push.example.test/send/abc123"
FAKE_SUBSCRIPTION = """
(() => {
  const sub = {
    endpoint: %(endpoint)s,
    toJSON() {
      return { endpoint: this.endpoint, keys: { p256dh: 'B' + 'A'.repeat(86), auth: 'QUFBQUFBQUFBQUFBQUFBQQ' } }
    },
    unsubscribe: async () => { window.__subscribed = false; return true },
  }
  window.__subscribed = false
  PushManager.prototype.subscribe = async function () { window.__subscribed = true; return sub }
  PushManager.prototype.getSubscription = async function () { return window.__subscribed ? sub : null }
})()
"""


async def test_the_notifications_switch_registers_the_browser_and_the_service_worker_shows_a_push(
    live_server: str, api: httpx.AsyncClient, live_db: AsyncSession, phone: object
) -> None:
    org = await make_org(live_db)
    vol = await make_actor(live_db, org, "volunteer")
    await live_db.commit()
    org_id = org.id
    context = phone
    await context.grant_permissions(["notifications"], origin=live_server)  # type: ignore[attr-defined]
    await context.add_init_script(FAKE_SUBSCRIPTION % {"endpoint": json.dumps(ENDPOINT)})  # type: ignore[attr-defined]
    page = await context.new_page()  # type: ignore[attr-defined]
    errors = watch(page)
    shots = "push_notifications"
    await log_in(page, live_server, vol, shots)
    await page.goto(live_server + "/profile")
    switch = page.get_by_role("switch", name="Notifications")
    await expect(switch).to_be_enabled()
    await expect(switch).not_to_be_checked()
    async with page.expect_response(lambda r: r.url.endswith("/me/push-subscriptions") and r.status == 201):
        await switch.click()
    await expect(switch).to_be_checked()
    await page.screenshot(path=shot_path(shots, "01-notifications-on"))

    async def endpoints() -> list[str]:
        await live_db.rollback()
        await set_tenant(live_db, org_id)
        return list((await live_db.scalars(select(PushSubscription.endpoint))).all())

    assert await endpoints() == [ENDPOINT]

    # A push to the real service worker: it shows the notification with the payload's title and body.
    cdp = await context.new_cdp_session(page)  # type: ignore[attr-defined]
    versions: list[dict[str, object]] = []
    cdp.on("ServiceWorker.workerRegistrationUpdated", lambda e: versions.extend(e["registrations"]))
    await cdp.send("ServiceWorker.enable")
    for _ in range(50):
        if any(str(r["scopeURL"]).startswith(live_server) for r in versions):
            break
        await page.wait_for_timeout(100)
    registration = next(str(r["registrationId"]) for r in versions if str(r["scopeURL"]).startswith(live_server))
    payload = {"kind": "team_message", "title": "Sâmbătă la 10", "body": "Ne vedem la sediu", "url": "/actions"}
    await cdp.send(
        "ServiceWorker.deliverPushMessage",
        {"origin": live_server, "registrationId": registration, "data": json.dumps(payload)},
    )
    shown: list[dict[str, str]] = []
    for _ in range(50):
        shown = await page.evaluate(
            "() => navigator.serviceWorker.ready.then(r => r.getNotifications())"
            ".then(ns => ns.map(n => ({ title: n.title, body: n.body })))"
        )
        if shown:
            break
        await page.wait_for_timeout(100)
    assert shown == [{"title": "Sâmbătă la 10", "body": "Ne vedem la sediu"}]

    async with page.expect_response(lambda r: r.url.endswith("/me/push-subscriptions") and r.status == 204):
        await switch.click()
    await expect(switch).not_to_be_checked()
    assert await endpoints() == []
    assert errors == []

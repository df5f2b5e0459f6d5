"""Drives the built PWA (pwa/dist) in Chromium against e2e/mock_api.py, with the accessible names
the real e2e suite will use. Run: `../.venv/bin/python e2e/smoke.py` from pwa/ after `npm run build`."""

from __future__ import annotations

import sys
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent))
from mock_api import ACTION_CALL, ACTION_DOOR, STATE, serve  # noqa: E402

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic"]


def wait_until(page, cond, what: str, timeout_ms: int = 10000) -> None:
    for _ in range(timeout_ms // 100):
        if cond():
            return
        page.wait_for_timeout(100)
    raise AssertionError(f"timed out waiting for {what}")


def main() -> None:
    server = serve()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        context = browser.new_context(viewport={"width": 360, "height": 740}, locale="en-US")
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))

        # log in
        page.goto(base + "/")
        page.get_by_label("Email").fill("vol@example.org")
        page.get_by_label("Password").fill("wrong")
        page.get_by_role("button", name="Log in").click()
        expect(page.get_by_role("alert")).to_contain_text("Wrong email or password")
        page.get_by_label("Password").fill("secret")
        page.get_by_role("button", name="Log in").click()

        # installable by Chromium's criteria (manifest + service worker with a fetch handler)
        page.evaluate("() => navigator.serviceWorker.ready.then(() => true)")
        cdp = context.new_cdp_session(page)
        installability = cdp.send("Page.getInstallabilityErrors")
        # Playwright contexts are incognito, the one criterion that does not depend on the app.
        problems = [e for e in installability["installabilityErrors"] if e["errorId"] != "in-incognito"]
        assert problems == [], installability
        manifest = cdp.send("Page.getAppManifest")
        assert not manifest.get("errors"), manifest

        # actions + attendance
        expect(page.get_by_role("heading", name="My actions")).to_be_visible()
        page.get_by_role("group", name="Attendance").first.get_by_role("button", name="Going", exact=True).click()
        expect(page.get_by_role("group", name="Attendance").first.get_by_role("button", name="Going", exact=True)).to_have_attribute("aria-pressed", "true")
        wait_until(page, lambda: STATE.participation.get(ACTION_CALL) == "going", "attendance sent")

        # action detail: markdown rendered, raw HTML escaped, javascript: links neutralised
        page.get_by_role("link", name="Open Saturday phone bank").click()
        expect(page.get_by_role("heading", name="Welcome")).to_be_visible()
        assert page.evaluate("() => window.__xss") is None
        assert page.locator(".brief a[href^='javascript']").count() == 0
        page.get_by_role("link", name="Calling list").click()

        # calling list tabs
        expect(page.get_by_role("tab", name="Mine")).to_have_attribute("aria-selected", "true")
        page.get_by_role("tab", name="Others").click()
        expect(page.get_by_text("Elena Stan")).to_be_visible()
        page.get_by_role("tab", name="Mine").click()
        page.get_by_role("link", name="Ana Popescu").click()

        # call flow
        page.get_by_role("button", name="Start call").click()
        expect(page.get_by_role("link", name="Call +40712345678")).to_have_attribute("href", "tel:+40712345678")
        page.get_by_role("button", name="Answered").click()
        page.get_by_role("checkbox", name="The person agrees to answer and to have their answers recorded").check()
        page.get_by_role("button", name="Save report").click()
        expect(page.get_by_text("This answer is required.").first).to_be_visible()
        page.get_by_role("group", name="Will you vote?").get_by_label("Yes").check()
        page.get_by_role("group", name="Main concern").get_by_label("Pensions").check()
        page.get_by_role("group", name="How likely to volunteer").get_by_label("4").check()
        page.get_by_label("Email", exact=True).fill("ana@example.org")
        page.get_by_role("radio", name="2 Leaning supporter").check()
        page.get_by_label("SMS consent").select_option("granted")
        page.get_by_label("Comment").fill("Very friendly")
        page.get_by_role("group", name="Quality of the conversation").get_by_label("5").check()
        page.get_by_role("group", name="Mobilized").get_by_label("Yes").check()
        page.get_by_label("Opportunity type").select_option(label="Wants to volunteer")
        page.get_by_label("Opportunity note").fill("Saturdays")
        page.get_by_role("button", name="Add opportunity").click()
        page.get_by_role("button", name="Save report").click()
        expect(page.get_by_role("button", name="Next contact")).to_be_visible()
        wait_until(page, lambda: len(STATE.reports) == 1, "first report sent")
        import json
        sent = json.loads(next(iter(STATE.reports.values()))[0])
        assert sent["outcome"] == "answered" and sent["consent_given"] is True, sent
        assert {a["question_id"][:8] for a in sent["survey_answers"]} == {"44444441", "44444442", "44444443"}, sent
        assert sent["contact_updates"] == {"email": "ana@example.org", "support_level": 2, "consents": {"sms": "granted"}}, sent
        assert sent["quality"] == 5 and sent["mobilized"] is True and sent["opportunities"][0]["note"] == "Saturdays", sent

        # next contact, offline: the report waits in the outbox, survives a reload, then syncs
        page.get_by_role("button", name="Next contact").click()
        page.get_by_role("button", name="Start call").click()
        context.set_offline(True)
        page.get_by_role("button", name="Absent").click()
        page.get_by_role("button", name="Save report").click()
        expect(page.get_by_role("status").filter(has_text="1 pending")).to_be_visible()
        page.reload()
        expect(page.get_by_role("status").filter(has_text="1 pending")).to_be_visible()
        assert len(STATE.reports) == 1
        context.set_offline(False)
        page.evaluate("() => window.dispatchEvent(new Event('online'))")
        wait_until(page, lambda: len(STATE.reports) == 2, "offline report synced")
        expect(page.get_by_role("status").filter(has_text="pending")).to_have_count(0)

        # door to door
        page.goto(base + f"/actions/{ACTION_DOOR}/walk")
        expect(page.get_by_role("heading", name="Building 12")).to_be_visible()
        expect(page.locator(".leaflet-interactive")).to_have_count(2)  # markers drawn without tiles
        page.get_by_role("link", name="Vasile Pop").click()
        page.get_by_role("button", name="Opened").click()
        page.get_by_role("checkbox", name="The person agrees to answer and to have their answers recorded").check()
        page.wait_for_timeout(600)
        page.reload()  # an in-progress visit survives a reload
        expect(page.get_by_role("button", name="Opened")).to_have_attribute("aria-pressed", "true")
        expect(page.get_by_role("checkbox", name="The person agrees to answer and to have their answers recorded")).to_be_checked()
        page.get_by_role("group", name="Will you vote?").get_by_label("No").check()
        expect(page.get_by_role("group", name="Main concern")).to_have_count(0)
        page.get_by_role("button", name="Save visit").click()
        expect(page.get_by_role("heading", name="Building 12")).to_be_visible()
        page.get_by_role("button", name="Add person met at the door").click()
        page.get_by_label("First name").fill("Gheorghe")
        page.get_by_label("Last name").fill("Pop")
        page.get_by_role("button", name="Save person").click()
        expect(page.get_by_role("alert")).to_contain_text("Consent is required")
        page.get_by_role("checkbox", name="The person agrees to GroundGame processing their data").check()
        page.get_by_role("button", name="Save person").click()
        wait_until(page, lambda: len(STATE.visits) == 2, "visits sent")

        # tasks, profile, language, logout wipes data
        page.get_by_role("link", name="Tasks").click()
        page.get_by_label("Status of Wants to volunteer").select_option("done")
        page.get_by_role("link", name="Profile").click()
        page.get_by_label("Language").select_option("fr")
        expect(page.get_by_role("button", name="Se déconnecter")).to_be_visible()
        page.get_by_label("Langue").select_option("en")
        page.get_by_role("button", name="Log out").click()
        expect(page.get_by_role("button", name="Log in")).to_be_visible()
        left = page.evaluate("""async () => { const db = await new Promise(r => { const q = indexedDB.open('groundgame'); q.onsuccess = () => r(q.result) });
            const n = s => new Promise(r => { const q = db.transaction(s).objectStore(s).count(); q.onsuccess = () => r(q.result) });
            return [await n('outbox'), await n('cache'), localStorage.getItem('gg.token')] }""")
        assert left == [0, 0, None], left
        assert not errors, errors
        print("smoke OK")
        browser.close()
    server.shutdown()


if __name__ == "__main__":
    main()

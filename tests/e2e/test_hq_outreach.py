"""The console's outreach pages (issues 16 and 17) in Chromium at 1440x900 against the real backend: a template
written with its live SMS count and merge-field errors, a campaign whose audience count and queued messages are
exactly the consented contacts, paused from the page; an API key created (shown once) that works with its scope
only and is refused the moment it is revoked from the page; a webhook endpoint registered. axe-core on each."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import httpx
import pytest

pytest.importorskip("playwright.async_api", reason="Playwright (Python) is not installed")
from playwright.async_api import BrowserContext, expect
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import set_tenant
from app.models import Contact
from tests.e2e.test_hq_console import as_user, choose, desktop, serious_violations, shot
from tests.fixtures.factories import make_actor, make_org

__all__ = ["desktop"]  # the fixture, imported so pytest finds it here


@pytest.mark.usefixtures("arq_worker")
async def test_a_campaign_reaches_only_the_consented_and_its_figures_show_on_the_page(
    live_server: str,
    live_db: AsyncSession,
    desktop: BrowserContext,
) -> None:
    org = await make_org(live_db, name=f"Outreach {uuid.uuid4().hex[:4]}")
    admin = await make_actor(live_db, org, "admin")
    org_id = org.id  # read before commit (the committed object expires)
    await set_tenant(live_db, org_id)
    family = f"Ionescu{uuid.uuid4().hex[:4]}"
    for i, consent in enumerate(["granted", "granted", "granted", "withdrawn", None]):
        live_db.add(
            Contact(
                organization_id=org_id,
                first_name=f"Ana{i}",
                last_name=family,
                mobile_e164=f"+4072210000{i}",
                consent_sms=consent,
            )
        )
    live_db.add(
        Contact(
            organization_id=org_id,
            first_name="Other",
            last_name="Person",
            mobile_e164="+40722100009",
            consent_sms="granted",
        )
    )
    await live_db.commit()

    page = await as_user(desktop, admin)
    await page.goto(live_server + "/hq/messaging")
    await expect(page.get_by_role("heading", name="Messaging")).to_be_visible()
    await page.get_by_role("tab", name="Templates").click()

    # A template: an unknown merge field is refused next to the text, with its line; diacritics switch to UCS-2.
    await page.get_by_label("Name", exact=True).fill("Thanks")
    await choose(page, page.get_by_role("combobox", name="Channel"), "SMS")
    body = page.get_by_label("Text", exact=True)
    await body.fill("Hello {{ contact.nickname }}")
    await expect(page.get_by_text("line 1: unknown merge field").first).to_be_visible()
    await body.fill("Bună {{ contact.first_name }}, mulțumim!")
    await expect(page.get_by_test_id("preview-sms")).to_contain_text("UCS-2")
    await expect(page.get_by_test_id("preview-body")).to_contain_text("Bună")
    await page.screenshot(path=shot("20-messaging-template"))
    problems = {"template": await serious_violations(page)}
    await page.get_by_role("button", name="Save").click()
    await expect(page.get_by_role("cell", name="Thanks", exact=True)).to_be_visible()

    # A campaign to the family: the page's count is the filter's; the queued messages are the consented only.
    await page.get_by_role("tab", name="Campaigns").click()
    await page.get_by_label("Name", exact=True).fill("Thank-you round")
    await choose(page, page.get_by_role("combobox", name="Template"), "Thanks · SMS")
    await page.get_by_role("textbox", name="Name, phone or email").fill(family)
    await expect(page.get_by_test_id("campaign-matching")).to_have_text("Matching the filter: 5 (before consent)")
    await page.get_by_role("button", name="Add").click()
    row = page.locator("[data-campaign='Thank-you round']")
    await expect(row.get_by_test_id("campaign-status")).to_have_text("Draft")
    page.once("dialog", lambda d: d.accept())
    await row.get_by_role("button", name="Send now").click()
    # The worker sends it (SMS "log" provider in tests); the page follows without a reload.
    await expect(row.get_by_test_id("campaign-status")).to_have_text("Done", timeout=30_000)
    await expect(row.get_by_test_id("campaign-counts")).to_have_text("Sent 3 · queued 0 · failed 0 · skipped 0")
    await page.screenshot(path=shot("21-messaging-campaigns"))
    problems["campaigns"] = await serious_violations(page)

    await set_tenant(live_db, org_id)
    sent = (
        await live_db.execute(
            text("SELECT m.address, m.status FROM campaign_messages m WHERE m.organization_id = :o ORDER BY 1"),
            {"o": org_id},
        )
    ).all()
    assert [tuple(r) for r in sent] == [("+40722100000", "sent"), ("+40722100001", "sent"), ("+40722100002", "sent")]

    # A second one, scheduled for tomorrow, then paused from the page.
    await page.get_by_label("Name", exact=True).fill("Reminder")
    await choose(page, page.get_by_role("combobox", name="Template"), "Thanks · SMS")
    await page.get_by_role("button", name="Add").click()
    later = page.locator("[data-campaign='Reminder']")
    tomorrow = (datetime.now() + timedelta(days=1)).strftime("%Y-%m-%dT09:30")
    await later.get_by_label("Send at").fill(tomorrow)
    await later.get_by_role("button", name="Schedule").click()
    await expect(later.get_by_test_id("campaign-status")).to_have_text("Scheduled")
    await later.get_by_role("button", name="Pause").click()
    await expect(later.get_by_test_id("campaign-status")).to_have_text("Paused")
    await live_db.rollback()
    await set_tenant(live_db, org_id)
    row_db = (
        await live_db.execute(
            text("SELECT status, scheduled_at FROM campaigns WHERE organization_id = :o AND name = 'Reminder'"),
            {"o": org_id},
        )
    ).one()
    assert row_db.status == "paused" and row_db.scheduled_at is not None
    assert problems == {"template": [], "campaigns": []}
    assert page.errors == []  # type: ignore[attr-defined]


async def test_an_api_key_made_on_the_page_works_within_its_scope_and_dies_when_revoked(
    live_server: str, api: httpx.AsyncClient, live_db: AsyncSession, desktop: BrowserContext
) -> None:
    org = await make_org(live_db, name=f"Keys {uuid.uuid4().hex[:4]}")
    admin = await make_actor(live_db, org, "admin")
    await live_db.commit()
    page = await as_user(desktop, admin)
    await page.goto(live_server + "/hq/integrations")
    await expect(page.get_by_role("heading", name="Integrations")).to_be_visible()
    await page.get_by_label("Name", exact=True).fill("CRM sync")
    await page.get_by_role("button", name="Add").click()
    secret = page.get_by_test_id("shown-once").locator("input")
    await expect(page.get_by_text("it is shown only once")).to_be_visible()
    key = await secret.input_value()
    await page.screenshot(path=shot("22-integrations-key-shown"))
    problems = {"key": await serious_violations(page)}
    await page.get_by_role("button", name="Close").click()
    row = page.locator("[data-key='CRM sync']")
    await expect(row.get_by_test_id("key-status")).to_have_text("Active")
    assert key[:12] in await row.inner_text()  # the prefix (ggk_ + 8 hex) recognises it in the table

    auth = {"Authorization": f"Bearer {key}"}
    assert (await api.get("/api/v1/contacts", headers=auth)).status_code == 200
    refused = await api.post("/api/v1/contacts", headers=auth, json={"first_name": "No", "last_name": "Write"})
    assert refused.status_code == 403

    page.once("dialog", lambda d: d.accept())
    await row.get_by_role("button", name="Revoke").click()
    await expect(row.get_by_test_id("key-status")).to_have_text("Revoked")
    assert (await api.get("/api/v1/contacts", headers=auth)).status_code == 401

    # Webhooks: a private address is refused next to the URL field (the operator has not allowed loopback).
    await page.get_by_role("tab", name="Webhooks").click()
    await page.get_by_label("URL").fill("http://10.0.0.1/hook")
    await choose(page, page.get_by_role("combobox", name="Events"), "contact.created")
    await page.keyboard.press("Escape")
    await page.get_by_role("button", name="Add").click()
    await expect(page.locator(".v-messages__message").filter(has_text="private").first).to_be_visible()
    await page.screenshot(path=shot("23-integrations-webhooks"))
    problems["webhooks"] = await serious_violations(page)
    assert problems == {"key": [], "webhooks": []}


@pytest.mark.usefixtures("arq_worker")
async def test_a_petition_made_in_the_console_is_signed_on_its_public_page_and_counted(
    live_server: str, live_db: AsyncSession, desktop: BrowserContext
) -> None:
    org = await make_org(live_db, name=f"Petitions {uuid.uuid4().hex[:4]}")
    admin = await make_actor(live_db, org, "admin")
    org_id = org.id
    await live_db.commit()
    slug = f"clean-air-{uuid.uuid4().hex[:6]}"
    page = await as_user(desktop, admin)
    await page.goto(live_server + "/hq/petitions")
    await page.get_by_label("Title", exact=True).fill("Clean air for Bucharest")
    await page.get_by_label("Address", exact=True).fill(slug)
    await page.get_by_label("Text", exact=True).fill("We ask the city for clean air.")
    await page.get_by_label("Goal (signatures)").fill("100")
    await page.get_by_label("Email consent sentence (shown next to its box)").fill("Email me about this campaign.")
    await page.get_by_role("button", name="Add").click()
    row = page.locator(f"[data-petition='{slug}']")
    await expect(row.get_by_test_id("petition-status")).to_have_text("Draft")
    await row.get_by_role("button", name="Open").click()
    await expect(row.get_by_test_id("petition-status")).to_have_text("Open")
    await page.screenshot(path=shot("24-petitions"))
    problems = {"petitions": await serious_violations(page)}

    # The public page, signed as a person would (no script needed), then the console's counter.
    signer = await desktop.new_page()
    await signer.goto(f"{live_server}/p/{slug}")
    await signer.get_by_label("First name").fill("Irina")
    await signer.get_by_role("textbox", name="Email").fill(f"irina.{slug}@example.org")
    await signer.get_by_label("Email me about this campaign.").check()
    await signer.wait_for_timeout(3200)  # a person takes longer than the bot threshold to fill the form
    await signer.get_by_role("button", name="Sign").click()
    await expect(signer.get_by_role("button", name="Sign")).to_have_count(0)  # the thank-you page
    await page.reload()
    await expect(row.get_by_test_id("petition-count")).to_have_text("1 of 100")

    await set_tenant(live_db, org_id)
    consent = (
        await live_db.execute(
            text("SELECT consent_email FROM contacts WHERE organization_id = :o AND email = :e"),
            {"o": org_id, "e": f"irina.{slug}@example.org"},
        )
    ).scalar_one()
    assert consent == "granted"
    await live_db.rollback()

    # An SMS reply lands in the inbox; HQ answers it from there.
    await set_tenant(live_db, org_id)
    contact = Contact(
        organization_id=org_id, first_name="Radu", last_name="Reply", mobile_e164="+40722111222", consent_sms="granted"
    )
    live_db.add(contact)
    await live_db.flush()
    contact_id = contact.id
    await live_db.execute(
        text(
            "INSERT INTO direct_messages (organization_id, contact_id, channel, direction, kind, address, body, status)"
            " "
            "VALUES (:o, :c, 'sms', 'in', 'reply', '+40722111222', 'Când e următoarea întâlnire?', 'received')"
        ),
        {"o": org_id, "c": contact_id},
    )
    await live_db.commit()
    await page.goto(live_server + "/hq/messaging")
    await page.get_by_role("tab", name="Inbox").click()
    await expect(page.get_by_text("Când e următoarea întâlnire?")).to_be_visible()
    await page.get_by_role("button", name="Answer").click()
    await page.get_by_label("Your answer (SMS)").fill("Joi la 18:00.")
    problems["inbox"] = await serious_violations(page)  # first: it waits for transitions to settle
    await page.screenshot(path=shot("25-messaging-inbox"))
    await page.get_by_role("button", name="Send").click()
    await expect(page.get_by_text("No message waiting.")).to_be_visible()

    # A personal message from the contact page.
    await page.goto(f"{live_server}/hq/contacts/{contact_id}")
    await page.get_by_label("Message", exact=True).fill("Mulțumim, Radu!")
    await page.get_by_role("button", name="Send").click()
    await expect(page.get_by_text("Message queued")).to_be_visible()
    await set_tenant(live_db, org_id)
    out = (
        await live_db.execute(
            text("SELECT kind, body FROM direct_messages WHERE organization_id = :o AND direction = 'out' ORDER BY id"),
            {"o": org_id},
        )
    ).all()
    assert [tuple(r) for r in out] == [("reply", "Joi la 18:00."), ("personal", "Mulțumim, Radu!")]
    assert problems == {"petitions": [], "inbox": []}

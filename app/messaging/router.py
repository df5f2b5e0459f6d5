from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse

from app.auth.dependencies import client_ip, limiter, require
from app.auth.permissions import Perm
from app.auth.principal import Principal
from app.core.db import SessionDep, after_commit
from app.core.jobs import enqueue
from app.core.pagination import CursorQ, LimitQ, Page
from app.core.ratelimit import RateLimiter
from app.messaging import channel, direct, service, unsubscribe
from app.messaging.schemas import (
    CampaignCreate,
    CampaignRead,
    CampaignSend,
    DirectMessageRead,
    InboxReply,
    PersonalMessage,
    TemplateCreate,
    TemplatePreview,
    TemplatePreviewRead,
    TemplateRead,
    TestSend,
    TestSendRead,
    UnsubscribeRead,
)
from app.models import Campaign

router = APIRouter(prefix="/messaging", tags=["messaging"])
Sender = Annotated[Principal, require(Perm.send_messages)]


async def _campaign(campaign_id: uuid.UUID, session: SessionDep, user: Sender) -> Campaign:
    return await service.get_campaign(session, campaign_id, organization_id=user.organization_id)


CampaignDep = Annotated[Campaign, Depends(_campaign)]


def _start(request: Request, session: SessionDep, c: Campaign) -> None:
    org, cid, run = str(c.organization_id), str(c.id), c.run

    async def go() -> None:
        await enqueue(request.app.state, "send_campaign_job", org, cid, job_id=f"campaign:{cid}:{run}")

    after_commit(session, go)


@router.get("/templates", operation_id="messaging-templates-list")
async def list_templates(session: SessionDep, user: Sender) -> list[TemplateRead]:
    return await service.list_templates(session, organization_id=user.organization_id)


@router.post("/templates", status_code=201, operation_id="messaging-templates-create")
async def create_template(body: TemplateCreate, session: SessionDep, user: Sender) -> TemplateRead:
    return await service.create_template(session, body, actor=user)


@router.get("/templates/{template_id}", operation_id="messaging-templates-read")
async def read_template(template_id: uuid.UUID, session: SessionDep, user: Sender) -> TemplateRead:
    t = await service.get_template(session, template_id, organization_id=user.organization_id)
    return TemplateRead.model_validate(t)


@router.post("/preview", operation_id="messaging-preview")
async def preview(body: TemplatePreview, session: SessionDep, user: Sender) -> TemplatePreviewRead:
    """Render a template as typed, for a real contact (or a sample): merge fields checked, SMS length and parts."""
    return await service.preview(session, body, actor=user)


@router.get("/campaigns", operation_id="messaging-campaigns-list")
async def list_campaigns(session: SessionDep, user: Sender) -> list[CampaignRead]:
    return await service.list_campaigns(session, organization_id=user.organization_id)


@router.post("/campaigns", status_code=201, operation_id="messaging-campaigns-create")
async def create_campaign(body: CampaignCreate, session: SessionDep, user: Sender) -> CampaignRead:
    return await service.create_campaign(session, body, actor=user)


@router.get("/campaigns/{campaign_id}", operation_id="messaging-campaigns-read")
async def read_campaign(user: Sender, c: CampaignDep, session: SessionDep) -> CampaignRead:
    return await service.read(session, c)


@router.post("/campaigns/{campaign_id}/test", operation_id="messaging-campaigns-test")
async def test_send(
    user: Sender, body: TestSend, c: CampaignDep, session: SessionDep, request: Request
) -> TestSendRead:
    """Send the campaign's message to yourself now (rendered for a contact or a sample)."""
    return await channel.test_send(session, c, body, actor=user, settings=request.app.state.settings.messaging)


@router.post("/campaigns/{campaign_id}/send", operation_id="messaging-campaigns-send")
async def send_campaign(
    user: Sender, body: CampaignSend, c: CampaignDep, session: SessionDep, request: Request
) -> CampaignRead:
    """Send now, or at `scheduled_at`: only to contacts with current consent for the channel, one per address."""
    out = await service.send(session, c, scheduled_at=body.scheduled_at, actor=user)
    _start(request, session, c)
    return out


@router.post("/campaigns/{campaign_id}/pause", operation_id="messaging-campaigns-pause")
async def pause_campaign(user: Sender, c: CampaignDep, session: SessionDep) -> CampaignRead:
    return await service.pause(session, c, actor=user)


@router.post("/campaigns/{campaign_id}/resume", operation_id="messaging-campaigns-resume")
async def resume_campaign(user: Sender, c: CampaignDep, session: SessionDep, request: Request) -> CampaignRead:
    out = await service.resume(session, c, actor=user)
    _start(request, session, c)
    return out


@router.post("/campaigns/{campaign_id}/cancel", operation_id="messaging-campaigns-cancel")
async def cancel_campaign(user: Sender, c: CampaignDep, session: SessionDep) -> CampaignRead:
    return await service.cancel(session, c, actor=user)


@router.post("/contacts/{contact_id}/messages", status_code=201, operation_id="messaging-personal-send")
async def send_personal(
    contact_id: uuid.UUID, body: PersonalMessage, user: Sender, session: SessionDep, request: Request
) -> DirectMessageRead:
    """A one-off message to one contact (from their page), by email or SMS: only with their current consent for
    the channel. Queued, then sent by a job; it lands on their timeline when sent and is audited with you."""
    out = await direct.send_personal(session, contact_id, body, actor=user)
    after_commit(session, direct.deliver_later(request.app.state, user.organization_id, out.id))
    return out


@router.get("/inbox", operation_id="messaging-inbox-list")
async def list_inbox(
    session: SessionDep,
    user: Sender,
    unanswered: Annotated[bool, Query(description="Only those nobody answered yet.")] = False,
    limit: LimitQ = 50,
    cursor: CursorQ = None,
) -> Page[DirectMessageRead]:
    """SMS replies to the organization's messages (opt-outs are not listed: they are in the consent log), newest
    first. Each one is also on its contact's timeline."""
    return await direct.inbox(
        session, organization_id=user.organization_id, unanswered=unanswered, cursor=cursor, limit=limit
    )


@router.post("/inbox/{message_id}/reply", status_code=201, operation_id="messaging-inbox-reply")
async def reply_inbox(
    message_id: uuid.UUID,
    body: InboxReply,
    user: Sender,
    session: SessionDep,
    request: Request,
) -> DirectMessageRead:
    """Answer an inbox SMS (to the number it came from, unless it opted out since); audited with you."""
    out = await direct.reply(session, message_id, body, actor=user)
    after_commit(session, direct.deliver_later(request.app.state, user.organization_id, out.id))
    return out


Token = Annotated[str, Path(max_length=200)]
Limiter = Annotated[RateLimiter, Depends(limiter)]


@router.post("/unsubscribe/{token}", operation_id="messaging-unsubscribe")
async def unsubscribe_one_click(token: Token, request: Request, session: SessionDep, rl: Limiter) -> UnsubscribeRead:
    """Public, from the recipient's mail client (RFC 8058 one-click) or the footer link's page: withdraws the
    contact's email consent."""
    await rl.check(f"public:{client_ip(request)}", limit=request.app.state.settings.limits.public_requests_per_minute)
    secret = request.app.state.settings.secret_key.get_secret_value()
    changed = await unsubscribe.withdraw(session, token, secret=secret)
    return UnsubscribeRead(unsubscribed=True, changed=changed)


@router.get("/unsubscribe/{token}", operation_id="messaging-unsubscribe-page", response_class=HTMLResponse)
async def unsubscribe_page(token: Token, request: Request) -> HTMLResponse:
    """The footer link: a page with one button (a GET never unsubscribes: mail scanners follow links)."""
    unsubscribe.parse(request.app.state.settings.secret_key.get_secret_value(), token)
    return HTMLResponse(
        '<!doctype html><html lang="en"><meta charset="utf-8"><title>Unsubscribe</title>'
        '<form method="post"><p>Stop receiving these emails?</p>'
        '<button type="submit">Unsubscribe</button></form></html>'
    )

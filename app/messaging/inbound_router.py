"""Routes the providers call: inbound SMS and SMS status callbacks (signed by the provider), and email events
(bounced, opened) from the mail system (a shared secret). None of them takes a user's session."""

from __future__ import annotations

import hmac
import uuid

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.core.db import SessionDep
from app.core.errors import Unauthorized
from app.messaging import inbound
from app.messaging.schemas import EmailEvent, EmailEventRead

router = APIRouter(prefix="/messaging", tags=["messaging"])
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


async def _signed_form(request: Request) -> dict[str, str]:
    """The POST form, once its X-Twilio-Signature is checked against the URL the provider called."""
    form = await request.form()
    params = {k: v for k, v in form.items() if isinstance(v, str)}
    settings = request.app.state.settings.messaging
    if settings.sms_verify_signature:
        url = settings.public_url.rstrip("/") + request.url.path
        if request.url.query:
            url += "?" + request.url.query
        inbound.verify(
            settings.sms_auth_token.get_secret_value(), url, params, request.headers.get("x-twilio-signature")
        )
    return params


@router.post(
    "/sms/{organization_id}/inbound",
    operation_id="messaging-sms-inbound",
    response_class=Response,
    responses={200: {"content": {"text/xml": {}}, "description": "An empty TwiML answer."}},
)
async def sms_inbound(organization_id: uuid.UUID, request: Request, session: SessionDep) -> Response:
    """The provider's inbound-message webhook (Twilio-compatible form: From, To, Body, MessageSid), signed with
    `X-Twilio-Signature`. STOP, STOP ALL, UNSUBSCRIBE, ARRET, DEZABONARE (any case or accents) withdraw SMS
    consent for every contact with that number, and the opt-out is confirmed once by SMS; any other text lands
    on the contact's timeline and in the inbox (`GET /messaging/inbox`)."""
    params = await _signed_form(request)
    await inbound.receive_sms(session, organization_id, params, state=request.app.state)
    return Response(EMPTY_TWIML, media_type="text/xml")


@router.post("/sms/{organization_id}/status", operation_id="messaging-sms-status", status_code=204)
async def sms_status(organization_id: uuid.UUID, request: Request, session: SessionDep) -> None:
    """The provider's status callback (MessageSid, MessageStatus, ErrorCode, ErrorMessage), signed with
    `X-Twilio-Signature`: the message becomes sent, delivered, undelivered or failed (with the provider's
    reason). Campaign SMS name this URL as their StatusCallback."""
    params = await _signed_form(request)
    await inbound.sms_status(session, organization_id, params)


@router.post("/email/events", operation_id="messaging-email-events")
async def email_events(body: EmailEvent, request: Request, session: SessionDep) -> EmailEventRead:
    """For the mail system (a bounce processor, an ESP's webhook adapter), with `Authorization: Bearer
    <MESSAGING__EMAIL_EVENTS_SECRET>`. A bounce marks the message bounced and the address invalid, so later
    campaigns skip it; `opened` marks a sent message opened (only when the mail system reports opens: GroundGame
    itself adds no tracking pixel)."""
    secret = request.app.state.settings.messaging.email_events_secret.get_secret_value()
    given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
    if not secret or not hmac.compare_digest(given.encode(), secret.encode()):
        raise Unauthorized("A valid events secret is required.")
    return await inbound.email_event(session, body)

"""Peer-to-peer texting: after a call or a visit, the volunteer sends the action's SMS template from their own
phone (an `sms:` link, prefilled), and the text is logged on the contact's timeline (audited). Only for a person
the volunteer reported on in this action (else 404, like a random id), with current SMS consent and no SMS
opt-out (else 403); an action without a P2P template is a 404."""

from __future__ import annotations

import uuid
from urllib.parse import quote

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import service as audit
from app.auth.principal import Principal
from app.calling.schemas import P2PText, P2PTextLogged
from app.contacts.events import add_event
from app.core.errors import Forbidden, NotFound
from app.messaging.render import compile_parts, contact_fields
from app.models import Action, Contact, ContactEvent, FieldReport, MessageTemplate


class NoP2PTemplate(NotFound):
    code = "p2p_template_not_found"
    message = "This action has no text message to send."


class NotYourContact(NotFound):
    code = "contact_not_found"
    message = "Contact not found."


class NoSmsConsent(Forbidden):
    code = "no_sms_consent"
    message = "This person has not agreed to receive text messages."


async def _contact(session: AsyncSession, action: Action, contact_id: uuid.UUID, actor: Principal) -> Contact:
    reported = exists().where(
        FieldReport.organization_id == action.organization_id,
        FieldReport.action_id == action.id,
        FieldReport.contact_id == contact_id,
        FieldReport.user_id == actor.user_id,
    )
    contact = await session.scalar(
        select(Contact).where(Contact.organization_id == action.organization_id, Contact.id == contact_id, reported)
    )
    if contact is None:
        raise NotYourContact()
    if contact.consent_sms != "granted" or contact.dnc_sms or not contact.mobile_e164 or contact.mobile_invalid:
        raise NoSmsConsent()
    return contact


async def _template(session: AsyncSession, action: Action) -> MessageTemplate:
    if action.p2p_template_id is None:
        raise NoP2PTemplate()
    tpl = await session.scalar(
        select(MessageTemplate).where(
            MessageTemplate.organization_id == action.organization_id,
            MessageTemplate.id == action.p2p_template_id,
            MessageTemplate.channel == "sms",
        )
    )
    if tpl is None:
        raise NoP2PTemplate()
    return tpl


async def prepare(session: AsyncSession, action: Action, contact_id: uuid.UUID, *, actor: Principal) -> P2PText:
    contact = await _contact(session, action, contact_id, actor)
    tpl = await _template(session, action)
    body = compile_parts({"body_text": tpl.body_text}).render(contact_fields(contact))["body_text"]
    to = contact.mobile_e164 or ""
    return P2PText(contact_id=contact.id, to=to, body=body, template_id=tpl.id, sms_link=f"sms:{to}?body={quote(body)}")


async def log_sent(
    session: AsyncSession, action: Action, contact_id: uuid.UUID, text_id: uuid.UUID, *, actor: Principal
) -> P2PTextLogged:
    """Once per client id: a second tap, or a replay from the outbox, logs nothing more."""
    text = await prepare(session, action, contact_id, actor=actor)
    already = await session.scalar(
        select(ContactEvent.id).where(
            ContactEvent.organization_id == action.organization_id,
            ContactEvent.contact_id == contact_id,
            ContactEvent.kind == "message",
            ContactEvent.data["p2p_id"].astext == str(text_id),
        )
    )
    if already is None:
        await add_event(
            session,
            action.organization_id,
            contact_id,
            kind="message",
            actor=actor,
            action_id=action.id,
            summary="Text sent by a volunteer from their phone",
            data={"p2p_id": str(text_id), "channel": "sms", "template_id": str(text.template_id), "body": text.body},
        )
        await audit.record(
            session,
            actor=actor,
            action="p2p_text.sent",
            object_type="contact",
            object_id=contact_id,
            details={"action_id": str(action.id), "template_id": str(text.template_id)},
        )
    return P2PTextLogged(id=text_id, contact_id=contact_id, logged=already is None)

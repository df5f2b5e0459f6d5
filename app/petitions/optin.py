"""Double opt-in: the confirmation email of a pending signature, sent by the worker through the messaging email
sender. The link carries a token derived from the signature id (only its hash is stored)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import State

from app.core.db import after_commit, set_tenant
from app.core.jobs import enqueue
from app.messaging.senders import EmailSender, PermanentFailure, build_email
from app.models import Petition, PetitionSignature
from app.petitions.i18n import t
from app.petitions.signing import confirm_token, shown


def queue_confirmation(session: AsyncSession, state: State, sig: PetitionSignature) -> None:
    """After commit: the confirmation email of a pending signature (one job per signature)."""
    org, sid = str(sig.organization_id), str(sig.id)

    async def send() -> None:
        await enqueue(state, "send_petition_confirmation", org, sid, job_id=f"petition-confirm:{sid}")

    after_commit(session, send)


def confirm_url(public_url: str, token: str) -> str:
    return f"{public_url.rstrip('/')}/p/confirm/{token}"


async def send_confirmation(ctx: dict[str, Any], organization_id: str, signature_id: str) -> str:
    settings = ctx["settings"]
    org, sid = uuid.UUID(organization_id), uuid.UUID(signature_id)
    async with ctx["sessionmaker"]() as session, session.begin():
        await set_tenant(session, org)
        sig = await session.scalar(
            select(PetitionSignature).where(PetitionSignature.organization_id == org, PetitionSignature.id == sid)
        )
        if sig is None or sig.status != "pending":
            return "skipped"
        petition = await session.scalar(
            select(Petition).where(Petition.organization_id == org, Petition.id == sig.petition_id)
        )
        if petition is None:
            return "skipped"
        to, lang, title = sig.signer_key, sig.language, shown(petition, sig.language)["title"]
    link = confirm_url(settings.messaging.public_url, confirm_token(settings.secret_key.get_secret_value(), sid))
    body = t(lang, "email_body").format(title=title, link=link)
    msg = build_email(
        settings.messaging, to=to, subject=t(lang, "email_subject").format(title=title), html="", text=body
    )
    async with EmailSender(settings.messaging) as sender:
        try:
            await sender.send(msg)
        except PermanentFailure:
            return "refused"
    return "sent"


async def purge_unconfirmed(ctx: dict[str, Any]) -> int:
    """Delete the pending signatures older than the retention: a pending signature made no contact, consent,
    count or event, so its own row (what the signer typed, the IP, the token's hash) is all there is to delete.
    Its link then answers as an unknown one."""
    days = ctx["settings"].petitions.pending_retention_days
    before = datetime.now(UTC) - timedelta(days=days)
    async with ctx["engine"].connect() as conn:
        orgs = (await conn.execute(text("SELECT gg_pending_signature_orgs(:b)"), {"b": before})).scalars().all()
    deleted = 0
    for org in orgs:
        async with ctx["sessionmaker"]() as session, session.begin():
            await set_tenant(session, org)
            res = await session.execute(
                delete(PetitionSignature).where(
                    PetitionSignature.organization_id == org,
                    PetitionSignature.status == "pending",
                    PetitionSignature.created_at < before,
                )
            )
            deleted += int(res.rowcount or 0)
    return deleted

"""Petitions through the API and their public pages: an open petition, valid (aged) form tokens."""

from __future__ import annotations

import time
import uuid
from typing import Any

from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import get_settings
from app.core.db import set_tenant
from app.models import ConsentLog, Contact, Petition, PetitionSignature
from app.petitions.signing import form_token
from tests.fixtures.factories import Actor

API = "/api/v1"


async def open_petition(client: AsyncClient, admin: Actor, **over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "slug": f"p-{uuid.uuid4().hex[:10]}",
        "title": "Keep the clinic open",
        "text": "The clinic is threatened.\n\nSign to keep it open.",
        "goal": 100,
        "consent_wording": {"email": "Keep me informed by email.", "sms": "Text me about this campaign."},
        "tags": ["clinic"],
        "thank_you_message": "Thank you, share it!",
        "languages": ["en", "fr"],
        "translations": {
            "fr": {"title": "Gardons la clinique", "consent_wording": {"email": "Informez-moi par e-mail."}}
        },
        "status": "open",
        **over,
    }
    res = await client.post(f"{API}/petitions", json=body, headers=admin.headers)
    assert res.status_code == 201, res.text
    data: dict[str, Any] = res.json()
    return data


def aged_token(petition_id: str, seconds: float = 30) -> str:
    """The token a page would have shown `seconds` ago (a person took that long to fill the form)."""
    return form_token(get_settings().secret_key.get_secret_value(), uuid.UUID(petition_id), time.time() - seconds)


def form(petition: dict[str, Any], **over: Any) -> dict[str, Any]:
    return {
        "first_name": "Ioana",
        "last_name": "Popescu",
        "email": "ioana@example.org",
        "consents": ["email"],
        "form_token": aged_token(petition["id"]),
        "website": "",
        **over,
    }


async def signatures(db: AsyncSession, org: uuid.UUID, petition_id: str) -> list[PetitionSignature]:
    await set_tenant(db, org)
    q = select(PetitionSignature).where(PetitionSignature.petition_id == uuid.UUID(petition_id))
    return list((await db.scalars(q)).all())


async def contacts_by_email(db: AsyncSession, org: uuid.UUID, email: str) -> list[Contact]:
    await set_tenant(db, org)
    return list((await db.scalars(select(Contact).where(Contact.email == email))).all())


async def consent_rows(db: AsyncSession, org: uuid.UUID, contact_id: uuid.UUID) -> list[ConsentLog]:
    await set_tenant(db, org)
    q = select(ConsentLog).where(ConsentLog.contact_id == contact_id).order_by(ConsentLog.id)
    return list((await db.scalars(q)).all())


async def count_of(db: AsyncSession, org: uuid.UUID, petition_id: str) -> int:
    await set_tenant(db, org)
    n = await db.scalar(select(Petition.signature_count).where(Petition.id == uuid.UUID(petition_id)))
    return int(n or 0)

"""Petitions for HQ: create, list, read, update; the public address and the embed snippet of each."""

from __future__ import annotations

import uuid
from html import escape
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import service as audit
from app.auth.principal import Principal
from app.contacts.service import ensure_tags
from app.core.errors import Conflict, NotFound, Unprocessable
from app.models import Action, Petition
from app.petitions.schemas import PetitionCreate, PetitionRead, PetitionUpdate


class PetitionNotFound(NotFound):
    code = "petition_not_found"
    message = "Petition not found."


class SlugTaken(Conflict):
    code = "petition_slug_taken"
    message = "Another petition already uses this address."


def public_url(base: str, slug: str) -> str:
    return f"{base.rstrip('/')}/p/{slug}"


def embed_snippet(base: str, slug: str, title: str) -> str:
    url = escape(public_url(base, slug), quote=True)
    return (
        f'<iframe src="{url}?embed=1" title="{escape(title, quote=True)}" loading="lazy" '
        'style="width:100%;max-width:480px;height:640px;border:0"></iframe>'
    )


def to_read(p: Petition, base: str) -> PetitionRead:
    r = PetitionRead.model_validate(p)
    return r.model_copy(
        update={"public_url": public_url(base, p.slug), "embed_snippet": embed_snippet(base, p.slug, p.title)}
    )


async def _check_action(session: AsyncSession, org: uuid.UUID, action_id: uuid.UUID | None) -> None:
    if action_id is None:
        return
    kind = await session.scalar(select(Action.type).where(Action.organization_id == org, Action.id == action_id))
    if kind != "petition":
        raise Unprocessable(
            "The action is not a petition action of this organization.",
            details=[{"field": "action_id", "message": "not a petition action"}],
        )


def _check_languages(languages: list[str], wording: dict[str, Any], translations: dict[str, Any]) -> None:
    extra = sorted(set(translations) - set(languages))
    if extra:
        raise Unprocessable(
            "A translation names a language the petition is not in.",
            details=[{"field": "translations", "message": f"not in languages: {', '.join(extra)}"}],
        )
    for lang, t in translations.items():
        more = set((t or {}).get("consent_wording") or {}) - set(wording)
        if more:
            raise Unprocessable(
                "A translation words a consent the petition does not ask.",
                details=[{"field": f"translations.{lang}.consent_wording", "message": "unknown channel"}],
            )


RESERVED_SLUGS = frozenset({"confirm"})  # /p/confirm/{token} is the double opt-in link


async def create(session: AsyncSession, body: PetitionCreate, *, actor: Principal) -> Petition:
    if body.slug in RESERVED_SLUGS:
        raise SlugTaken(details=[{"field": "slug", "message": "reserved"}])
    await _check_action(session, actor.organization_id, body.action_id)
    data = body.model_dump()
    _check_languages(data["languages"], data["consent_wording"], data["translations"])
    row = Petition(organization_id=actor.organization_id, id=uuid.uuid4(), created_by=actor.user_id, **data)
    row.signature_count = 0  # the sum of its (not yet existing) counter shards
    session.add(row)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as e:
        raise SlugTaken(details=[{"field": "slug", "message": "already used"}]) from e
    await ensure_tags(session, actor.organization_id, row.tags)
    await audit.record(
        session, actor=actor, action="petition.create", object_type="petition", object_id=row.id, details={}
    )
    return row


async def get(session: AsyncSession, petition_id: uuid.UUID, *, actor: Principal) -> Petition:
    row = await session.scalar(
        select(Petition).where(Petition.organization_id == actor.organization_id, Petition.id == petition_id)
    )
    if row is None:
        raise PetitionNotFound()
    return row


async def of_action(session: AsyncSession, action: Action) -> Petition:
    """The open petition of a petition action (the newest, if HQ linked several)."""
    row = await session.scalar(
        select(Petition)
        .where(
            Petition.organization_id == action.organization_id,
            Petition.action_id == action.id,
            Petition.status == "open",
        )
        .order_by(Petition.created_at.desc())
        .limit(1)
    )
    if row is None:
        raise PetitionNotFound("This action has no open petition.")
    return row


async def list_all(session: AsyncSession, *, actor: Principal) -> list[Petition]:
    q = select(Petition).where(Petition.organization_id == actor.organization_id).order_by(Petition.created_at.desc())
    return list((await session.scalars(q)).all())


async def update(session: AsyncSession, row: Petition, body: PetitionUpdate, *, actor: Principal) -> Petition:
    data = body.model_dump(exclude_unset=True)
    if "action_id" in data:
        await _check_action(session, actor.organization_id, data["action_id"])
    merged = {
        "languages": data.get("languages", row.languages),
        "consent_wording": data.get("consent_wording", row.consent_wording),
        "translations": data.get("translations", row.translations),
    }
    _check_languages(merged["languages"], merged["consent_wording"], merged["translations"])
    for k, v in data.items():
        setattr(row, k, v)
    await session.flush()
    if "tags" in data:
        await ensure_tags(session, actor.organization_id, row.tags)
    await audit.record(
        session,
        actor=actor,
        action="petition.update",
        object_type="petition",
        object_id=row.id,
        details={"fields": sorted(data)},
    )
    return row

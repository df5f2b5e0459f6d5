"""Petitions in the API: HQ manages them (manage_petitions); a volunteer on a petition action collects signatures
in the field (field_work, on an action they can see)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request

from app.actions import service as action_service
from app.actions.dependencies import VisibleAction
from app.auth.dependencies import FieldWorker, client_ip, require
from app.auth.permissions import Perm
from app.auth.principal import Principal
from app.core.db import SessionDep
from app.models import Petition
from app.petitions import service, signing
from app.petitions.i18n import t
from app.petitions.optin import queue_confirmation
from app.petitions.schemas import (
    FieldSignatureInput,
    PetitionCreate,
    PetitionRead,
    PetitionUpdate,
    PublicPetition,
    SignatureResult,
)

router = APIRouter(tags=["petitions"])
PetitionManager = Annotated[Principal, require(Perm.manage_petitions)]


def _base(request: Request) -> str:
    return str(request.app.state.settings.messaging.public_url)


async def _petition(petition_id: uuid.UUID, session: SessionDep, user: PetitionManager) -> Petition:
    return await service.get(session, petition_id, actor=user)


ManagedPetition = Annotated[Petition, Depends(_petition)]


@router.post(
    "/petitions",
    status_code=201,
    operation_id="petitions-create",
    summary="Create a petition",
    description="A draft until its status is `open`; then its page is public at `/p/{slug}`.",
)
async def create_petition(
    body: PetitionCreate, request: Request, session: SessionDep, user: PetitionManager
) -> PetitionRead:
    return service.to_read(await service.create(session, body, actor=user), _base(request))


@router.get("/petitions", operation_id="petitions-list", summary="List the petitions, newest first")
async def list_petitions(request: Request, session: SessionDep, user: PetitionManager) -> list[PetitionRead]:
    return [service.to_read(p, _base(request)) for p in await service.list_all(session, actor=user)]


@router.get(
    "/petitions/{petition_id}",
    operation_id="petitions-read",
    summary="Read a petition, with its public address and embed snippet",
)
async def read_petition(user: PetitionManager, petition: ManagedPetition, request: Request) -> PetitionRead:
    return service.to_read(petition, _base(request))


@router.patch("/petitions/{petition_id}", operation_id="petitions-update", summary="Change a petition")
async def update_petition(
    user: PetitionManager, petition: ManagedPetition, body: PetitionUpdate, request: Request, session: SessionDep
) -> PetitionRead:
    return service.to_read(await service.update(session, petition, body, actor=user), _base(request))


async def _action_petition(action: VisibleAction, session: SessionDep) -> Petition:
    return await service.of_action(session, action)


ActionPetition = Annotated[Petition, Depends(_action_petition)]


@router.get(
    "/actions/{action_id}/petition",
    operation_id="actions-petition-read",
    summary="The petition a volunteer collects signatures for on this action",
)
async def action_petition(petition: ActionPetition, user: FieldWorker, lang: str | None = None) -> PublicPetition:
    language = signing.pick_language(petition, lang, None)
    s = signing.shown(petition, language)
    return PublicPetition(
        id=petition.id,
        slug=petition.slug,
        title=s["title"],
        text=s["text"],
        goal=petition.goal,
        signature_count=petition.signature_count,
        language=language,
        consent_wording=s["consent_wording"],
        thank_you_message=s["thank_you_message"],
    )


@router.post(
    "/actions/{action_id}/petition/signatures",
    status_code=202,
    operation_id="actions-petition-sign",
    summary="Record a signature collected in the field",
    description="The signer ticked the consents shown by the app (the petition's wording in `language`). "
    "A second signature with the same email is accepted and stores nothing.",
)
async def field_sign(
    action_id: uuid.UUID, body: FieldSignatureInput, request: Request, session: SessionDep, user: FieldWorker
) -> SignatureResult:
    # Loaded here, not by a dependency: the body is checked first (a bad body is a 422 on any action).
    petition = await service.of_action(session, await action_service.get(session, action_id, actor=user))
    lang = signing.pick_language(petition, body.language, None)
    secret = request.app.state.settings.secret_key.get_secret_value()
    outcome, sig = await signing.sign(
        session,
        petition,
        body,
        lang=lang,
        ip=client_ip(request),
        channel="field",
        secret=secret,
        collected_by=user.user_id,
    )
    if outcome == "pending" and sig is not None:
        queue_confirmation(session, request.app.state, sig)
    s = signing.shown(petition, lang)
    message = t(lang, "check_email") if petition.double_opt_in else (s["thank_you_message"] or t(lang, "thanks"))
    return SignatureResult(message=message)

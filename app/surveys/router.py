from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from app.auth.dependencies import CurrentUser, require
from app.auth.permissions import Perm
from app.auth.principal import Principal
from app.core.db import SessionDep
from app.core.schemas import INT4_MAX
from app.surveys import service
from app.surveys.schemas import SurveyCreate, SurveyRead, SurveyResults

router = APIRouter(prefix="/surveys", tags=["surveys"])
Builder = Annotated[Principal, require(Perm.manage_actions)]
Reader = Annotated[Principal, require(Perm.lead_actions)]


@router.get("", operation_id="surveys-list")
async def list_surveys(session: SessionDep, user: Reader) -> list[SurveyRead]:
    return await service.list_current(session, organization_id=user.organization_id)


@router.post("", status_code=201, operation_id="surveys-create")
async def create_survey(body: SurveyCreate, session: SessionDep, user: Builder) -> SurveyRead:
    return await service.create(session, body, actor=user)


@router.get("/{survey_id}", operation_id="surveys-read")
async def read_survey(
    survey_id: uuid.UUID,
    session: SessionDep,
    user: CurrentUser,
    version: Annotated[int | None, Query(ge=1, le=INT4_MAX)] = None,
) -> SurveyRead:
    """Any member may read a survey's questions (volunteers render it in the call flow)."""
    return await service.read(
        session, await service.get(session, survey_id, organization_id=user.organization_id), version
    )


@router.put("/{survey_id}", operation_id="surveys-replace")
async def replace_survey(survey_id: uuid.UUID, body: SurveyCreate, session: SessionDep, user: Builder) -> SurveyRead:
    s = await service.get(session, survey_id, organization_id=user.organization_id)
    return await service.replace(session, s, body)


@router.get("/{survey_id}/results", operation_id="surveys-results")
async def survey_results(survey_id: uuid.UUID, session: SessionDep, user: Reader) -> SurveyResults:
    return await service.results(session, await service.get(session, survey_id, organization_id=user.organization_id))

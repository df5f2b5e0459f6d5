"""Step by step online: the outcome first (POST /calls/{id}/report with the outcome only), the rest after."""

from __future__ import annotations

import hashlib
import json
import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.principal import Principal
from app.calling import effects
from app.calling.reports import ReportConflict
from app.calling.schemas import ReportDetails, ReportResponse
from app.core.errors import NotFound, Unprocessable
from app.models import Action, Contact, FieldReport
from app.models.statuses import REACHED, ReportKind


class ReportNotFound(NotFound):
    code = "report_not_found"
    message = "Report not found."


async def lock_own_report(session: AsyncSession, report_id: uuid.UUID, *, actor: Principal) -> FieldReport:
    """The caller's own report, row-locked for the rest of the transaction (what a resend waits on); 404 for
    anyone else's or an unknown id alike."""
    rep = await session.scalar(
        select(FieldReport)
        .where(
            FieldReport.organization_id == actor.organization_id,
            FieldReport.id == report_id,
            FieldReport.user_id == actor.user_id,
        )
        .with_for_update()
    )
    if rep is None:
        raise ReportNotFound()
    return rep


async def add_details(
    session: AsyncSession, report_id: uuid.UUID, body: ReportDetails, *, actor: Principal
) -> ReportResponse:
    org = actor.organization_id
    # The row lock serializes identical details sent at once: the second waits, then reads the row as the first
    # left it (PostgreSQL re-reads a row it waited to lock) and replays the stored response.
    rep = await lock_own_report(session, report_id, actor=actor)
    h = hashlib.sha256(json.dumps(body.model_dump(mode="json"), sort_keys=True).encode()).hexdigest()
    if rep.details_hash is not None:
        if rep.details_hash != h:
            raise ReportConflict("Details were already sent for this report, with a different body.")
        return ReportResponse.model_validate(rep.details_response)
    if (body.survey_answers or body.contact_updates) and rep.outcome not in REACHED:
        raise Unprocessable(
            "Survey answers and contact updates need a reached person.",
            details=[{"field": "survey_answers", "message": f"outcome is {rep.outcome}"}],
        )
    action = await session.scalar(select(Action).where(Action.organization_id == org, Action.id == rep.action_id))
    assert action is not None
    contact = (
        await session.scalar(
            select(Contact).where(Contact.organization_id == org, Contact.id == rep.contact_id).with_for_update()
        )
        if rep.contact_id
        else None
    )
    kind = ReportKind(rep.kind)
    version, answers = await effects.validate_survey(session, action, body)
    if contact is not None:
        await effects.update_contact(session, contact, body.contact_updates, actor=actor, source=kind)
    opp_ids = await effects.raise_opportunities(
        session, body.opportunities, actor=actor, action=action, contact_id=rep.contact_id, report_id=rep.id
    )
    await effects.save_answers(
        session, action, report_id=rep.id, contact_id=rep.contact_id, version=version, answers=answers
    )
    for k in ("consent_given", "comment", "quality", "mobilized"):
        v = getattr(body, k)
        if v is not None:
            setattr(rep, k, v)
    if answers:
        rep.survey_id, rep.survey_version = action.survey_id, version
    if contact is not None:
        await effects.add_to_timeline(
            session,
            action,
            contact.id,
            kind=kind,
            actor=actor,
            summary="Details of the conversation",
            data={"report_id": str(rep.id), "comment": body.comment, "survey": answers or None},
        )
    keys = (["mobilized"] if body.mobilized else []) + (["opportunities"] if opp_ids else [])
    await effects.count(session, action, keys)
    first = ReportResponse.model_validate(rep.response)
    response = first.model_copy(update={"opportunity_ids": [*first.opportunity_ids, *opp_ids]})
    rep.details_hash, rep.details_response = h, response.model_dump(mode="json")
    await session.flush()
    return response

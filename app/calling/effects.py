"""What a report changes besides its target, one small step each: the survey answers, the contact (updates,
consents, flags), the opportunities raised, the timeline and the action's counters. The call, visit and
details flows are sequences of these, in the request's one transaction."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.principal import Principal
from app.calling.schemas import CallReport, ContactUpdates, ReportCorrection, ReportDetails, VisitReport
from app.contacts import consents as consent_service
from app.contacts.events import add_event
from app.contacts.schemas import ConsentInput, ContactUpdate
from app.contacts.service import apply_changes, org_region
from app.core import counters
from app.core.errors import Unprocessable
from app.models import Action, ActionCounter, Contact, Survey, SurveyVersion
from app.models.statuses import CallOutcome, ReportKind
from app.opportunities import service as opportunities
from app.opportunities.schemas import OpportunityIn
from app.surveys import service as surveys

# Survey answers ---------------------------------------------------------------------------------------------

_VERSIONS: dict[tuple[uuid.UUID, uuid.UUID, int], list[dict[str, Any]]] = {}


async def validate_survey(
    session: AsyncSession, action: Action, body: CallReport | VisitReport | ReportDetails | ReportCorrection
) -> tuple[int | None, dict[str, Any]]:
    """Validate the answers against the survey version used. A version never changes once answered, so its
    questions are cached per process (a statement saved per report)."""
    if not body.survey_answers:
        return None, {}
    if action.survey_id is None:
        raise Unprocessable("This action has no survey.", details=[{"field": "survey_answers", "message": "no survey"}])
    questions = _VERSIONS.get((action.organization_id, action.survey_id, body.survey_version or 0))
    version = body.survey_version
    if questions is None:
        row = (
            await session.execute(
                select(SurveyVersion.version, SurveyVersion.questions)
                .join(
                    Survey,
                    (Survey.organization_id == SurveyVersion.organization_id) & (Survey.id == SurveyVersion.survey_id),
                )
                .where(
                    SurveyVersion.organization_id == action.organization_id,
                    SurveyVersion.survey_id == action.survey_id,
                    SurveyVersion.version == (body.survey_version or Survey.current_version),
                )
            )
        ).first()
        if row is None:
            raise Unprocessable(
                "Unknown survey version.", details=[{"field": "survey_version", "message": "not found"}]
            )
        version, questions = row.version, row.questions
        if len(_VERSIONS) < 10_000:
            _VERSIONS[(action.organization_id, action.survey_id, row.version)] = questions
    return version, surveys.validate_answers(questions, body.survey_answers)


# One fixed statement, whatever the number of answers (nothing is built per report).
_SAVE_ANSWERS = text("""
    INSERT INTO survey_answers (organization_id, report_id, question_id, survey_id, survey_version, contact_id, value)
    SELECT CAST(:org AS uuid), CAST(:report AS uuid), e.key, CAST(:survey AS uuid), CAST(:version AS integer),
           CAST(:contact AS uuid), e.value
    FROM jsonb_each(CAST(:answers AS jsonb)) AS e""")


async def save_answers(
    session: AsyncSession,
    action: Action,
    *,
    report_id: uuid.UUID,
    contact_id: uuid.UUID | None,
    version: int | None,
    answers: dict[str, Any],
) -> None:
    if not answers:
        return
    await session.execute(
        _SAVE_ANSWERS,
        {
            "org": action.organization_id,
            "report": report_id,
            "survey": action.survey_id,
            "version": version,
            "contact": contact_id,
            "answers": json.dumps(answers),
        },
    )


# The contact ------------------------------------------------------------------------------------------------


async def update_contact(
    session: AsyncSession, contact: Contact, upd: ContactUpdates | None, *, actor: Principal, source: ReportKind
) -> None:
    """The details, tags and consents the person gave; errors name `contact_updates.<field>`."""
    if upd is None:
        return
    region = await org_region(session, contact.organization_id)
    data: dict[str, Any] = {}
    for k in ("email", "mobile", "home_phone", "address", "support_level"):
        v = getattr(upd, k)
        if v is not None:
            data[k] = v
    if data:
        cu = ContactUpdate(**data)
        try:
            await apply_changes(session, contact, cu.model_dump(exclude_unset=True), cu, region)
        except Unprocessable as e:
            for d in e.details:
                d["field"] = f"contact_updates.{d['field']}"
            raise
    if upd.tags_add:
        contact.tags = sorted(set(contact.tags or []) | set(upd.tags_add))
    if upd.consents:
        await consent_service.record_many(
            session,
            contact,
            [
                ConsentInput(channel=ch, status=st, source=source.value, proof=f"Given during a {source.value}")
                for ch, st in upd.consents.items()
            ],
            actor=actor,
        )


def mark_contacted(contact: Contact, action: Action, *, reached: bool, at: datetime) -> None:
    contact.last_contacted_at = at
    if reached and action.reached_tag:
        contact.tags = sorted(set(contact.tags or []) | {action.reached_tag})


def mark_numbers(contact: Contact, outcome: CallOutcome, wrong_number: str | None) -> None:
    """Do not call: the person opted out of calls. Wrong number: the one named, else the mobile if any."""
    if outcome == CallOutcome.do_not_call:
        contact.dnc_phone = True
    if outcome == CallOutcome.wrong_number:
        if wrong_number == "home" or (wrong_number is None and not contact.mobile_e164):
            contact.home_invalid = True
        else:
            contact.mobile_invalid = True


# Opportunities, timeline, counters --------------------------------------------------------------------------


async def raise_opportunities(
    session: AsyncSession,
    items: Sequence[OpportunityIn],
    *,
    actor: Principal,
    action: Action,
    contact_id: uuid.UUID | None,
    report_id: uuid.UUID,
    timeline: bool = True,
) -> list[uuid.UUID]:
    """Through the opportunities service, which checks what the items refer to. `timeline=False` when the report
    writes its own timeline entry listing them."""
    if not items:
        return []
    return await opportunities.create_many(
        session,
        items,
        actor=actor,
        contact_id=contact_id,
        action_id=action.id,
        report_id=report_id,
        timeline=timeline,
    )


async def add_to_timeline(
    session: AsyncSession,
    action: Action,
    contact_id: uuid.UUID,
    *,
    kind: ReportKind,
    actor: Principal,
    summary: str,
    data: dict[str, Any],
    at: datetime | None = None,
) -> None:
    await add_event(
        session,
        action.organization_id,
        contact_id,
        kind=kind.value,
        actor=actor,
        action_id=action.id,
        summary=summary,
        data=data,
        at=at,
    )


def report_counters(
    kind: ReportKind,
    outcome: str,
    *,
    reached: bool,
    support_level: int | None,
    mobilized: bool | None,
    opportunities: bool,
) -> list[str]:
    keys = [f"{kind.value}s", f"outcome:{outcome}"]
    if reached:
        keys.append("reached")
        if support_level is not None:
            keys.append(f"support:{support_level}")
    if mobilized:
        keys.append("mobilized")
    if opportunities:
        keys.append("opportunities")
    return keys


async def count(session: AsyncSession, action: Action, keys: list[str], *, by: int = 1) -> None:
    """Add one (or `by`: -1 takes a corrected report's keys back) to each of the action's counters `keys`, on a
    random shard (concurrent reports don't queue on one row): the counters' one writer, `counters.add`."""
    await counters.add(
        session, ActionCounter, {"organization_id": action.organization_id, "action_id": action.id}, keys, by=by
    )

"""A reporter corrects their own call or visit report, for a while after sending it (settings: limits.
correction_window_hours). The correction is a new version: the report row becomes the latest (HQ's figures and
the contact's timeline read it), the version it replaced is kept in `field_report_corrections`, and the action's
counters move by the difference, once. Idempotent like the report: the correction's id is the client's UUID, the
same body again returns the first response, another body a 409."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, literal, select, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.principal import Principal
from app.calling import effects
from app.calling.details import lock_own_report
from app.calling.reports import ReportConflict
from app.calling.schemas import CorrectionResponse, MyReport, ReportCorrection
from app.core.errors import Conflict, Unprocessable
from app.models import Action, Contact, ContactEvent, FieldReport, FieldReportCorrection, SurveyAnswer
from app.models.statuses import REACHED, CallOutcome, ReportKind, VisitOutcome

# What a correction may change, and what a version keeps.
FIELDS = ("outcome", "outcome_text", "consent_given", "comment", "quality", "mobilized")


class CorrectionWindowClosed(Conflict):
    code = "correction_window_closed"
    message = "This report can no longer be corrected."


def _hash(report_id: uuid.UUID, body: ReportCorrection) -> str:
    raw = json.dumps({"report": str(report_id), "body": body.model_dump(mode="json")}, sort_keys=True)
    return hashlib.sha256(raw.encode()).hexdigest()


def _check_outcome(kind: ReportKind, body: ReportCorrection) -> None:
    allowed = {o.value for o in (CallOutcome if kind == ReportKind.call else VisitOutcome)}
    # A callback, a wrong number or "do not call" moves the target or the contact everywhere: not a correction's
    # business, which changes what was reported and its figures.
    allowed -= {CallOutcome.callback.value, CallOutcome.wrong_number.value, CallOutcome.do_not_call.value}
    if body.outcome not in allowed:
        raise Unprocessable(
            "This outcome cannot be given to this report.",
            details=[{"field": "outcome", "message": f"one of {', '.join(sorted(allowed))}"}],
        )
    if body.outcome == "other" and not body.outcome_text:
        raise Unprocessable(
            "Say what happened.", details=[{"field": "outcome_text", "message": "required when the outcome is other"}]
        )
    if body.survey_answers and body.outcome not in REACHED:
        raise Unprocessable(
            "Survey answers need a reached person.",
            details=[{"field": "survey_answers", "message": f"outcome is {body.outcome}"}],
        )


async def _answers(session: AsyncSession, rep: FieldReport) -> dict[str, Any]:
    rows = await session.execute(
        select(SurveyAnswer.question_id, SurveyAnswer.value).where(
            SurveyAnswer.organization_id == rep.organization_id, SurveyAnswer.report_id == rep.id
        )
    )
    return dict(rows.tuples().all())


def counter_change(
    kind: ReportKind, before: dict[str, Any], after: dict[str, Any], *, support_level: int | None
) -> tuple[list[str], list[str]]:
    """The counter keys to take back and to add. A support level is counted only where "reached" changed
    (the contact's current level): otherwise the one counted with the report stays."""
    reached_before, reached_after = before["outcome"] in REACHED, after["outcome"] in REACHED
    level = support_level if reached_before != reached_after else None
    opps = bool(before.get("opportunities"))
    old = set(
        effects.report_counters(
            kind,
            before["outcome"],
            reached=reached_before,
            support_level=level,
            mobilized=before["mobilized"],
            opportunities=opps,
        )
    )
    new = set(
        effects.report_counters(
            kind,
            after["outcome"],
            reached=reached_after,
            support_level=level,
            mobilized=after["mobilized"],
            opportunities=opps,
        )
    )
    return sorted(old - new), sorted(new - old)


async def correct(
    session: AsyncSession, report_id: uuid.UUID, body: ReportCorrection, *, actor: Principal, window: timedelta
) -> CorrectionResponse:
    org = actor.organization_id
    # The row lock serializes corrections of one report: a resend waits, then finds the first one's row.
    rep = await lock_own_report(session, report_id, actor=actor)
    h = _hash(report_id, body)
    done = await session.scalar(
        select(FieldReportCorrection).where(
            FieldReportCorrection.organization_id == org, FieldReportCorrection.id == body.id
        )
    )
    if done is not None:
        if done.request_hash != h:
            raise ReportConflict("This correction id was already used with a different body.")
        return CorrectionResponse.model_validate(done.response)
    now = datetime.now(UTC)
    if rep.created_at + window < now:
        raise CorrectionWindowClosed()
    kind = ReportKind(rep.kind)
    _check_outcome(kind, body)
    action = await session.scalar(select(Action).where(Action.organization_id == org, Action.id == rep.action_id))
    assert action is not None  # the report's foreign key
    version, answers = await effects.validate_survey(session, action, body)

    before: dict[str, Any] = {k: getattr(rep, k) for k in FIELDS}
    before.update(
        version=rep.version,
        survey_version=rep.survey_version,
        survey=await _answers(session, rep),
        recorded_at=rep.recorded_at.isoformat(),
        corrected_at=rep.corrected_at.isoformat() if rep.corrected_at else None,
        opportunities=bool((rep.response or {}).get("opportunity_ids")),
    )
    for k in FIELDS:
        setattr(rep, k, getattr(body, k))
    replace_answers = bool(answers) or body.outcome not in REACHED
    if replace_answers:
        await session.execute(
            delete(SurveyAnswer).where(SurveyAnswer.organization_id == org, SurveyAnswer.report_id == rep.id)
        )
        await effects.save_answers(
            session, action, report_id=rep.id, contact_id=rep.contact_id, version=version, answers=answers
        )
        rep.survey_id, rep.survey_version = (action.survey_id, version) if answers else (None, None)
    survey = answers if replace_answers else before["survey"]
    rep.version += 1
    rep.corrected_at = now

    level = None
    if rep.contact_id is not None:
        level = await session.scalar(
            select(Contact.support_level).where(Contact.organization_id == org, Contact.id == rep.contact_id)
        )
    take_back, add = counter_change(kind, before, {k: getattr(rep, k) for k in FIELDS}, support_level=level)
    await effects.count(session, action, take_back, by=-1)
    await effects.count(session, action, add)
    if rep.contact_id is not None:
        await _latest_on_timeline(session, rep, survey)

    response = CorrectionResponse(
        id=body.id,
        report_id=rep.id,
        version=rep.version,
        outcome=rep.outcome,
        comment=rep.comment,
        quality=rep.quality,
        mobilized=rep.mobilized,
        corrected_at=now,
    )
    session.add(
        FieldReportCorrection(
            organization_id=org,
            id=body.id,
            report_id=rep.id,
            version=rep.version,
            user_id=actor.user_id,
            previous=before,
            request_hash=h,
            response=response.model_dump(mode="json"),
        )
    )
    await session.flush()
    return response


async def _latest_on_timeline(session: AsyncSession, rep: FieldReport, survey: dict[str, Any]) -> None:
    """The report's entry on the contact's timeline shows the latest version (its time stays when it happened)."""
    latest = {
        "outcome": rep.outcome,
        "comment": rep.comment,
        "quality": rep.quality,
        "mobilized": rep.mobilized,
        "survey": survey or None,
        "version": rep.version,
        "corrected_at": rep.corrected_at.isoformat() if rep.corrected_at else None,
    }
    await session.execute(
        update(ContactEvent)
        .where(
            ContactEvent.organization_id == rep.organization_id,
            ContactEvent.contact_id == rep.contact_id,
            ContactEvent.kind == rep.kind,
            ContactEvent.data["report_id"].astext == str(rep.id),
            ContactEvent.data.has_key("outcome"),
        )
        .values(
            summary=f"{rep.kind.capitalize()}: {rep.outcome.replace('_', ' ')} (corrected)",
            data=ContactEvent.data.op("||")(literal(latest, type_=JSONB)),
        )
    )


async def mine(session: AsyncSession, action: Action, *, actor: Principal, window: timedelta) -> list[MyReport]:
    """The caller's reports on this action they can still correct, newest first."""
    since = datetime.now(UTC) - window
    rows = await session.execute(
        select(FieldReport, Contact.first_name, Contact.last_name)
        .outerjoin(
            Contact, and_(Contact.organization_id == FieldReport.organization_id, Contact.id == FieldReport.contact_id)
        )
        .where(
            FieldReport.organization_id == action.organization_id,
            FieldReport.action_id == action.id,
            FieldReport.user_id == actor.user_id,
            FieldReport.created_at >= since,
        )
        .order_by(FieldReport.created_at.desc(), FieldReport.id)
    )
    return [
        MyReport(
            id=r.id,
            kind=ReportKind(r.kind),
            target_id=r.target_id,
            contact_id=r.contact_id,
            contact_name=" ".join(x for x in (first, last) if x) or None,
            outcome=r.outcome,
            outcome_text=r.outcome_text,
            consent_given=r.consent_given,
            comment=r.comment,
            quality=r.quality,
            mobilized=r.mobilized,
            version=r.version,
            recorded_at=r.recorded_at,
            correctable_until=r.created_at + window,
        )
        for r, first, last in rows.all()
    ]

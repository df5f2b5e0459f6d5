"""Outcomes, exactly once. The report's id is the client's UUID: the same id with the same body returns the
first response and changes nothing; with another body it is a 409. Everything a report changes (target,
contact, survey answers, opportunities, timeline, counters) is written in the request's one transaction."""

from __future__ import annotations

import hashlib
import json
import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.permissions import Perm
from app.auth.principal import Principal
from app.calling.schemas import CallReport, ContactUpdates, ReportDetails, ReportResponse, VisitReport
from app.contacts import consents as consent_service
from app.contacts.events import add_event
from app.contacts.schemas import ConsentInput, ContactCreate, ContactUpdate
from app.contacts.service import apply_changes, org_region
from app.core.errors import Conflict, NotFound, Unprocessable
from app.models import Action, ActionCounter, ActionTarget, Contact, FieldReport, Survey, SurveyAnswer, SurveyVersion
from app.opportunities import service as opportunities
from app.surveys import service as surveys

COUNTER_SHARDS = 16
REACHED = {"answered", "opened"}


class ReportConflict(Conflict):
    code = "idempotency_conflict"
    message = "This report id was already used with a different body."


class TargetNotLeased(Conflict):
    code = "target_not_leased"
    message = "Start the call first: this target is not leased by you."


def body_hash(body: CallReport | VisitReport, scope: str) -> str:
    raw = json.dumps({"scope": scope, "body": body.model_dump(mode="json")}, sort_keys=True)
    return hashlib.sha256(raw.encode()).hexdigest()


async def replay(session: AsyncSession, org: uuid.UUID, report_id: uuid.UUID, h: str) -> ReportResponse | None:
    row = (
        await session.execute(
            select(FieldReport.request_hash, FieldReport.response).where(
                FieldReport.organization_id == org, FieldReport.id == report_id
            )
        )
    ).first()
    if row is None:
        return None
    if row.request_hash != h:
        raise ReportConflict()
    return ReportResponse.model_validate(row.response)


_VERSIONS: dict[tuple[uuid.UUID, uuid.UUID, int], list[dict[str, Any]]] = {}


async def validate_survey(
    session: AsyncSession, action: Action, body: CallReport | VisitReport | ReportDetails
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


async def insert_answers(
    session: AsyncSession,
    action: Action,
    *,
    report_id: uuid.UUID,
    contact_id: uuid.UUID | None,
    version: int | None,
    answers: dict[str, Any],
) -> None:
    await session.execute(
        pg_insert(SurveyAnswer).values(
            [
                {
                    "organization_id": action.organization_id,
                    "report_id": report_id,
                    "question_id": q,
                    "survey_id": action.survey_id,
                    "survey_version": version,
                    "contact_id": contact_id,
                    "value": v,
                }
                for q, v in answers.items()
            ]
        )
    )


async def _contact_updates(
    session: AsyncSession, contact: Contact, upd: ContactUpdates, *, actor: Principal, source: str
) -> None:
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
                ConsentInput(channel=ch, status=st, source=source, proof=f"Given during a {source}")
                for ch, st in upd.consents.items()
            ],
            actor=actor,
        )


async def _counters(session: AsyncSession, org: uuid.UUID, action_id: uuid.UUID, keys: list[str]) -> None:
    shard = random.randrange(COUNTER_SHARDS)  # spreading writes, not security
    stmt = pg_insert(ActionCounter).values(
        [{"organization_id": org, "action_id": action_id, "key": k, "shard": shard, "value": 1} for k in keys]
    )
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=["organization_id", "action_id", "key", "shard"], set_={"value": ActionCounter.value + 1}
        )
    )


async def _write(
    session: AsyncSession,
    *,
    kind: str,
    action: Action,
    body: CallReport | VisitReport,
    h: str,
    actor: Principal,
    target_id: uuid.UUID | None,
    contact: Contact | None,
    target_status: str | None,
) -> ReportResponse:
    version, answers = await validate_survey(session, action, body)
    now = datetime.now(UTC)
    org = action.organization_id
    source = "call" if kind == "call" else "visit"
    if contact is not None and body.contact_updates is not None:
        await _contact_updates(session, contact, body.contact_updates, actor=actor, source=source)
    reached = body.outcome in REACHED
    if contact is not None:
        contact.last_contacted_at = now
        if reached and action.reached_tag:
            contact.tags = sorted(set(contact.tags or []) | {action.reached_tag})
        if isinstance(body, CallReport):
            if body.outcome == "do_not_call":
                contact.dnc_phone = True
            if body.outcome == "wrong_number":
                if body.wrong_number == "home" or (body.wrong_number is None and not contact.mobile_e164):
                    contact.home_invalid = True
                else:
                    contact.mobile_invalid = True
    opp_ids = (
        await opportunities.create_many(
            session,
            body.opportunities,
            actor=actor,
            contact_id=contact.id if contact else None,
            action_id=action.id,
            report_id=body.id,
            timeline=contact is None,
        )
        if body.opportunities
        else []
    )
    response = ReportResponse(
        id=body.id,
        kind=kind,
        target_id=target_id,
        contact_id=contact.id if contact else None,
        outcome=body.outcome,
        target_status=target_status,
        opportunity_ids=opp_ids,
        created_at=now,
    )
    session.add(
        FieldReport(
            organization_id=org,
            id=body.id,
            kind=kind,
            action_id=action.id,
            target_id=target_id,
            contact_id=contact.id if contact else None,
            user_id=actor.user_id,
            outcome=body.outcome,
            outcome_text=body.outcome_text,
            callback_at=getattr(body, "callback_at", None),
            consent_given=body.consent_given,
            comment=body.comment,
            quality=body.quality,
            mobilized=body.mobilized,
            survey_id=action.survey_id if answers else None,
            survey_version=version,
            request_hash=h,
            response=response.model_dump(mode="json"),
            created_at=now,
        )
    )
    await session.flush()
    if answers:
        await insert_answers(
            session,
            action,
            report_id=body.id,
            contact_id=contact.id if contact else None,
            version=version,
            answers=answers,
        )
    if contact is not None:
        summary = f"{kind.capitalize()}: {body.outcome.replace('_', ' ')}"
        await add_event(
            session,
            org,
            contact.id,
            kind=kind,
            actor=actor,
            action_id=action.id,
            summary=summary,
            data={
                "report_id": str(body.id),
                "outcome": body.outcome,
                "comment": body.comment,
                "quality": body.quality,
                "mobilized": body.mobilized,
                "survey": answers or None,
                "opportunity_ids": [str(i) for i in opp_ids],
            },
        )
    keys = [f"{kind}s", f"outcome:{body.outcome}"]
    if reached:
        keys.append("reached")
        level = contact.support_level if contact else None
        if level is not None:
            keys.append(f"support:{level}")
    if body.mobilized:
        keys.append("mobilized")
    if opp_ids:
        keys.append("opportunities")
    await _counters(session, org, action.id, keys)
    return response


async def report_call(
    session: AsyncSession, target_id: uuid.UUID, body: CallReport, *, actor: Principal
) -> ReportResponse:
    org = actor.organization_id
    h = body_hash(body, f"call:{target_id}")
    previous = await replay(session, org, body.id, h)
    if previous is not None:
        return previous
    row = (
        await session.execute(
            select(ActionTarget.contact_id, ActionTarget.lease_user_id, ActionTarget.attempts, Action)
            .join(
                Action, (Action.organization_id == ActionTarget.organization_id) & (Action.id == ActionTarget.action_id)
            )
            .where(ActionTarget.organization_id == org, ActionTarget.id == target_id)
            .with_for_update(of=ActionTarget)
        )
    ).first()
    if row is None:
        raise NotFound("Target not found.", details=[{"field": "target_id", "message": "not found"}])
    if row.lease_user_id != actor.user_id:
        raise TargetNotLeased()
    action = row.Action
    contact = await session.scalar(
        select(Contact).where(Contact.organization_id == org, Contact.id == row.contact_id).with_for_update()
    )
    assert action is not None
    assert contact is not None
    attempts = row.attempts + 1
    status, available = "done", None
    if body.outcome == "absent":
        if attempts < action.max_attempts:
            status, available = "pending", datetime.now(UTC) + timedelta(minutes=action.retry_delay_minutes)
    elif body.outcome == "callback":
        status, available = "callback", body.callback_at
    elif body.outcome in ("wrong_number", "do_not_call"):
        status = "closed"
    resp = await _write(
        session,
        kind="call",
        action=action,
        body=body,
        h=h,
        actor=actor,
        target_id=target_id,
        contact=contact,
        target_status=status,
    )
    await session.execute(
        text("""
        UPDATE action_targets SET status = :s, attempts = :n, last_outcome = :out, callback_at = :cb,
               available_at = :av, lease_user_id = NULL, lease_expires_at = NULL, last_attempt_at = now()
        WHERE organization_id = :o AND id = :t"""),
        {
            "s": status,
            "n": attempts,
            "out": body.outcome,
            "cb": body.callback_at,
            "av": available,
            "o": org,
            "t": target_id,
        },
    )
    if body.outcome in ("wrong_number", "do_not_call"):
        # Never comes back in any action: close this contact's open call targets everywhere.
        await session.execute(
            text("""
            UPDATE action_targets t SET status = 'closed', last_outcome = :out FROM actions a
            WHERE t.organization_id = :o AND t.contact_id = :c AND t.status IN ('pending', 'callback')
              AND a.organization_id = t.organization_id AND a.id = t.action_id AND a.type = 'call'
              AND (:out = 'do_not_call' OR NOT EXISTS (SELECT 1 FROM contacts c WHERE c.organization_id = :o
                   AND c.id = :c AND ((c.mobile_e164 IS NOT NULL AND NOT c.mobile_invalid)
                                      OR (c.home_e164 IS NOT NULL AND NOT c.home_invalid))))"""),
            {"o": org, "c": contact.id, "out": body.outcome},
        )
    return resp


async def report_visit(session: AsyncSession, action: Action, body: VisitReport, *, actor: Principal) -> ReportResponse:
    org = actor.organization_id
    h = body_hash(body, f"visit:{action.id}")
    previous = await replay(session, org, body.id, h)
    if previous is not None:
        return previous
    if action.type != "door_to_door":
        raise Unprocessable(
            "Visits are for door-to-door actions.", details=[{"field": "action", "message": action.type}]
        )
    contact: Contact | None = None
    status: str | None = None
    if body.target_id is not None:
        row = (
            await session.execute(
                text("""
            SELECT id, contact_id, assignee_user_id, attempts FROM action_targets
            WHERE organization_id = :o AND action_id = :a AND id = :t FOR UPDATE"""),
                {"o": org, "a": action.id, "t": body.target_id},
            )
        ).first()
        if row is None:
            raise NotFound("Target not found.", details=[{"field": "target_id", "message": "not in this action"}])
        if row.assignee_user_id not in (None, actor.user_id) and not actor.can(Perm.lead_actions):
            raise Conflict("This door is on someone else's walk list.")
        contact = await session.scalar(
            select(Contact).where(Contact.organization_id == org, Contact.id == row.contact_id).with_for_update()
        )
        status = "pending" if body.outcome == "not_home" and row.attempts + 1 < action.max_attempts else "done"
        if body.outcome == "moved":
            status = "closed"
        await session.execute(
            text("""
            UPDATE action_targets SET status = :s, attempts = attempts + 1, last_outcome = :out,
                   last_attempt_at = now(), assignee_user_id = coalesce(assignee_user_id, :me)
            WHERE organization_id = :o AND id = :t"""),
            {"s": status, "out": body.outcome, "o": org, "t": body.target_id, "me": actor.user_id},
        )
    if body.new_contact is not None:
        nc = body.new_contact
        from app.contacts.service import create as create_contact

        consents = [
            ConsentInput(channel="data_processing", status="granted", source="visit", proof="Agreed at the door")
        ]
        consents += [
            ConsentInput(channel=ch, status=st, source="visit", proof="Given at the door")
            for ch, st in nc.consents.items()
        ]
        try:
            created, _ = await create_contact(
                session,
                ContactCreate(
                    first_name=nc.first_name,
                    last_name=nc.last_name,
                    mobile=nc.mobile,
                    email=nc.email,
                    support_level=nc.support_level,
                    consents=consents,
                    source="visit",
                    address=None,
                    location=None,
                ),
                actor=actor,
                merge=True,
                source="visit",
            )
        except Unprocessable as e:
            for d in e.details:
                d["field"] = f"new_contact.{d['field']}"
            raise
        if contact is not None and created.location is None:
            created.street, created.street_number, created.building = (
                contact.street,
                contact.street_number,
                contact.building,
            )
            created.postal_code, created.city, created.location = contact.postal_code, contact.city, contact.location
        contact = contact or created
        if contact is not created:
            await add_event(
                session,
                org,
                created.id,
                kind="visit",
                actor=actor,
                action_id=action.id,
                summary="Met at the door",
                data={"report_id": str(body.id)},
            )
    return await _write(
        session,
        kind="visit",
        action=action,
        body=body,
        h=h,
        actor=actor,
        target_id=body.target_id,
        contact=contact,
        target_status=status,
    )

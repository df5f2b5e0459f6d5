"""Outcomes, exactly once. The report's id is the client's UUID: the same id with the same body returns the
first response and changes nothing, however often and however concurrently it arrives (requests on one id are
serialized, see `replay`); with another body it is a 409.
Everything a report changes (target, contact, survey answers, opportunities, timeline, counters) is written in
the request's one transaction: the call flow and the visit flow below, over the steps in `effects`."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.permissions import Perm
from app.auth.principal import Principal
from app.calling import effects, leases
from app.calling.schemas import CallReport, NewContact, ReportResponse, VisitReport
from app.contacts.schemas import ConsentInput, ContactCreate
from app.core.errors import Conflict, NotFound, Unprocessable
from app.models import Action, Contact, FieldReport
from app.models.statuses import NEVER_AGAIN, REACHED, CallOutcome, ReportKind, TargetStatus, VisitOutcome


class ReportConflict(Conflict):
    code = "idempotency_conflict"
    message = "This report id was already used with a different body."


class TargetNotLeased(Conflict):
    code = "target_not_leased"
    message = "Start the call first: this target is not leased by you."


def _target_not_found(message: str, field: str = "target_id") -> NotFound:
    return NotFound("Target not found.", details=[{"field": field, "message": message}])


# Idempotency ------------------------------------------------------------------------------------------------


def recorded_time(claimed: datetime | None, *, since: datetime | None, now: datetime) -> datetime:
    """The phone's time, kept within [since, now]: a phone clock ahead of the server, or one claiming a time
    before the work could have started, never moves a report out of the period it belongs to."""
    if claimed is None:
        return now
    at = min(claimed, now)
    return max(at, since) if since is not None and since <= now else at


def body_hash(body: CallReport | VisitReport, scope: str) -> str:
    raw = json.dumps({"scope": scope, "body": body.model_dump(mode="json")}, sort_keys=True)
    return hashlib.sha256(raw.encode()).hexdigest()


async def replay(session: AsyncSession, org: uuid.UUID, report_id: uuid.UUID, h: str) -> ReportResponse | None:
    """The first response for this report id, or None when it is new; another body with the same id is a 409.
    `gg_report_first_response` (migration 0007) first waits for any transaction holding the same id, then looks
    on a fresh snapshot: a resend that arrives while the first is still being written gets its response."""
    row = (
        await session.execute(
            text("SELECT request_hash, response FROM gg_report_first_response(:o, :r)"), {"o": org, "r": report_id}
        )
    ).first()
    if row is None:
        return None
    if row.request_hash != h:
        raise ReportConflict()
    return ReportResponse.model_validate(row.response)


# The stored report ------------------------------------------------------------------------------------------


async def store(
    session: AsyncSession,
    *,
    kind: ReportKind,
    action: Action,
    body: CallReport | VisitReport,
    h: str,
    actor: Principal,
    target_id: uuid.UUID | None,
    contact: Contact | None,
    target_status: TargetStatus | None,
    opportunity_ids: list[uuid.UUID],
    survey: tuple[int | None, dict[str, Any]],
    at: datetime,
    recorded_at: datetime,
) -> ReportResponse:
    """The report row with the response a replay returns; flushed (with the contact's changes)."""
    version, answers = survey
    contact_id = contact.id if contact else None
    response = ReportResponse(
        id=body.id,
        kind=kind,
        target_id=target_id,
        contact_id=contact_id,
        outcome=body.outcome,
        target_status=target_status,
        opportunity_ids=opportunity_ids,
        created_at=at,
        recorded_at=recorded_at,
    )
    session.add(
        FieldReport(
            organization_id=action.organization_id,
            id=body.id,
            kind=kind,
            action_id=action.id,
            target_id=target_id,
            contact_id=contact_id,
            user_id=actor.user_id,
            outcome=body.outcome,
            outcome_text=body.outcome_text,
            callback_at=body.callback_at if isinstance(body, CallReport) else None,
            consent_given=body.consent_given,
            comment=body.comment,
            quality=body.quality,
            mobilized=body.mobilized,
            survey_id=action.survey_id if answers else None,
            survey_version=version,
            request_hash=h,
            response=response.model_dump(mode="json"),
            created_at=at,
            recorded_at=recorded_at,
        )
    )
    await session.flush()
    return response


def timeline_data(body: CallReport | VisitReport, answers: dict[str, Any], opp_ids: list[uuid.UUID]) -> dict[str, Any]:
    return {
        "report_id": str(body.id),
        "outcome": body.outcome,
        "comment": body.comment,
        "quality": body.quality,
        "mobilized": body.mobilized,
        "survey": answers or None,
        "opportunity_ids": [str(i) for i in opp_ids],
    }


async def _lock_contact(session: AsyncSession, org: uuid.UUID, contact_id: uuid.UUID) -> Contact:
    contact = await session.scalar(
        select(Contact).where(Contact.organization_id == org, Contact.id == contact_id).with_for_update()
    )
    assert contact is not None  # the target's foreign key
    return contact


# The call flow ----------------------------------------------------------------------------------------------


def call_target_status(
    outcome: CallOutcome, *, attempts: int, action: Action, callback_at: datetime | None
) -> tuple[TargetStatus, datetime | None]:
    """Where the target goes after this call, and when it may be called again."""
    if outcome == CallOutcome.absent:
        if attempts < action.max_attempts:
            return TargetStatus.pending, datetime.now(UTC) + timedelta(minutes=action.retry_delay_minutes)
        return TargetStatus.done, None
    if outcome == CallOutcome.callback:
        return TargetStatus.callback, callback_at
    if outcome in NEVER_AGAIN:
        return TargetStatus.closed, None
    return TargetStatus.done, None


async def _record(
    session: AsyncSession,
    action: Action,
    body: CallReport | VisitReport,
    kind: ReportKind,
    *,
    contact: Contact | None,
    actor: Principal,
    survey: tuple[int | None, dict[str, Any]],
    opp_ids: list[uuid.UUID],
    reached: bool,
    recorded_at: datetime,
) -> None:
    """What every report writes after its row: the survey answers, the contact's timeline, the action's counters."""
    version, answers = survey
    contact_id = contact.id if contact else None
    await effects.save_answers(
        session, action, report_id=body.id, contact_id=contact_id, version=version, answers=answers
    )
    if contact is not None:
        await effects.add_to_timeline(
            session,
            action,
            contact.id,
            kind=kind,
            actor=actor,
            summary=f"{kind.value.capitalize()}: {body.outcome.replace('_', ' ')}",
            data=timeline_data(body, answers, opp_ids),
            at=recorded_at,
        )
    await effects.count(
        session,
        action,
        effects.report_counters(
            kind,
            body.outcome,
            reached=reached,
            support_level=contact.support_level if contact else None,
            mobilized=body.mobilized,
            opportunities=bool(opp_ids),
        ),
    )


async def report_call(
    session: AsyncSession, target_id: uuid.UUID, body: CallReport, *, actor: Principal
) -> ReportResponse:
    org = actor.organization_id
    h = body_hash(body, f"call:{target_id}")
    previous = await replay(session, org, body.id, h)
    if previous is not None:
        return previous
    row = await leases.lock_for_call(session, actor, target_id)
    if row is None:  # a random id, or a target the caller may not call: the same answer
        raise _target_not_found("not found")
    if row.lease_user_id != actor.user_id:
        raise TargetNotLeased()
    action = row.action
    contact = await _lock_contact(session, org, row.contact_id)
    now = datetime.now(UTC)
    recorded_at = recorded_time(body.recorded_at, since=row.started_at, now=now)
    version, answers = await effects.validate_survey(session, action, body)
    attempts = row.attempts + 1
    status, available = call_target_status(body.outcome, attempts=attempts, action=action, callback_at=body.callback_at)
    reached = body.outcome in REACHED

    await effects.update_contact(session, contact, body.contact_updates, actor=actor, source=ReportKind.call)
    effects.mark_contacted(contact, action, reached=reached, at=now)
    effects.mark_numbers(contact, body.outcome, body.wrong_number)
    opp_ids = await effects.raise_opportunities(
        session,
        body.opportunities,
        actor=actor,
        action=action,
        contact_id=contact.id,
        report_id=body.id,
        timeline=False,
    )
    response = await store(
        session,
        kind=ReportKind.call,
        action=action,
        body=body,
        h=h,
        actor=actor,
        target_id=target_id,
        contact=contact,
        target_status=status,
        opportunity_ids=opp_ids,
        survey=(version, answers),
        at=now,
        recorded_at=recorded_at,
    )
    await _record(
        session,
        action,
        body,
        ReportKind.call,
        contact=contact,
        actor=actor,
        survey=(version, answers),
        opp_ids=opp_ids,
        reached=reached,
        recorded_at=recorded_at,
    )
    await leases.finish_call(
        session,
        org,
        target_id,
        status=status,
        attempts=attempts,
        outcome=body.outcome,
        callback_at=body.callback_at,
        available_at=available,
    )
    if body.outcome in NEVER_AGAIN:
        await leases.close_everywhere(session, org, contact.id, outcome=body.outcome)
    return response


# The visit flow ---------------------------------------------------------------------------------------------


def visit_target_status(outcome: VisitOutcome, *, attempts: int, action: Action) -> TargetStatus:
    if outcome == VisitOutcome.moved:
        return TargetStatus.closed
    if outcome == VisitOutcome.not_home and attempts < action.max_attempts:
        return TargetStatus.pending
    return TargetStatus.done


async def _door(
    session: AsyncSession, action: Action, target_id: uuid.UUID, *, actor: Principal, field: str = "target_id"
) -> tuple[leases.Door, Contact]:
    """A door of this walk list the reporter may knock on (theirs, the pool's, anyone's for a lead), locked."""
    row = await leases.lock_for_visit(session, action, target_id)
    if row is None:
        raise _target_not_found("not in this action", field)
    if row.assignee_user_id not in (None, actor.user_id) and not actor.can(Perm.lead_actions):
        raise Conflict("This door is on someone else's walk list.")
    return row, await _lock_contact(session, action.organization_id, row.contact_id)


async def _visit_door(
    session: AsyncSession, action: Action, target_id: uuid.UUID, outcome: VisitOutcome, *, actor: Principal
) -> tuple[Contact, TargetStatus]:
    row, contact = await _door(session, action, target_id, actor=actor)
    status = visit_target_status(outcome, attempts=row.attempts + 1, action=action)
    await leases.record_visit(
        session, action.organization_id, target_id, status=status, outcome=outcome, me=actor.user_id
    )
    return contact, status


async def _met_at_the_door(
    session: AsyncSession,
    action: Action,
    nc: NewContact,
    *,
    door: tuple[uuid.UUID, Contact] | None,
    outcome: VisitOutcome,
    report_id: uuid.UUID,
    actor: Principal,
) -> Contact:
    """A person met at the door, with their consent to keep their details; merged with an existing contact of the
    same number. Met at a door of the walk list (the one visited, or the one named by `door_id`: the same rule
    for the door flow and the walk list), they live at that building's address and location when they gave none,
    and join its households."""
    from app.contacts.service import create as create_contact

    consents = [ConsentInput(channel="data_processing", status="granted", source="visit", proof="Agreed at the door")]
    consents += [
        ConsentInput(channel=ch, status=st, source="visit", proof="Given at the door") for ch, st in nc.consents.items()
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
    if door is None:
        return created
    door_id, at = door
    if created.location is None:
        created.street, created.street_number, created.building = at.street, at.street_number, at.building
        created.postal_code, created.city, created.location = at.postal_code, at.city, at.location
    if at is not created:
        await leases.join_household(session, action, door_id, created.id, outcome=outcome)
        await effects.add_to_timeline(
            session,
            action,
            created.id,
            kind=ReportKind.visit,
            actor=actor,
            summary="Met at the door",
            data={"report_id": str(report_id)},
        )
    return created


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
    status: TargetStatus | None = None
    if body.target_id is not None:
        contact, status = await _visit_door(session, action, body.target_id, body.outcome, actor=actor)
    if body.new_contact is not None:
        door: tuple[uuid.UUID, Contact] | None = None
        if body.target_id is not None and contact is not None:
            door = (body.target_id, contact)
        elif body.door_id is not None:
            door = (body.door_id, (await _door(session, action, body.door_id, actor=actor, field="door_id"))[1])
        met = await _met_at_the_door(
            session, action, body.new_contact, door=door, outcome=body.outcome, report_id=body.id, actor=actor
        )
        contact = contact or met
    now = datetime.now(UTC)
    recorded_at = recorded_time(body.recorded_at, since=action.starts_at or action.created_at, now=now)
    version, answers = await effects.validate_survey(session, action, body)
    reached = body.outcome in REACHED

    if contact is not None:
        await effects.update_contact(session, contact, body.contact_updates, actor=actor, source=ReportKind.visit)
        effects.mark_contacted(contact, action, reached=reached, at=now)
    contact_id = contact.id if contact else None
    opp_ids = await effects.raise_opportunities(
        session,
        body.opportunities,
        actor=actor,
        action=action,
        contact_id=contact_id,
        report_id=body.id,
        timeline=contact is None,
    )
    response = await store(
        session,
        kind=ReportKind.visit,
        action=action,
        body=body,
        h=h,
        actor=actor,
        target_id=body.target_id,
        contact=contact,
        target_status=status,
        opportunity_ids=opp_ids,
        survey=(version, answers),
        at=now,
        recorded_at=recorded_at,
    )
    await _record(
        session,
        action,
        body,
        ReportKind.visit,
        contact=contact,
        actor=actor,
        survey=(version, answers),
        opp_ids=opp_ids,
        reached=reached,
        recorded_at=recorded_at,
    )
    return response

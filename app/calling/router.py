"""Calling lists, claims, start call (the only response with phone numbers, audited, rate-limited),
reports and door-to-door visits (idempotent on the client's UUID)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from app.actions.dependencies import VisibleAction
from app.audit import service as audit
from app.auth import references
from app.auth.dependencies import FieldWorker, limiter
from app.auth.references import MEMBER
from app.calling import corrections, leases, reports, texting
from app.calling.details import add_details
from app.calling.schemas import (
    CallReport,
    CallTargetRead,
    CorrectionResponse,
    MyReport,
    OthersSummary,
    P2PText,
    P2PTextLogged,
    P2PTextSent,
    ReportCorrection,
    ReportDetails,
    ReportResponse,
    StartCallResponse,
    VisitReport,
)
from app.core.db import SessionDep
from app.core.errors import Unprocessable
from app.core.pagination import CursorQ, LimitQ, Page
from app.core.ratelimit import RateLimiter

router = APIRouter(tags=["calling"])
MemberFilter = Annotated[uuid.UUID | None, Query(description="Only this person's list (see calls/others/members).")]


async def _call_action(action: VisibleAction) -> VisibleAction:  # async: no thread pool hop (see auth `limiter`)
    if action.type != "call":
        raise Unprocessable("This is not a call action.", details=[{"field": "action_id", "message": action.type}])
    return action


CallAction = Annotated[VisibleAction, Depends(_call_action)]


@router.get("/actions/{action_id}/calls/mine", operation_id="calls-mine")
async def calls_mine(
    action: CallAction, session: SessionDep, user: FieldWorker, limit: LimitQ = 200, cursor: CursorQ = None
) -> Page[CallTargetRead]:
    return await leases.mine(session, action, actor=user, limit=limit, cursor=cursor)


@router.get("/actions/{action_id}/calls/others", operation_id="calls-others")
async def calls_others(
    action: CallAction,
    session: SessionDep,
    user: FieldWorker,
    limit: LimitQ = 200,
    cursor: CursorQ = None,
    member_id: MemberFilter = None,
) -> Page[CallTargetRead]:
    await references.check_query(session, user, {"member_id": MEMBER}, member_id=member_id)
    return await leases.others(session, action, actor=user, limit=limit, cursor=cursor, member_id=member_id)


@router.get("/actions/{action_id}/calls/others/members", operation_id="calls-others-members")
async def calls_others_members(action: CallAction, session: SessionDep, user: FieldWorker) -> OthersSummary:
    """Whose lists the caller may call from, team-mates first, and what is left in the pool."""
    return await leases.others_members(session, action, actor=user)


@router.post("/actions/{action_id}/calls/next", operation_id="calls-next", responses={404: {}, 409: {}})
async def calls_next(action: CallAction, session: SessionDep, user: FieldWorker) -> CallTargetRead:
    """Claim the next person to call: mine first, then the unassigned pool, then team-mates' (everyone's when HQ
    opened the action to every volunteer on it). 409 `action_not_running` when the action is paused, closed, a
    draft or outside its dates."""
    return await leases.claim_next(session, action, actor=user)


@router.post("/calls/{target_id}/start", operation_id="calls-start", responses={404: {}, 409: {}, 429: {}})
async def start_call(
    target_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    user: FieldWorker,
    rl: Annotated[RateLimiter, Depends(limiter)],
) -> StartCallResponse:
    """Leases the target and reveals the phone numbers: the only response that carries them. Audited. 404 for a
    target the caller may not call (not on its action, a draft, another team's); 409 `action_not_running` when
    the action is paused, closed or outside its dates, `target_taken` when someone else is on the call."""
    await rl.check(
        f"reveal:{user.organization_id}:{user.user_id}",
        limit=request.app.state.settings.limits.phone_reveals_per_minute,
        message="Too many phone numbers revealed in a minute.",
    )
    resp, action_id = await leases.start(session, actor=user, target_id=target_id)
    await audit.record(
        session,
        actor=user,
        action="phone.revealed",
        object_type="contact",
        object_id=resp.contact.id,
        details={"target_id": str(target_id), "action_id": str(action_id)},
    )
    return resp


@router.post("/calls/{target_id}/report", operation_id="calls-report", responses={409: {}})
async def report_call(
    target_id: uuid.UUID, body: CallReport, session: SessionDep, user: FieldWorker, response: Response
) -> ReportResponse:
    """Outcome, consent, survey, contact updates, comment, quality, mobilized, opportunities. Idempotent on
    `id`: the same body again returns the first response; another body with the same id is a 409."""
    result = await reports.report_call(session, target_id, body, actor=user)
    response.status_code = 200
    return result


@router.post("/reports/{report_id}/details", operation_id="reports-details", responses={409: {}})
async def report_details(
    report_id: uuid.UUID, body: ReportDetails, session: SessionDep, user: FieldWorker
) -> ReportResponse:
    """The rest of a call or visit sent after its outcome (step by step online). Idempotent."""
    return await add_details(session, report_id, body, actor=user)


@router.post("/actions/{action_id}/visits", operation_id="visits-create", responses={409: {}})
async def report_visit(
    action: VisibleAction, body: VisitReport, session: SessionDep, user: FieldWorker
) -> ReportResponse:
    return await reports.report_visit(session, action, body, actor=user)


async def _correction_window(request: Request) -> timedelta:
    return timedelta(hours=request.app.state.settings.limits.correction_window_hours)


CorrectionWindow = Annotated[timedelta, Depends(_correction_window)]


@router.get("/actions/{action_id}/reports/mine", operation_id="reports-mine")
async def my_reports(
    action: VisibleAction, session: SessionDep, user: FieldWorker, window: CorrectionWindow
) -> list[MyReport]:
    """The caller's own reports on this action that they can still correct (newest first), all of them: one
    person's reports within the correction window."""
    return await corrections.mine(session, action, actor=user, window=window)


@router.post("/reports/{report_id}/corrections", operation_id="reports-correct", responses={404: {}, 409: {}, 422: {}})
async def correct_report(
    report_id: uuid.UUID, body: ReportCorrection, session: SessionDep, user: FieldWorker, window: CorrectionWindow
) -> CorrectionResponse:
    """A new version of one's own report, within the correction window (409 `correction_window_closed` after).
    Idempotent on `id`: the same body again returns the first response; another body is a 409."""
    return await corrections.correct(session, report_id, body, actor=user, window=window)


@router.get(
    "/actions/{action_id}/contacts/{contact_id}/p2p-text", operation_id="p2p-text-prepare", responses={403: {}, 404: {}}
)
async def p2p_text(action: VisibleAction, contact_id: uuid.UUID, session: SessionDep, user: FieldWorker) -> P2PText:
    """The action's SMS template rendered for a person the caller called or visited in it (403 without SMS
    consent, 404 for anyone else or when the action has no template)."""
    return await texting.prepare(session, action, contact_id, actor=user)


@router.post(
    "/actions/{action_id}/contacts/{contact_id}/p2p-text", operation_id="p2p-text-sent", responses={403: {}, 404: {}}
)
async def p2p_text_sent(
    action: VisibleAction, contact_id: uuid.UUID, body: P2PTextSent, session: SessionDep, user: FieldWorker
) -> P2PTextLogged:
    """The volunteer opened their SMS app with the text: logged on the contact's timeline and audited, once per id."""
    return await texting.log_sent(session, action, contact_id, body.id, actor=user)

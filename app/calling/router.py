"""Calling lists, claims, start call (the only response with phone numbers, audited, rate-limited),
reports and door-to-door visits (idempotent on the client's UUID)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from app.actions.dependencies import VisibleAction
from app.audit import service as audit
from app.auth.dependencies import FieldWorker, limiter
from app.calling import leases, reports
from app.calling.details import add_details
from app.calling.schemas import (
    CallReport,
    CallTargetRead,
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


def _call_action(action: VisibleAction) -> VisibleAction:
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
    action: CallAction, session: SessionDep, user: FieldWorker, limit: LimitQ = 200, cursor: CursorQ = None
) -> Page[CallTargetRead]:
    return await leases.others(session, action, actor=user, limit=limit, cursor=cursor)


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

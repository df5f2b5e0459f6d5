"""GET /stream (server-sent events) and POST /stream/token (a short-lived ticket for EventSource)."""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import BaseModel, Field
from redis.exceptions import RedisError
from sse_starlette import EventSourceResponse, ServerSentEvent

from app.auth.dependencies import CurrentUser, bearer, current_principal, principal_of_token
from app.auth.principal import Principal
from app.core.db import SessionDep
from app.core.errors import AppError, Unauthorized, Unprocessable
from app.core.metrics import SSE_CONNECTIONS
from app.core.security import hash_token
from app.dashboard import tickets
from app.dashboard.audience import Audience, audience
from app.dashboard.bus import Entry, Status, bus, id_key

router = APIRouter(prefix="/stream", tags=["stream"])


class NotAnEventStreamClient(AppError):
    status_code = 406
    code = "not_acceptable"
    message = "This is a server-sent event stream: send `Accept: text/event-stream` (EventSource does)."


HEARTBEAT_SECONDS = 15


class StreamTicket(BaseModel):
    ticket: str = Field(description="pass as `?ticket=` to GET …/stream; valid 60 s", examples=["eyJo….k2x"])
    expires_at: datetime


@router.post("/token", operation_id="stream-token")
async def stream_token(
    request: Request,
    user: CurrentUser,
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> StreamTicket:
    """A ticket for `new EventSource('…/stream?ticket=…')`: signed, valid one minute, bound to this session
    token (revoking the session ends it). When the connection drops for good, get a new ticket and reopen with
    `&last_event_id=<last id received>`."""
    assert creds is not None  # CurrentUser already required it
    ticket, exp = tickets.issue(request.app.state.settings.secret_key.get_secret_value(), hash_token(creds.credentials))
    return StreamTicket(ticket=ticket, expires_at=datetime.fromtimestamp(exp, UTC))


async def _principal(
    request: Request,
    session: SessionDep,
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ticket: Annotated[str | None, Query(description="from POST /stream/token, for EventSource")] = None,
) -> Principal:
    if creds is not None:
        return await current_principal(request, session, creds)
    if not ticket:
        raise Unauthorized("Missing bearer token or stream ticket.")
    h = tickets.verify(request.app.state.settings.secret_key.get_secret_value(), ticket)
    return await principal_of_token(request, session, h, two_fa_setup_allowed=False)


def _status(s: Status) -> bytes:
    return ServerSentEvent(event="status", data=json.dumps({"live": s.live, "reason": s.reason})).encode()


async def _events(aud: Audience, last_id: str | None) -> AsyncGenerator[bytes, None]:
    """The client's frames. Per event a client only checks `may_see` and writes the frame the bus encoded once;
    what queued while it was writing goes out in one chunk (one send for a burst, not one per event)."""
    b = bus()
    sub = b.subscribe()  # first: nothing committed from now on can fall between the backlog and the live feed
    SSE_CONNECTIONS.inc()
    try:
        sent = id_key(last_id) if last_id else (0, 0)
        status = await b.state()
        yield _status(status)
        backlog: list[Entry] = []
        if last_id and status.live:
            try:
                backlog = await b.backlog(last_id)
            except (RedisError, OSError):
                yield _status(Status(False, "redis_unavailable"))
        frames = [e.wire for e in backlog if aud.may_see(e.event)]
        if backlog:
            sent = max(sent, backlog[-1].key)
        if frames:
            yield b"".join(frames)
        while not sub.overflowed:
            items = [await sub.queue.get()]
            while not sub.queue.empty() and len(items) < 500:
                items.append(sub.queue.get_nowait())
            frames = []
            for item in items:
                if isinstance(item, Status):
                    if item != status:
                        status = item
                        frames.append(_status(item))
                    continue
                if item.key <= sent:
                    continue
                sent = item.key
                if aud.may_see(item.event):
                    frames.append(item.wire)
            if frames:
                yield b"".join(frames)
        yield ServerSentEvent(event="status", data=json.dumps({"live": False, "reason": "too_slow_reconnect"})).encode()
    finally:
        SSE_CONNECTIONS.dec()
        b.unsubscribe(sub)


@router.get(
    "",
    operation_id="stream",
    response_class=EventSourceResponse,
    responses={
        200: {
            "description": "text/event-stream. Events: `report` (a call or a visit), `opportunity`, `contact`, "
            "`assigned` (a volunteer added to an action), `import`, and `status` ({live, reason}: live false "
            "when Redis is unavailable). Each data is JSON; ids resume with Last-Event-ID. Comment lines every "
            f"{HEARTBEAT_SECONDS} s are heartbeats.",
            "content": {
                "text/event-stream": {
                    "example": 'id: 1764583200000-0\nevent: report\ndata: {"type": "report", "kind": "call", '
                    '"action_id": "…", "user_id": "…", "outcome": "answered", "reached": true, "mobilized": false, '
                    '"opportunities": 0, "at": "2026-12-01T10:00:00+00:00"}\n\n'
                }
            },
        },
        406: {"description": "the request did not accept text/event-stream"},
    },
)
async def stream(
    request: Request,
    session: SessionDep,
    user: Annotated[Principal, Depends(_principal)],
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID", include_in_schema=False)] = None,
    last_event_id_q: Annotated[
        str | None, Query(alias="last_event_id", description="resume after this id (for a new EventSource)")
    ] = None,
    heartbeat: Annotated[int, Query(ge=1, le=60, description="seconds between heartbeat comments")] = HEARTBEAT_SECONDS,
) -> EventSourceResponse:
    """Live events the caller may see (HQ: the organization; a team leader: their teams' members; a volunteer:
    their own reports and what is assigned to them or their team). Auth: `Authorization: Bearer` or `?ticket=`."""
    if "text/event-stream" not in request.headers.get("accept", ""):
        raise NotAnEventStreamClient()  # a plain HTTP client would wait forever for the end of the body
    resume = last_event_id or last_event_id_q
    if resume is not None:
        try:
            id_key(resume)
        except ValueError:
            raise Unprocessable(
                "Invalid event id.", details=[{"field": "last_event_id", "message": "expected <ms>-<seq>"}]
            ) from None
    aud = await audience(session, user)
    return EventSourceResponse(_events(aud, resume), ping=heartbeat, headers={"Cache-Control": "no-store"})

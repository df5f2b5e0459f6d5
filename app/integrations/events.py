"""Which changes become webhook events, written to the outbox in the change's own transaction. Created objects
ride on the live-event capture (app.dashboard.events: contacts, reports, opportunities, already filtered of
rolled-back savepoints); edits of a contact (and its consent) are captured here the same way; other features
call `emit`. Just before commit the events are written to `webhook_outbox` (only those some enabled endpoint of
the organization subscribes to: one statement, nothing for an organization without endpoints); after commit a
job is kicked to fan them out (app.integrations.delivery), and the worker's sweeper fans out what a lost kick
left behind. Events carry ids, never personal data."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import event, inspect, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction
from starlette.datastructures import State

from app.core import jobs
from app.core.db import after_commit
from app.dashboard import events as live
from app.models import Contact

EVENT_TYPES = (
    "contact.created",
    "contact.updated",
    "consent.changed",
    "call.reported",
    "visit.reported",
    "opportunity.created",
    "signature.created",
)
CONSENT_COLUMNS = frozenset({"consent_email", "consent_sms", "consent_phone", "consent_data_processing"})
OWN = "webhook_events"
HOOKED = "webhook_hooked"
LIVE_REF = "webhook_live_ref"

_state = State()
# Fan-out windows: at most one dispatch job per organization every 100 ms however many commits (a burst of
# 200 events/s makes 10 jobs, not 200), each starting a little after its window closes.
DISPATCH_WINDOW_S = 0.1
DISPATCH_MARGIN_S = 0.02


def outbox_insert(events_sql: str) -> str:
    """The outbox's insert of what `events_sql` selects (columns org, type, at, data), RETURNING the organization
    of each row written: only the event types some enabled endpoint of the organization subscribes to (row-level
    security also hides another tenant's endpoints), so nothing for an organization without endpoints. The one
    rule: the commit's write below, and a statement that writes its own events with its rows (a petition
    signature's, app.petitions.signing)."""
    return f"""
    INSERT INTO webhook_outbox (organization_id, event_type, payload)
    SELECT e.org, e.type, jsonb_build_object('type', e.type, 'timestamp', e.at, 'data', e.data)
    FROM ({events_sql}) AS e
    WHERE EXISTS (SELECT 1 FROM webhook_endpoints w
                  WHERE w.organization_id = e.org AND w.enabled AND e.type = ANY(w.events))
    RETURNING organization_id"""  # noqa: S608 - a constant select of ours, values bound


# One statement per committing transaction that has events.
_WRITE = text(
    outbox_insert(
        "SELECT * FROM jsonb_to_recordset(CAST(:events AS jsonb)) AS x(org uuid, type text, at text, data jsonb)"
    )
)
OUTBOXED = "webhook_outboxed"  # ids of live events a statement wrote to the outbox itself


def _job_state() -> State:
    """The kick runs without a request: jobs go through a process-wide pool on the configured Redis."""
    if getattr(_state, "settings", None) is None:
        from app.config import get_settings

        _state.settings = get_settings()
    return _state


def emit(session: AsyncSession | Session, organization_id: Any, type_: str, data: dict[str, Any]) -> None:
    """A feature's own event (e.g. signature.created), written with the transaction (dropped if it rolls back),
    with the live events queued so far (a row written by a statement the ORM does not see as an insert)."""
    assert type_ in EVENT_TYPES, type_
    sync = session.sync_session if isinstance(session, AsyncSession) else session
    tx = sync.get_nested_transaction() or sync.get_transaction()
    sync.info.setdefault(OWN, []).append((tx, {"type": type_, "organization_id": str(organization_id), "data": data}))
    _hook(sync)
    _see_live(sync)


def from_live(ev: dict[str, Any]) -> dict[str, Any] | None:
    """A live-bus event as a webhook event (type and id-only data), or None if webhooks do not carry it."""
    t = ev.get("type")
    if t == "contact":
        return {
            "type": "contact.created",
            "organization_id": ev["organization_id"],
            "data": {"contact_id": ev["contact_id"], "source": ev.get("source")},
        }
    if t == "report" and ev.get("kind") in ("call", "visit"):
        return {
            "type": f"{ev['kind']}.reported",
            "organization_id": ev["organization_id"],
            "data": {k: ev.get(k) for k in ("report_id", "action_id", "contact_id", "outcome", "mobilized")},
        }
    if t == "opportunity":
        return {
            "type": "opportunity.created",
            "organization_id": ev["organization_id"],
            "data": {k: ev.get(k) for k in ("opportunity_id", "action_id", "contact_id", "report_id")},
        }
    return None


def _hook(session: Session) -> None:
    session.info[HOOKED] = True


@event.listens_for(Session, "before_commit")
def _write_outbox(session: Session) -> None:
    if not session.info.get(HOOKED):
        return
    session.flush()  # the commit's own flush comes after this event: capture its changes first
    info = session.info
    written = info.pop(OUTBOXED, set())
    captured = [e for _, e in info.pop(LIVE_REF, []) if id(e) not in written]
    events = [w for w in map(from_live, captured) if w] + [e for _, e in info.pop(OWN, [])]
    info.pop(HOOKED, None)
    if not events:
        return
    at = datetime.now(UTC).isoformat()
    rows = [
        {"org": e["organization_id"], "type": e["type"], "at": e.get("timestamp", at), "data": e["data"]}
        for e in events
    ]
    orgs = set(session.execute(_WRITE, {"events": json.dumps(rows)}).scalars())
    kick_after_commit(session, orgs)


def kick_after_commit(session: AsyncSession | Session, orgs: set[Any]) -> None:
    """After commit, the fan-out of what the transaction wrote to the outbox for `orgs`."""
    if not orgs:
        return

    async def kick() -> None:
        # One fan-out per organization and window: the commits of a window share its job (the first enqueue
        # wins, the others find it queued), which starts once the window is over, so every commit that kicked
        # it is visible to it. A kick lost on the way is the sweeper's.
        window = int(time.time() / DISPATCH_WINDOW_S)
        at = datetime.fromtimestamp((window + 1) * DISPATCH_WINDOW_S + DISPATCH_MARGIN_S, UTC)
        for org in orgs:
            job_id = f"webhook-kick:{org}:{window}"
            await jobs.enqueue(_job_state(), "webhook_dispatch", str(org), job_id=job_id, defer_until=at)

    sync = session.sync_session if isinstance(session, AsyncSession) else session
    after_commit(cast(AsyncSession, sync), kick)  # it only uses .info, which both sessions share


def outboxed(session: AsyncSession | Session, live_event: dict[str, Any]) -> None:
    """`live_event` (queued on the live bus) is in the outbox already: the commit does not write it again."""
    sync = session.sync_session if isinstance(session, AsyncSession) else session
    sync.info.setdefault(OUTBOXED, set()).add(id(live_event))


def _see_live(session: Session) -> None:
    pending = session.info.get(live.PENDING)
    if pending is not None:
        session.info[LIVE_REF] = pending  # the same list: savepoint rollbacks filter it in place
        _hook(session)


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, _ctx: object) -> None:
    for obj in session.dirty:
        if not isinstance(obj, Contact) or obj in session.new:
            continue
        state = inspect(obj)
        changed = {a.key for a in state.attrs if a.history.has_changes()}
        if not changed:
            continue
        data = {"contact_id": str(obj.id)}
        ev = {
            "type": "consent.changed" if changed & CONSENT_COLUMNS else "contact.updated",
            "organization_id": str(obj.organization_id),
            "data": data,
        }
        tx = session.get_nested_transaction() or session.get_transaction()
        session.info.setdefault(OWN, []).append((tx, ev))
        _hook(session)
    _see_live(session)


@event.listens_for(Session, "do_orm_execute")
def _on_execute(state: ORMExecuteState) -> None:
    if state.is_insert:
        _see_live(state.session)


@event.listens_for(Session, "after_soft_rollback")
def _rolled_back(session: Session, previous_transaction: SessionTransaction) -> None:
    own = session.info.get(OWN)
    if own:
        own[:] = [(tx, ev) for tx, ev in own if not live._within(tx, previous_transaction)]

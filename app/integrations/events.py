"""Which committed changes become webhook events. Created objects ride on the live-event capture
(app.dashboard.events: contacts, reports, opportunities, already filtered of rolled-back savepoints); edits of a
contact (and its consent) are captured here the same way. After commit, one arq job per organization fans the
events out to the endpoints that subscribed (app.integrations.delivery). Events carry ids, never personal data."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import event, exists, inspect, select
from sqlalchemy.ext.asyncio import AsyncSession, async_session
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction
from starlette.datastructures import State

from app.core import jobs
from app.core.db import after_commit, set_tenant
from app.dashboard import events as live
from app.models import Contact, WebhookEndpoint

EVENT_TYPES = (
    "contact.created",
    "contact.updated",
    "consent.changed",
    "call.reported",
    "visit.reported",
    "opportunity.created",
)
CONSENT_COLUMNS = frozenset({"consent_email", "consent_sms", "consent_phone", "consent_data_processing"})
OWN = "webhook_events"
HOOKED = "webhook_hooked"
LIVE_REF = "webhook_live_ref"

_state = State()
# org id → (monotonic expiry, has an enabled endpoint): most organizations have none, and a call report should
# not cost a job. Another process sees a new endpoint within HAS_ENDPOINTS_TTL_S; this one at once (forget()).
HAS_ENDPOINTS_TTL_S = 10.0
_has_endpoints: dict[str, tuple[float, bool]] = {}


def forget(organization_id: str) -> None:
    _has_endpoints.pop(organization_id, None)


async def _subscribed(session: AsyncSession, organization_id: str) -> bool:
    cached = _has_endpoints.get(organization_id)
    if cached and cached[0] > time.monotonic():
        return cached[1]
    await set_tenant(session, organization_id)
    found = bool(
        await session.scalar(
            select(
                exists().where(WebhookEndpoint.organization_id == organization_id, WebhookEndpoint.enabled.is_(True))
            )
        )
    )
    # Ends this read-only transaction without expiring the request's objects (a rollback would, and the
    # response may still read them): the sessionmaker does not expire on commit.
    await session.commit()
    if len(_has_endpoints) > 10_000:
        _has_endpoints.clear()
    _has_endpoints[organization_id] = (time.monotonic() + HAS_ENDPOINTS_TTL_S, found)
    return found


def _job_state() -> State:
    """The capture runs without a request: jobs go through a process-wide pool on the configured Redis."""
    if getattr(_state, "settings", None) is None:
        from app.config import get_settings

        _state.settings = get_settings()
    return _state


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
    if session.info.get(HOOKED):
        return
    session.info[HOOKED] = True
    info = session.info

    async def dispatch() -> None:
        captured = [e for _, e in info.pop(LIVE_REF, [])]
        events = [w for w in map(from_live, captured) if w] + [e for _, e in info.pop(OWN, [])]
        info.pop(HOOKED, None)
        at = datetime.now(UTC).isoformat()
        by_org: dict[str, list[dict[str, Any]]] = {}
        for e in events:
            by_org.setdefault(e.pop("organization_id"), []).append({**e, "timestamp": e.get("timestamp", at)})
        for org, evs in by_org.items():
            if await _subscribed(async_session(session) or cast(AsyncSession, session), org):
                await jobs.enqueue(_job_state(), "webhook_fanout", org, evs)

    after_commit(cast(AsyncSession, session), dispatch)


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

"""What goes on the live bus, captured in one place: the ORM session's flushes and inserts. A report, a visit, an
opportunity, a contact created in the app or a volunteer added to an action queues an event on the session; one
after-commit hook (the same mechanism as jobs, app.core.db.after_commit) publishes them once the request's
transaction has committed. A request that fails rolls back and its hooks never run: nothing is published.

Events carry ids and counts, never a phone number, email, name or survey answer."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction

from app.core.db import after_commit
from app.dashboard import bus
from app.models import ActionVolunteer, Contact, FieldReport, Opportunity
from app.models.statuses import REACHED

PENDING = "live_events"


def _s(v: Any) -> str | None:
    return str(v) if v is not None else None


def queue(session: Session, ev: dict[str, Any]) -> None:
    """Queue one event on the session, tagged with the (sub)transaction that wrote it; published after commit."""
    ev.setdefault("at", datetime.now(UTC).isoformat())
    pending: list[tuple[SessionTransaction | None, dict[str, Any]]] | None = session.info.get(PENDING)
    if pending is None:
        pending = session.info[PENDING] = []

        async def publish() -> None:
            await bus.publish([e for _, e in session.info.pop(PENDING, [])])

        after_commit(cast(AsyncSession, session), publish)  # reads/writes only .info, shared with the AsyncSession
    pending.append((session.get_nested_transaction() or session.get_transaction(), ev))


def _within(tx: SessionTransaction | None, outer: SessionTransaction) -> bool:
    while tx is not None:
        if tx is outer:
            return True
        tx = tx.parent
    return False


@event.listens_for(Session, "after_soft_rollback")
def _rolled_back(session: Session, previous_transaction: SessionTransaction) -> None:
    """A savepoint rolled back inside a request that then commits: what it wrote never happened."""
    pending = session.info.get(PENDING)
    if pending:
        pending[:] = [(tx, ev) for tx, ev in pending if not _within(tx, previous_transaction)]


def report_event(r: FieldReport) -> dict[str, Any]:
    opp_ids = (r.response or {}).get("opportunity_ids") or []
    return {
        "type": "report",
        "organization_id": _s(r.organization_id),
        "report_id": _s(r.id),
        "kind": r.kind,
        "action_id": _s(r.action_id),
        "target_id": _s(r.target_id),
        "contact_id": _s(r.contact_id),
        "user_id": _s(r.user_id),
        "outcome": r.outcome,
        "reached": r.outcome in REACHED,
        "mobilized": bool(r.mobilized),
        "opportunities": len(opp_ids),
    }


def contact_event(c: Contact) -> dict[str, Any]:
    return {
        "type": "contact",
        "organization_id": _s(c.organization_id),
        "contact_id": _s(c.id),
        "source": c.source,
        "user_id": _s(c.created_by),
    }


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, _ctx: object) -> None:
    for obj in session.new:
        if isinstance(obj, FieldReport):
            queue(session, report_event(obj))
        elif isinstance(obj, Contact) and obj.source != "import":
            queue(session, contact_event(obj))


def inserted_rows(stmt: Any) -> list[dict[str, Any]]:
    """The rows of an `insert(Model).values(...)` statement, keyed by column name."""
    rows: list[dict[str, Any]] = []
    multi = getattr(stmt, "_multi_values", ()) or ()
    for batch in multi:
        rows.extend({(k if isinstance(k, str) else k.key): v for k, v in row.items()} for row in batch)
    single = getattr(stmt, "_values", None)
    if not rows and single:
        rows.append({(k if isinstance(k, str) else k.key): getattr(v, "value", v) for k, v in single.items()})
    return rows


@event.listens_for(Session, "do_orm_execute")
def _on_insert(state: ORMExecuteState) -> None:
    if not state.is_insert:
        return
    table = getattr(getattr(state.statement, "table", None), "name", None)  # an annotated copy: compare names
    if table == Opportunity.__tablename__:
        for row in inserted_rows(state.statement):
            queue(
                state.session,
                {
                    "type": "opportunity",
                    "organization_id": _s(row.get("organization_id")),
                    "opportunity_id": _s(row.get("id")),
                    "action_id": _s(row.get("action_id")),
                    "contact_id": _s(row.get("contact_id")),
                    "report_id": _s(row.get("report_id")),
                    "user_id": _s(row.get("created_by")),
                    "assignee_user_id": _s(row.get("assignee_user_id")),
                    "assignee_team_id": _s(row.get("assignee_team_id")),
                },
            )
    elif table == ActionVolunteer.__tablename__:
        for row in inserted_rows(state.statement):
            queue(
                state.session,
                {
                    "type": "assigned",
                    "organization_id": _s(row.get("organization_id")),
                    "action_id": _s(row.get("action_id")),
                    "user_id": _s(row.get("user_id")),
                },
            )


def import_progress_event(
    organization_id: uuid.UUID,
    import_id: uuid.UUID,
    *,
    status: str,
    phase: str | None = None,
    rows_done: int,
    rows_total: int,
    user_id: uuid.UUID | None,
) -> dict[str, Any]:
    """Published by the import job (app.imports.job) after each progress commit: counts, never file contents."""
    return {
        "type": "import",
        "organization_id": str(organization_id),
        "import_id": str(import_id),
        "status": status,
        "phase": phase,
        "rows_done": rows_done,
        "rows_total": rows_total,
        "user_id": _s(user_id),
    }

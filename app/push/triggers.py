"""The moments a volunteer gets a push notification, one function each, called by the flows that cause them
(queued after commit; the volunteer who did it themselves is not notified)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy.ext.asyncio import AsyncSession

from app.push.service import notify_after_commit


def action_assigned(
    session: AsyncSession, organization_id: uuid.UUID, action_id: uuid.UUID, title: str, user_ids: Iterable[uuid.UUID]
) -> None:
    payload = {
        "kind": "action_assigned",
        "title": "New action for you",
        "body": title,
        "url": f"/actions/{action_id}",
        "tag": f"action:{action_id}",
    }
    notify_after_commit(session, organization_id, user_ids, payload)


def action_reminder(
    session: AsyncSession, organization_id: uuid.UUID, action_id: uuid.UUID, title: str, user_ids: Iterable[uuid.UUID]
) -> None:
    payload = {
        "kind": "action_reminder",
        "title": "Starting soon",
        "body": title,
        "url": f"/actions/{action_id}",
        "tag": f"reminder:{action_id}",
    }
    notify_after_commit(session, organization_id, user_ids, payload)


def task_assigned(
    session: AsyncSession,
    organization_id: uuid.UUID,
    assigned: Iterable[tuple[uuid.UUID, uuid.UUID | None]],
    *,
    by: uuid.UUID | None,
) -> None:
    """(opportunity id, assignee) pairs; one notification per assignee."""
    per_user: dict[uuid.UUID, list[uuid.UUID]] = {}
    for oid, user in assigned:
        if user is not None and user != by:
            per_user.setdefault(user, []).append(oid)
    for user, oids in per_user.items():
        payload = {
            "kind": "task_assigned",
            "title": "A task for you" if len(oids) == 1 else f"{len(oids)} tasks for you",
            "body": "Open it in the app.",
            "url": "/opportunities",
            "tag": f"task:{oids[0]}",
        }
        notify_after_commit(session, organization_id, [user], payload)

"""Calling lists and row-level claims. A lease is a row state (who, until when), never a lock held while
someone is on the phone: a claim is one conditional UPDATE over a FOR UPDATE SKIP LOCKED pick."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.calling.schemas import CallTargetRead, Phone, RevealedContact, StartCallResponse
from app.core.errors import Conflict, NotFound
from app.models import Action

LEASE_MINUTES = 15

# A target can be called: its contact still has a valid number and no phone opt-out (never comes back), and
# nobody is on the phone with that person in another action.
CALLABLE = """
  t.status IN ('pending', 'callback')
  AND (t.available_at IS NULL OR t.available_at <= now())
  AND (t.lease_expires_at IS NULL OR t.lease_expires_at < now() OR t.lease_user_id = :me)
  AND NOT c.dnc_phone AND coalesce(c.consent_phone, '') <> 'withdrawn'
  AND ((c.mobile_e164 IS NOT NULL AND NOT c.mobile_invalid) OR (c.home_e164 IS NOT NULL AND NOT c.home_invalid))
  AND NOT EXISTS (SELECT 1 FROM action_targets o WHERE o.organization_id = t.organization_id
                  AND o.contact_id = t.contact_id AND o.id <> t.id AND o.lease_expires_at > now()
                  AND o.lease_user_id <> :me)
"""


class NoTargetAvailable(NotFound):
    code = "no_target_available"
    message = "Nobody left to call right now."


class TargetNotFound(NotFound):
    code = "target_not_found"
    message = "Target not found."


class TargetTaken(Conflict):
    code = "target_taken"
    message = "Someone else is calling this person right now."


def _status(r: Any) -> str:
    if r.status in ("pending", "callback") and r.lease_expires_at is not None and r.lease_active:
        return "in_progress"
    return str(r.status)


def _row(r: Any, with_assignee: bool = False) -> CallTargetRead:
    return CallTargetRead(
        id=r.id,
        contact_id=r.contact_id,
        first_name=r.first_name,
        last_name=r.last_name,
        area=r.area,
        status=_status(r),
        attempts=r.attempts,
        callback_at=r.callback_at,
        last_outcome=r.last_outcome,
        assignee_name=r.assignee_name if with_assignee else None,
    )


_LIST = """
  SELECT t.id, t.contact_id, c.first_name, c.last_name, coalesce(c.city, c.postal_code) AS area, t.status,
         t.attempts, t.callback_at, t.last_outcome, t.lease_expires_at, t.lease_expires_at > now() AS lease_active,
         u.full_name AS assignee_name
  FROM action_targets t
  JOIN contacts c ON c.organization_id = t.organization_id AND c.id = t.contact_id
  LEFT JOIN users u ON u.id = t.assignee_user_id
  WHERE t.organization_id = :o AND t.action_id = :a AND {where}
  ORDER BY (t.status IN ('done', 'closed')), t.callback_at NULLS LAST, c.last_name, c.first_name, t.id
  LIMIT :limit
"""


async def mine(session: AsyncSession, action: Action, *, me: uuid.UUID, limit: int) -> list[CallTargetRead]:
    rows = (
        await session.execute(
            text(_LIST.format(where="t.assignee_user_id = :me")),
            {"o": action.organization_id, "a": action.id, "me": me, "limit": limit},
        )
    ).all()
    return [_row(r) for r in rows]


async def others(session: AsyncSession, action: Action, *, me: uuid.UUID, limit: int) -> list[CallTargetRead]:
    where = "t.assignee_user_id IS NOT NULL AND t.assignee_user_id <> :me AND t.status IN ('pending', 'callback')"
    rows = (
        await session.execute(
            text(_LIST.format(where=where)), {"o": action.organization_id, "a": action.id, "me": me, "limit": limit}
        )
    ).all()
    return [_row(r, with_assignee=True) for r in rows]


async def claim_next(session: AsyncSession, action: Action, *, me: uuid.UUID) -> CallTargetRead:
    """Mine first, then the unassigned pool, then team-mates' (when the action allows): one statement each,
    SKIP LOCKED so concurrent callers never wait on, or get, the same person."""
    scopes = ["t.assignee_user_id = :me", "t.assignee_user_id IS NULL"]
    if action.allow_others:
        scopes.append("t.assignee_user_id <> :me")
    for scope in scopes:
        # Callbacks that are due come first; then pending people in id order (an index walk, no sort).
        for due in ("t.status = 'callback' AND t.available_at <= now()", "t.status = 'pending'"):
            row = (
                await session.execute(
                    text(f"""
                WITH pick AS (
                  SELECT t.id FROM action_targets t
                  JOIN contacts c ON c.organization_id = t.organization_id AND c.id = t.contact_id
                  WHERE t.organization_id = :o AND t.action_id = :a AND {scope} AND {due} AND {CALLABLE}
                  ORDER BY t.id
                  LIMIT 1 FOR UPDATE OF t SKIP LOCKED)
                UPDATE action_targets t SET lease_user_id = :me,
                       lease_expires_at = now() + make_interval(mins => {LEASE_MINUTES}),
                       assignee_user_id = coalesce(t.assignee_user_id, :me)
                FROM pick, contacts c
                WHERE t.organization_id = :o AND t.id = pick.id AND c.organization_id = t.organization_id
                  AND c.id = t.contact_id
                RETURNING t.id, t.contact_id, c.first_name, c.last_name, coalesce(c.city, c.postal_code) AS area,
                          t.status, t.attempts, t.callback_at, t.last_outcome, t.lease_expires_at,
                          true AS lease_active, NULL AS assignee_name"""),
                    {"o": action.organization_id, "a": action.id, "me": me},
                )
            ).first()
            if row is not None:
                return _row(row)
    raise NoTargetAvailable()


def visible_actions_sql(is_manager: bool) -> str:
    """Actions the caller is on (params :o, :me, :teams); every action for managers."""
    if is_manager:
        return "SELECT id FROM actions WHERE organization_id = :o"
    return (
        "SELECT action_id FROM action_volunteers WHERE organization_id = :o AND user_id = :me "
        "UNION SELECT action_id FROM action_teams WHERE organization_id = :o AND team_id = ANY(:teams)"
    )


async def start(
    session: AsyncSession,
    *,
    organization_id: uuid.UUID,
    target_id: uuid.UUID,
    me: uuid.UUID,
    is_manager: bool,
    teams: list[uuid.UUID],
) -> tuple[StartCallResponse, uuid.UUID]:
    """Take (or renew) the lease and reveal the numbers. Fails if someone else holds a live lease."""
    visible_actions = visible_actions_sql(is_manager)
    params = {"o": organization_id, "t": target_id, "me": me, "teams": teams}
    row = (
        await session.execute(
            text(f"""
        UPDATE action_targets t SET lease_user_id = :me,
               lease_expires_at = now() + make_interval(mins => {LEASE_MINUTES}),
               last_attempt_at = now()
        FROM contacts c, actions a
        WHERE t.organization_id = :o AND t.id = :t AND c.organization_id = t.organization_id AND c.id = t.contact_id
          AND a.organization_id = t.organization_id AND a.id = t.action_id AND a.type = 'call'
          AND a.id IN ({visible_actions})
          AND {CALLABLE}
          AND (t.assignee_user_id = :me OR t.assignee_user_id IS NULL OR a.allow_others OR t.lease_user_id = :me)
        RETURNING t.id, t.action_id, t.lease_expires_at, c.id AS contact_id, c.first_name, c.last_name,
                  CASE WHEN NOT c.mobile_invalid THEN c.mobile_e164 END AS mobile,
                  CASE WHEN NOT c.home_invalid THEN c.home_e164 END AS home, c.email,
                  concat_ws(', ', nullif(concat_ws(' ', c.street, c.street_number), ''), c.building, c.postal_code,
                            c.city) AS address, c.support_level, c.tags, c.consent_email, c.consent_sms,
                  c.consent_phone"""),
            params,
        )
    ).first()
    if row is None:
        exists = (
            await session.execute(
                text(f"""
            SELECT t.lease_user_id, t.lease_expires_at > now() AS live FROM action_targets t
            WHERE t.organization_id = :o AND t.id = :t AND t.action_id IN ({visible_actions})"""),
                params,
            )
        ).first()
        if exists is None:
            raise TargetNotFound()
        if exists.live and exists.lease_user_id != me:
            raise TargetTaken()
        raise Conflict("This person cannot be called now (done, closed, opted out or not assigned to you).")
    phones = [Phone(kind="mobile", e164=row.mobile)] if row.mobile else []
    if row.home:
        phones.append(Phone(kind="home", e164=row.home))
    contact = RevealedContact(
        id=row.contact_id,
        first_name=row.first_name,
        last_name=row.last_name,
        phones=phones,
        email=row.email,
        address=row.address or None,
        support_level=row.support_level,
        tags=list(row.tags or []),
        consents={
            "email": row.consent_email or "unknown",
            "sms": row.consent_sms or "unknown",
            "phone": row.consent_phone or "unknown",
        },
    )
    return StartCallResponse(target_id=row.id, lease_expires_at=row.lease_expires_at, contact=contact), row.action_id

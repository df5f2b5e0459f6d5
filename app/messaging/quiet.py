"""Quiet hours for SMS: no campaign text reaches a phone between `quiet_hours_start` and `quiet_hours_end`,
local time. Local is the contact's time zone where it is known (their country has one time zone), else the
organization's. A queued message due in the quiet window is held (its `next_attempt_at` moved to the window's
end, the next morning in its own time zone), by set-based passes of one batch each.

Only campaigns (automated sends) keep quiet hours. A personal message from a contact's page, an answer from the
inbox and an opt-out confirmation go at once (app/messaging/direct.py): a staff member's one-off text is their
own act at the hour they choose, as in VAN and CallHub, and a STOP is confirmed when it is received."""

from __future__ import annotations

import json
from datetime import datetime, time
from typing import Any, cast

from sqlalchemy import text
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Campaign

# Countries with a single time zone (ISO 3166 alpha-2 → IANA): the contact's zone when their country is one.
COUNTRY_ZONES = {
    "RO": "Europe/Bucharest",
    "MD": "Europe/Chisinau",
    "FR": "Europe/Paris",
    "BE": "Europe/Brussels",
    "LU": "Europe/Luxembourg",
    "CH": "Europe/Zurich",
    "DE": "Europe/Berlin",
    "AT": "Europe/Vienna",
    "IT": "Europe/Rome",
    "NL": "Europe/Amsterdam",
    "IE": "Europe/Dublin",
    "GB": "Europe/London",
    "HU": "Europe/Budapest",
    "BG": "Europe/Sofia",
    "GR": "Europe/Athens",
    "PL": "Europe/Warsaw",
    "CZ": "Europe/Prague",
    "SK": "Europe/Bratislava",
    "RS": "Europe/Belgrade",
    "HR": "Europe/Zagreb",
    "SI": "Europe/Ljubljana",
    "SE": "Europe/Stockholm",
    "NO": "Europe/Oslo",
    "DK": "Europe/Copenhagen",
    "FI": "Europe/Helsinki",
    "UA": "Europe/Kyiv",
    "TR": "Europe/Istanbul",
    "IL": "Asia/Jerusalem",
    "JP": "Asia/Tokyo",
}

_HOLD = text("""
    WITH due AS (
        SELECT m.id, z.tz, CAST(l.local AS time) AS t, CAST(l.local AS date) AS d, w.s, w.e
        FROM campaign_messages m
        JOIN contacts c ON c.organization_id = m.organization_id AND c.id = m.contact_id
        CROSS JOIN LATERAL (SELECT coalesce(CAST(:zones AS jsonb) ->> upper(c.country), :org_tz) AS tz) z
        CROSS JOIN LATERAL (SELECT CAST(:now AS timestamptz) AT TIME ZONE z.tz AS local) l
        CROSS JOIN (SELECT CAST(:start_t AS time) AS s, CAST(:end_t AS time) AS e) w
        WHERE m.organization_id = :org AND m.campaign_id = :cid AND m.status = 'queued'
          AND (m.next_attempt_at IS NULL OR m.next_attempt_at <= :now)
        ORDER BY m.id
        LIMIT :size
    )
    UPDATE campaign_messages m
    SET next_attempt_at = (CASE WHEN due.t < due.e THEN due.d + due.e ELSE due.d + 1 + due.e END) AT TIME ZONE due.tz
    FROM due
    WHERE m.organization_id = :org AND m.id = due.id
      AND CASE WHEN due.s > due.e THEN due.t >= due.s OR due.t < due.e ELSE due.t >= due.s AND due.t < due.e END
""")


async def hold(
    session: AsyncSession, c: Campaign, *, org_tz: str, start: time, end: time, now: datetime, size: int
) -> int:
    """Hold those of the campaign's next `size` due SMS (the ones a claim would take) whose recipient is in quiet
    hours at `now`; returns how many. Call until it holds none: the next claim then takes only sendable ones,
    and each pass reads one batch (a whole night's campaign is held in passes, never rescanned per batch)."""
    if start == end:
        return 0  # no quiet window
    params: dict[str, Any] = {
        "now": now,
        "zones": json.dumps(COUNTRY_ZONES),
        "org_tz": org_tz,
        "org": c.organization_id,
        "cid": c.id,
        "start_t": start,
        "end_t": end,
        "size": size,
    }
    res = cast(CursorResult[Any], await session.execute(_HOLD, params))
    return int(res.rowcount or 0)

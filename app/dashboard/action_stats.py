"""Live action figures. For HQ over the whole action they come from the sharded counters written with each report:
reading them costs a few hundred rows whatever the action's size (the bare alternative recounts every report).
A period, or a team leader's view (only their teams' work), is counted from the reports of that slice."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.permissions import Perm
from app.auth.principal import Principal
from app.dashboard import queries, rollups
from app.dashboard.scope import period, viewer_scope
from app.dashboard.service import uses_counters
from app.models import Action


class ActionStats(BaseModel):
    model_config = ConfigDict(
        populate_by_name=True,
        serialize_by_alias=True,
        json_schema_extra={
            "example": {
                "action_id": "0193a0a0-0000-7000-8000-000000000010",
                "source": "counters",
                "whole_action": True,
                "from": None,
                "to": None,
                "targets": 2000,
                "calls": 640,
                "visits": 0,
                "reached": 310,
                "mobilized": 41,
                "opportunities": 12,
                "outcomes": {"answered": 310, "absent": 250, "refused": 80},
                "support_levels": {"1": 90, "2": 70, "3": 100},
                "reach_rate": 0.4844,
            }
        },
    )

    action_id: uuid.UUID
    source: Literal["counters", "reports"] = Field(
        "counters", description="counters: live sharded counters; reports: counted for the period/team scope"
    )
    whole_action: bool = Field(True, description="false when only the viewer's teams' reports are counted")
    from_: datetime | None = Field(None, alias="from")
    to: datetime | None = None
    targets: int
    calls: int
    visits: int
    reached: int
    mobilized: int
    opportunities: int = Field(description="reports that raised an opportunity")
    outcomes: dict[str, int]
    support_levels: dict[str, int] = Field(
        description="reached reports by the contact's support level (at report time for counters, current level "
        "when counted from reports)"
    )
    reach_rate: float | None


async def stats(
    session: AsyncSession,
    a: Action,
    *,
    actor: Principal | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> ActionStats:
    hq_live = actor is None or (actor.can(Perm.manage_actions) and start is None and end is None)
    scope = None if hq_live else await viewer_scope(session, actor)  # type: ignore[arg-type]
    p = period(scope, start, end) if scope is not None else None
    if scope is None or p is None or uses_counters(scope, p):
        n = await queries.counter_totals(session, a.organization_id, a.id)
        source: Literal["counters", "reports"] = "counters"
    else:
        n = await rollups.report_totals(session, scope, p, a.id)
        n.update(await queries.report_extras(session, scope, p, a.id))
        source = "reports"
    attempts = n.get("calls", 0) + n.get("visits", 0)
    return ActionStats(
        action_id=a.id,
        source=source,
        whole_action=scope is None or scope.whole_org,
        from_=p.start if p else None,
        to=p.end if p else None,
        targets=a.target_count,
        calls=n.get("calls", 0),
        visits=n.get("visits", 0),
        reached=n.get("reached", 0),
        mobilized=n.get("mobilized", 0),
        opportunities=n.get("opportunities", 0),
        outcomes={k.split(":", 1)[1]: v for k, v in n.items() if k.startswith("outcome:") and v},
        support_levels={k.split(":", 1)[1]: v for k, v in n.items() if k.startswith("support:")},
        reach_rate=round(n.get("reached", 0) / attempts, 4) if attempts else None,
    )

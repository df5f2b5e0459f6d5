"""Dashboard figures: the organization's or one action's, over a period, in the viewer's scope."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.principal import Principal
from app.dashboard import queries, rollups
from app.dashboard.schemas import Bucket, Figures, FigureScope, SupportSummary
from app.dashboard.scope import Period, Scope, period, viewer_scope
from app.models import Action


def summarize_support(levels: dict[str, int], donors: int) -> SupportSummary:
    g = levels.get
    return SupportSummary(
        strong_supporters=g("1", 0),
        supporters=g("1", 0) + g("2", 0),
        undecided=g("3", 0),
        opposed=g("4", 0) + g("5", 0),
        unknown=g("unknown", 0),
        donors=donors,
        by_level={k: v for k, v in sorted(levels.items()) if k != "unknown"},
    )


def uses_counters(scope: Scope, p: Period) -> bool:
    """The live counters are per action and all-time: they answer only the whole scope with no period."""
    return scope.whole_org and not p.bounded


async def compute(
    session: AsyncSession,
    scope: Scope,
    p: Period,
    *,
    action: Action | None,
    bucket: Bucket,
    team_id: uuid.UUID | None = None,
    user_id: uuid.UUID | None = None,
) -> Figures:
    action_id = action.id if action is not None else None
    counters = uses_counters(scope, p)
    if counters:
        n = await queries.counter_totals(session, scope.organization_id, action_id)
    else:
        n = await rollups.report_totals(session, scope, p, action_id)
    levels, donors = await rollups.support(session, scope, p, action_id)
    raised, still_open = await queries.opportunities(session, scope, p, action_id)
    total, left = await queries.targets(session, scope, action_id)
    calls, visits, reached = n.get("calls", 0), n.get("visits", 0), n.get("reached", 0)
    attempts = calls + visits
    return Figures(
        scope=FigureScope(
            organization_id=scope.organization_id,
            timezone=scope.timezone,
            action_id=action_id,
            team_id=team_id,
            user_id=user_id,
            from_=p.start,
            to=p.end,
            whole_organization=scope.whole_org,
        ),
        source="counters" if counters else "reports",
        doors_knocked=visits,
        calls_made=calls,
        attempts=attempts,
        reached=reached,
        reach_rate=round(reached / attempts, 4) if attempts else None,
        mobilized=n.get("mobilized", 0),
        outcomes={k.split(":", 1)[1]: v for k, v in sorted(n.items()) if k.startswith("outcome:") and v},
        support=summarize_support(levels, donors),
        opportunities_raised=raised,
        opportunities_open=still_open,
        targets=total,
        targets_left=left,
        contacts_added=await rollups.contacts_added(session, scope, p, action_id),
        consents_given=await rollups.consents_given(session, scope, p, action_id),
        surveys=await rollups.survey_results(session, scope, p, action_id),
        bucket=bucket,
        series=await rollups.series(session, scope, p, action_id, bucket),
    )


async def figures(
    session: AsyncSession,
    *,
    actor: Principal,
    action: Action | None,
    start: datetime | None,
    end: datetime | None,
    bucket: Bucket,
    team_id: uuid.UUID | None = None,
    user_id: uuid.UUID | None = None,
) -> Figures:
    scope = await viewer_scope(session, actor, team_id=team_id, user_id=user_id)
    return await compute(
        session, scope, period(scope, start, end), action=action, bucket=bucket, team_id=team_id, user_id=user_id
    )

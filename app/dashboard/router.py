"""GET /dashboard…: figures, leaderboards and maps for HQ and team leaders (volunteers: 403)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query

from app.actions import service as action_service
from app.actions.repository import ACTION
from app.auth import references
from app.auth.dependencies import CurrentUser, ReadSessionDep, require
from app.auth.permissions import Perm
from app.auth.principal import Principal
from app.core.db import SessionDep
from app.core.errors import Unprocessable
from app.core.pagination import CursorQ, LimitQ
from app.core.schemas import Timestamp
from app.dashboard import leaderboard as boards
from app.dashboard import maps
from app.dashboard.action_stats import ActionStats, stats
from app.dashboard.schemas import Bucket, Figures, Leaderboard, Metric
from app.dashboard.service import figures
from app.models import Action

router = APIRouter(prefix="/dashboard", tags=["dashboard"])
# /actions/{id}/stats lives here, beside the figures it shares its counting with.
actions_router = APIRouter(prefix="/actions", tags=["actions"])
Leader = Annotated[Principal, require(Perm.lead_actions)]
From = Annotated[
    Timestamp | None,
    Query(
        alias="from",
        description="inclusive; a date or a time without offset is read in the org's time zone",
        examples=["2026-12-01"],
    ),
]
To = Annotated[Timestamp | None, Query(description="exclusive; same rules as `from`", examples=["2026-12-02"])]
TeamFilter = Annotated[uuid.UUID | None, Query(description="only this team's members (a team view)")]
UserFilter = Annotated[uuid.UUID | None, Query(description="only this person (their history)")]
# An action named in the query string must be one the viewer may see: a 422 naming `action_id` otherwise.
ACTION_QUERY = {"action_id": ACTION}
BucketQ = Annotated[Bucket, Query(description="time series by hour or by day (org time zone)")]


async def _action(action_id: uuid.UUID, session: SessionDep, user: CurrentUser) -> Action:
    return await action_service.get(session, action_id, actor=user)


VisibleAction = Annotated[Action, Depends(_action)]


@router.get("", operation_id="dashboard-get")
async def organization_dashboard(
    session: ReadSessionDep,
    user: Leader,
    from_: From = None,
    to: To = None,
    bucket: BucketQ = "day",
    team_id: TeamFilter = None,
    user_id: UserFilter = None,
) -> Figures:
    """The organization's figures for a period (all time without one). A team leader gets their teams' work only
    (`scope.whole_organization` false)."""
    return await figures(
        session, actor=user, action=None, start=from_, end=to, bucket=bucket, team_id=team_id, user_id=user_id
    )


@router.get("/actions/{action_id}", operation_id="dashboard-action")
async def action_dashboard(
    action: VisibleAction,
    session: ReadSessionDep,
    user: Leader,
    from_: From = None,
    to: To = None,
    bucket: BucketQ = "hour",
    team_id: TeamFilter = None,
    user_id: UserFilter = None,
) -> Figures:
    """One action's figures, with time series, survey results, targets left and consents given."""
    return await figures(
        session, actor=user, action=action, start=from_, end=to, bucket=bucket, team_id=team_id, user_id=user_id
    )


@router.get("/leaderboard", operation_id="dashboard-leaderboard")
async def leaderboard(
    session: ReadSessionDep,
    user: Leader,
    by: Literal["volunteers", "teams"] = "volunteers",
    metric: Metric = "reached",
    action_id: uuid.UUID | None = None,
    from_: From = None,
    to: To = None,
    team_id: TeamFilter = None,
    limit: LimitQ = 50,
    cursor: CursorQ = None,
) -> Leaderboard:
    """Volunteers or teams ranked by calls, visits (doors), reached, mobilized or opportunities raised. A team
    leader sees their teams' members and their teams."""
    await references.check_query(session, user, ACTION_QUERY, action_id=action_id)
    return await boards.leaderboard(
        session,
        actor=user,
        by=by,
        metric=metric,
        action_id=action_id,
        start=from_,
        end=to,
        team_id=team_id,
        limit=limit,
        cursor=cursor,
    )


@router.get(
    "/zones",
    operation_id="dashboard-zones",
    responses={
        200: {
            "content": {
                "application/geo+json": {
                    "example": {
                        "type": "FeatureCollection",
                        "features": [
                            {
                                "type": "Feature",
                                "id": "0193a0a0-0000-7000-8000-000000000020",
                                "geometry": {
                                    "type": "MultiPolygon",
                                    "coordinates": [[[[26.0, 44.4], [26.1, 44.4], [26.1, 44.5], [26.0, 44.4]]]],
                                },
                                "properties": {
                                    "zone_id": "0193a0a0-0000-7000-8000-000000000020",
                                    "name": "Sector 1",
                                    "code": "S1",
                                    "kind": "sector",
                                    "targets": 400,
                                    "reached": 120,
                                    "finished": 180,
                                    "coverage": 0.3,
                                    "people": 9000,
                                    "strong_supporters": 800,
                                    "supporters": 1500,
                                    "undecided": 2000,
                                    "opposed": 700,
                                    "donors": 40,
                                    "mean_support_level": 2.8,
                                },
                            }
                        ],
                    }
                }
            }
        }
    },
)
async def zones(
    session: ReadSessionDep,
    user: Leader,
    action_id: uuid.UUID | None = None,
    simplify: Annotated[float, Query(ge=0, le=0.1, description="simplification tolerance, degrees")] = 0.0001,
) -> dict[str, Any]:
    """GeoJSON of the zones for a choropleth: coverage (targets reached / targets, of one action or of the
    scheduled and active ones) and support (people by level) per zone."""
    await references.check_query(session, user, ACTION_QUERY, action_id=action_id)
    return await maps.zones_geojson(session, actor=user, action_id=action_id, simplify=simplify)


def _bbox(bbox: str) -> tuple[float, float, float, float]:
    try:
        x1, y1, x2, y2 = (float(v) for v in bbox.split(","))
    except ValueError:
        raise Unprocessable(
            "Invalid bbox.", details=[{"field": "bbox", "message": "minLon,minLat,maxLon,maxLat"}]
        ) from None
    return x1, y1, x2, y2


@router.get(
    "/hexbins",
    operation_id="dashboard-hexbins",
    responses={
        200: {
            "content": {
                "application/geo+json": {
                    "example": {
                        "type": "FeatureCollection",
                        "cell_size_m": 250.0,
                        "features": [
                            {
                                "type": "Feature",
                                "id": "11571:-14113",
                                "geometry": {
                                    "type": "Polygon",
                                    "coordinates": [[[26.1, 44.43], [26.102, 44.43], [26.103, 44.432], [26.1, 44.43]]],
                                },
                                "properties": {"people": 140, "strong_supporters": 22, "undecided": 31},
                            }
                        ],
                    }
                }
            }
        }
    },
)
async def hexbins(
    session: ReadSessionDep,
    user: Leader,
    bbox: Annotated[
        str, Query(description="the viewed map: minLon,minLat,maxLon,maxLat", examples=["26.0,44.4,26.2,44.5"])
    ],
    size_m: Annotated[
        float | None, Query(ge=10, le=100_000, description="hexagon size in metres; default about 40 across the map")
    ] = None,
    action_id: uuid.UUID | None = None,
) -> dict[str, Any]:
    """GeoJSON hexagons (ST_HexagonGrid) with the strong supporters (level 1) and undecided (level 3) in each, for
    the map as viewed. Feature ids (`i:j`) are stable for a given cell size, for picking the next zones to target."""
    await references.check_query(session, user, ACTION_QUERY, action_id=action_id)
    return await maps.hexbins(session, actor=user, bbox=_bbox(bbox), size_m=size_m, action_id=action_id)


@actions_router.get("/{action_id}/stats", operation_id="actions-stats")
async def action_stats(
    action: VisibleAction,
    session: SessionDep,
    user: Leader,
    from_: Annotated[Timestamp | None, Query(alias="from", description="inclusive; naive = org time zone")] = None,
    to: Annotated[Timestamp | None, Query(description="exclusive; naive = org time zone")] = None,
) -> ActionStats:
    """Calls, visits, reached, outcomes, support levels, mobilized, opportunities: live, from counters for HQ;
    a period or a team leader's view (their teams' reports only) is counted from the reports.
    Everything else (series, surveys, targets left…) is at `GET /dashboard/actions/{id}`."""
    return await stats(session, action, actor=user, start=from_, end=to)

"""Mounts each domain router under /api/v1."""

from __future__ import annotations

from fastapi import APIRouter

from app.actions.router import router as actions_router
from app.auth.router import router as auth_router
from app.calling.router import router as calling_router
from app.contacts.router import router as contacts_router
from app.core.paths import API_PREFIX
from app.dashboard import events as _live_events  # noqa: F401  (registers the live-event capture)
from app.dashboard.router import actions_router as action_stats_router
from app.dashboard.router import router as dashboard_router
from app.dashboard.stream import router as stream_router
from app.imports.router import router as imports_router
from app.integrations import events as _webhook_events  # noqa: F401  (registers the webhook capture)
from app.integrations.router import router as integrations_router
from app.messaging.inbound_router import router as messaging_inbound_router
from app.messaging.router import router as messaging_router
from app.opportunities.router import router as opportunities_router
from app.petitions.router import router as petitions_router
from app.push.router import router as push_router
from app.surveys.router import router as surveys_router
from app.teams.router import router as teams_router
from app.tiles.router import router as tiles_router
from app.users.router import router as users_router
from app.zones.router import router as zones_router

api_router = APIRouter(prefix=API_PREFIX)
# The calling router first: routes are matched in order, and its next/start/report carry election-day load
# (tests/core/test_route_order.py checks that the order never changes which handler serves a path).
for r in (
    calling_router,
    auth_router,
    users_router,
    teams_router,
    contacts_router,
    imports_router,
    zones_router,
    actions_router,
    surveys_router,
    opportunities_router,
    tiles_router,
    dashboard_router,
    action_stats_router,
    stream_router,
    messaging_router,
    messaging_inbound_router,
    push_router,
    integrations_router,
    petitions_router,
):
    api_router.include_router(r)

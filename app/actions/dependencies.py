"""Loaders of an action for a request: checked for tenant and visibility (or editability), else not found."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends

from app.actions import service
from app.auth.dependencies import CurrentUser
from app.core.db import SessionDep
from app.models import Action


async def _action(action_id: uuid.UUID, session: SessionDep, user: CurrentUser) -> Action:
    return await service.get(session, action_id, actor=user)


VisibleAction = Annotated[Action, Depends(_action)]


async def _editable(action: VisibleAction, session: SessionDep, user: CurrentUser) -> Action:
    await service.ensure_editable(session, action, user)
    return action


EditableAction = Annotated[Action, Depends(_editable)]

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app.core.schemas import Id, Strict, Timestamp, Unset

Status = Literal["open", "in_progress", "done", "dropped"]


class OpportunityTypeCreate(Strict):
    name: str = Field(min_length=1, max_length=100, examples=["Wants to volunteer"])


class OpportunityTypeRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    name: str
    active: bool


class OpportunityIn(Strict):
    """An opportunity raised in the field (inside a call or visit report)."""

    type_id: Id
    note: str = Field("", max_length=2000)
    assignee_user_id: Id | None = None
    assignee_team_id: Id | None = None
    due_at: Timestamp | None = None


class OpportunityCreate(OpportunityIn):
    contact_id: Id | None = None
    action_id: Id | None = None


class OpportunityUpdate(Strict):
    status: Status = Unset()
    note: str = Unset(max_length=2000)
    assignee_user_id: Id | None = None
    assignee_team_id: Id | None = None
    due_at: Timestamp | None = None


class OpportunityRead(BaseModel):
    id: uuid.UUID
    type_id: uuid.UUID
    type_name: str
    note: str
    status: Status
    contact_id: uuid.UUID | None
    contact_name: str | None
    action_id: uuid.UUID | None
    report_id: uuid.UUID | None
    assignee_user_id: uuid.UUID | None
    assignee_team_id: uuid.UUID | None
    due_at: datetime | None
    created_by: uuid.UUID | None
    created_at: datetime
    updated_at: datetime


class CommentCreate(Strict):
    text: str = Field(min_length=1, max_length=5000)


class CommentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    user_id: uuid.UUID | None
    text: str
    created_at: datetime

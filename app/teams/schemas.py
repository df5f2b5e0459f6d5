from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from app.core.schemas import Id, Strict, Unset


class TeamCreate(Strict):
    name: str = Field(min_length=1, max_length=200, examples=["Sector 3 callers"])
    region: str | None = Field(None, max_length=200)
    leader_user_id: Id | None = None


class TeamUpdate(Strict):
    name: str = Unset(min_length=1, max_length=200)
    region: str | None = Field(None, max_length=200)
    leader_user_id: Id | None = None


class TeamMembersAdd(Strict):
    user_ids: list[Id] = Field(min_length=1, max_length=500)


class TeamRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    name: str
    region: str | None
    leader_user_id: uuid.UUID | None
    member_ids: list[uuid.UUID] = []
    created_at: datetime

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator
from pydantic import Strict as StrictMode

from app.auth.permissions import Role
from app.core.csp import style_url_problem
from app.core.schemas import Id, Region, Strict, Unset

RoleIn = Annotated[Role, StrictMode(False)]  # JSON gives the role as a string


class UserRead(BaseModel):
    id: uuid.UUID
    email: str
    full_name: str
    role: Role
    team_ids: list[uuid.UUID]
    joined_at: datetime


class MembershipUpdate(Strict):
    role: RoleIn


class InvitationCreate(Strict):
    email: EmailStr
    role: RoleIn = Role.volunteer
    team_id: Id | None = None


class InvitationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    email: str
    role: Role
    team_id: uuid.UUID | None
    expires_at: datetime
    accepted_at: datetime | None
    created_at: datetime


class InvitationCreated(InvitationRead):
    token: str = Field(description="Shown once: send it to the invitee (link /join/{token}).")
    accept_path: str


class OrganizationUpdate(Strict):
    name: str = Unset(min_length=1, max_length=200)
    legal_name: str | None = Field(
        None, min_length=1, max_length=200, description="The legal name consent texts name (null: the name)."
    )
    timezone: str = Unset(max_length=64)
    default_region: Region = Unset()
    require_2fa_for_staff: bool = Unset()
    contact_retention_days: int | None = Field(
        None, ge=1, le=36500, description="Erase contacts with no activity for this many days (null: keep them)."
    )
    map_style_url: str | None = Field(
        None,
        max_length=500,
        description="The basemap of every map in the console: a MapLibre style JSON over https. Empty or null: "
        "no basemap (our own layers on a plain background). Its origin is allowed by the Content-Security-Policy.",
        examples=["https://tiles.example.org/styles/basic/style.json"],
    )

    @field_validator("map_style_url")
    @classmethod
    def _style_url(cls, v: str | None) -> str | None:
        if v is None or not v.strip():
            return None
        problem = style_url_problem(v.strip())
        if problem:
            raise ValueError(problem)
        return v.strip()


class AuditEntry(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    at: datetime
    actor_user_id: uuid.UUID | None
    actor_api_key_id: uuid.UUID | None = None
    action: str
    object_type: str
    object_id: str | None
    ip: Any = None
    request_id: str | None
    details: dict[str, Any]

"""Auth and identity schemas."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from app.auth.permissions import Role
from app.core.schemas import Strict


class LoginRequest(Strict):
    email: EmailStr
    password: str = Field(min_length=1, max_length=200)
    organization: str | None = Field(None, max_length=64, description="Organization slug, if you belong to several.")
    totp_code: str | None = Field(None, pattern=r"^\d{6}$")

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"email": "admin@demo.groundgame.org", "password": "demo-admin-2026"}]},
    )


class TokenResponse(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_at: datetime
    two_factor_setup_required: bool = False


class TeamRef(BaseModel):
    id: uuid.UUID
    name: str


class OrganizationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    name: str
    legal_name: str | None = Field(None, description="Named in consent texts; the name when null.")
    slug: str
    timezone: str
    default_region: str
    require_2fa_for_staff: bool
    contact_retention_days: int | None
    map_style_url: str | None = None


class MeRead(BaseModel):
    id: uuid.UUID
    email: str
    full_name: str
    role: Role
    organization: OrganizationRead
    teams: list[TeamRef]
    two_factor_enabled: bool


class InvitationAccept(Strict):
    password: str = Field(min_length=10, max_length=200)
    full_name: str = Field(min_length=1, max_length=200)


class TotpSetupResponse(BaseModel):
    secret: str
    otpauth_uri: str


class TotpCode(Strict):
    code: str = Field(pattern=r"^\d{6}$")

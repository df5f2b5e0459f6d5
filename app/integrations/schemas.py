"""Integration bodies: API keys and webhook endpoints."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.auth.permissions import Scope
from app.core.schemas import Strict, Unset

EventType = Literal[
    "contact.created",
    "contact.updated",
    "consent.changed",
    "call.reported",
    "visit.reported",
    "opportunity.created",
    "signature.created",
]


class ApiKeyCreate(Strict):
    name: str = Field(min_length=1, max_length=120)
    scopes: list[Annotated[Scope, Field(strict=False)]] = Field(min_length=1, max_length=len(Scope))
    expires_in_days: int | None = Field(None, ge=1, le=3650, description="Omitted or null: the key does not expire.")


class ApiKeyRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    name: str
    prefix: str = Field(description="The first characters of the key, to recognize it; the key itself is not kept.")
    scopes: list[str]
    created_by: uuid.UUID | None
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyRead):
    key: str = Field(description="Shown once: send it as `Authorization: Bearer <key>`.")


class WebhookCreate(Strict):
    url: str = Field(min_length=8, max_length=2000)
    events: list[EventType] = Field(min_length=1, max_length=20)
    description: str | None = Field(None, max_length=200)


class WebhookUpdate(Strict):
    events: list[EventType] = Unset(min_length=1, max_length=20)
    description: str | None = Field(None, max_length=200)
    enabled: bool = Unset(description="true re-enables an endpoint disabled after failures (and resets the count)")


class WebhookRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    url: str
    events: list[str]
    description: str | None
    enabled: bool
    consecutive_failures: int
    disabled_reason: str | None
    created_at: datetime


class WebhookCreated(WebhookRead):
    secret: str = Field(description="Shown once: the Standard Webhooks signing secret (whsec_...).")


class DeliveryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    endpoint_id: uuid.UUID
    event_type: str
    status: str
    attempts: int
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    last_attempt_at: datetime | None
    delivered_at: datetime | None

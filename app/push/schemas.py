from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from app.core.schemas import Id, Strict


class PushKeys(Strict):
    p256dh: str = Field(min_length=80, max_length=200, description="The browser's P-256 public key, base64url.")
    auth: str = Field(min_length=16, max_length=100, description="The browser's auth secret, base64url.")


class PushSubscriptionCreate(Strict):
    """`PushSubscription.toJSON()` as the browser gives it (expirationTime is ignored)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "endpoint": "https://push.example.org/send/c1KrmpTuRm0",
                    "keys": {
                        "p256dh": "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1Xbjh"
                        "azAkj7I99e8QcYP7DkM",
                        "auth": "tBHItJI5svbpez7KI4CCXg",
                    },
                    "expirationTime": None,
                }
            ]
        },
    )

    endpoint: str = Field(min_length=10, max_length=2000, pattern=r"^https?://", description="The push service URL.")
    keys: PushKeys
    expirationTime: float | None = Field(None, description="Ignored.")


class PushSubscriptionDelete(Strict):
    endpoint: str = Field(min_length=10, max_length=2000)


class PushSubscriptionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: Id
    endpoint: str
    created_at: datetime


class PushPublicKey(BaseModel):
    public_key: str = Field(description="The VAPID public key (base64url): `applicationServerKey` to subscribe.")


class TeamNotify(Strict):
    title: str = Field(min_length=1, max_length=120)
    body: str = Field(min_length=1, max_length=500)
    url: str | None = Field(
        None, max_length=500, pattern=r"^/", description="A path in the volunteer app to open (e.g. /actions)."
    )


class TeamNotifyRead(BaseModel):
    recipients: int = Field(description="Members of the team with at least one push subscription.")

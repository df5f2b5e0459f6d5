"""Petition schemas: what HQ writes and reads, and what a signer (a page, another site, a volunteer) sends."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator

from app.core.schemas import Id, Strict, Unset

Language = Literal["en", "fr", "ro"]
ConsentChannel = Literal["email", "sms", "phone"]
PetitionStatus = Literal["draft", "open", "closed"]
SLUG = r"^[a-z0-9](?:[a-z0-9-]{0,78}[a-z0-9])?$"
ORIGIN = r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?$"

_EXAMPLE: dict[str, Any] = {
    "slug": "save-the-clinic",
    "title": "Keep our clinic open",
    "text": "The regional clinic is threatened with closure. Sign to ask the council to keep it open.",
    "goal": 5000,
    "consent_wording": {"email": "Keep me informed by email about this campaign."},
    "tags": ["petition-clinic"],
    "thank_you_message": "Thank you! Share the petition with your neighbours.",
    "languages": ["en", "fr"],
    "translations": {
        "fr": {
            "title": "Gardons notre clinique ouverte",
            "consent_wording": {"email": "Tenez-moi informé·e par e-mail de cette campagne."},
        }
    },
    "double_opt_in": False,
    "embed_origins": ["https://example.org"],
}


class Translation(Strict):
    """What differs from the first language; a field left out falls back to it."""

    title: str | None = Field(None, max_length=200)
    text: str | None = Field(None, max_length=20_000)
    thank_you_message: str | None = Field(None, max_length=2000)
    consent_wording: dict[ConsentChannel, str] | None = Field(None, max_length=3)


class PetitionBase(Strict):
    @field_validator("consent_wording", check_fields=False)
    @classmethod
    def _wording_not_blank(cls, v: dict[str, str] | None) -> dict[str, str] | None:
        if v and any(not s.strip() or len(s) > 1000 for s in v.values()):
            raise ValueError("each wording is 1 to 1000 characters")
        return v

    @field_validator("languages", check_fields=False)
    @classmethod
    def _distinct(cls, v: list[str] | None) -> list[str] | None:
        if v is not None and len(set(v)) != len(v):
            raise ValueError("each language once")
        return v

    @field_validator("embed_origins", check_fields=False)
    @classmethod
    def _origins(cls, v: list[str] | None) -> list[str] | None:
        if v and any(not re.match(ORIGIN, o) for o in v):
            raise ValueError("an origin is scheme://host[:port], without a path")
        return v

    @field_validator("tags", check_fields=False)
    @classmethod
    def _tags(cls, v: list[str] | None) -> list[str] | None:
        if v and any(not t.strip() or len(t) > 64 for t in v):
            raise ValueError("each tag is 1 to 64 characters")
        return v


class PetitionCreate(PetitionBase):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [_EXAMPLE]})

    slug: str = Field(pattern=SLUG, description="The public page is /p/{slug}; unique across the server.")
    title: str = Field(min_length=1, max_length=200)
    text: str = Field("", max_length=20_000, description="Plain text; blank lines make paragraphs.")
    goal: int | None = Field(None, ge=1, le=100_000_000)
    consent_wording: dict[ConsentChannel, str] = Field(
        default_factory=dict,
        max_length=3,
        description="Channel → the sentence shown next to its checkbox; a ticked box records exactly this wording.",
    )
    tags: list[str] = Field(default_factory=list, max_length=20, description="Applied to every signer's contact.")
    thank_you_message: str = Field("", max_length=2000)
    languages: list[Language] = Field(
        default_factory=lambda: list[Language](["en"]),
        min_length=1,
        max_length=3,
        description="The first is the default.",
    )
    translations: dict[Language, Translation] = Field(default_factory=dict, max_length=3)
    double_opt_in: bool = Field(False, description="Signers confirm by email before they count and consent.")
    embed_origins: list[str] = Field(
        default_factory=list, max_length=20, description="Sites allowed to call the JSON endpoints (CORS)."
    )
    action_id: Id | None = Field(None, description="A petition action whose volunteers collect signatures.")
    status: PetitionStatus = "draft"


class PetitionUpdate(PetitionBase):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"status": "open", "goal": 10000}]})

    title: str = Unset(min_length=1, max_length=200)
    text: str = Unset(max_length=20_000)
    goal: int | None = Field(None, ge=1, le=100_000_000)
    consent_wording: dict[ConsentChannel, str] = Unset(max_length=3)
    tags: list[str] = Unset(max_length=20)
    thank_you_message: str = Unset(max_length=2000)
    languages: list[Language] = Unset(min_length=1, max_length=3)
    translations: dict[Language, Translation] = Unset(max_length=3)
    double_opt_in: bool = Unset()
    embed_origins: list[str] = Unset(max_length=20)
    action_id: Id | None = None
    status: PetitionStatus = Unset()


class PetitionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    slug: str
    status: PetitionStatus
    title: str
    text: str
    goal: int | None
    consent_wording: dict[str, str]
    tags: list[str]
    thank_you_message: str
    languages: list[str]
    translations: dict[str, Translation]
    double_opt_in: bool
    embed_origins: list[str]
    action_id: uuid.UUID | None
    signature_count: int = Field(description="Confirmed signatures.")
    created_at: datetime
    updated_at: datetime
    public_url: str = Field("", description="The public page.")
    embed_snippet: str = Field("", description="HTML to paste into another site: the page in an iframe.")


class SignerInput(Strict):
    """Who signs, and the consents they ticked."""

    first_name: str = Field(min_length=1, max_length=200)
    last_name: str = Field("", max_length=200)
    email: EmailStr
    mobile: str | None = Field(None, max_length=64)
    postal_code: str | None = Field(None, max_length=20)
    consents: list[ConsentChannel] = Field(
        default_factory=list, max_length=3, description="The channels whose box was ticked."
    )
    language: Language | None = None


class SignatureInput(SignerInput):
    """A signature from a page or another site (POST /p/{slug}/sign.json)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "first_name": "Ioana",
                    "last_name": "Popescu",
                    "email": "ioana@example.org",
                    "consents": ["email"],
                    "language": "en",
                    "form_token": "1764590000.3f2a9c0d1e",
                }
            ]
        },
    )

    form_token: str = Field("", max_length=100, description="From GET /p/{slug}/counter.json.")
    website: str = Field("", max_length=200, description="Leave empty (a field bots fill in).")


class SignatureResult(BaseModel):
    status: Literal["received"] = "received"
    message: str = Field(description="The thank-you message, or the request to confirm by email.")


class PublicPetition(BaseModel):
    """What a signer is shown, in one language: what a volunteer's form displays."""

    id: uuid.UUID
    slug: str
    title: str
    text: str
    goal: int | None
    signature_count: int
    language: str
    consent_wording: dict[str, str]
    thank_you_message: str


class FieldSignatureInput(SignerInput):
    """A signature a volunteer records in the field (signed in: no form token, no honeypot)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"first_name": "Ana", "email": "ana@example.org", "consents": ["email"], "language": "ro"}]
        },
    )

"""Contact schemas. Reads never carry a phone number: only `has_mobile` / `has_home_phone`
(numbers leave the API through "start call" and audited exports only)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator

from app.contacts.fields import KEY_RE
from app.contacts.filters import SegmentFilter
from app.contacts.sorting import SortName, SortOrder
from app.core.schemas import Day, Id, Strict, Timestamp, Unset

Source = Literal["app", "import", "petition", "api", "call", "visit"]
Channel = Literal["email", "sms", "phone", "data_processing"]
ConsentStatus = Literal["granted", "withdrawn"]


class Address(Strict):
    street: str | None = Field(None, max_length=200)
    number: str | None = Field(None, max_length=20)
    building: str | None = Field(None, max_length=50)
    postal_code: str | None = Field(None, max_length=20)
    city: str | None = Field(None, max_length=120)
    country: str | None = Field(None, pattern=r"^[A-Z]{2}$")


class Point(Strict):
    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)


class DoNotContact(Strict):
    phone: bool | None = None
    sms: bool | None = None
    email: bool | None = None
    visit: bool | None = None


class ConsentInput(Strict):
    channel: Channel
    status: ConsentStatus
    source: str = Field("app", max_length=32)
    proof: str | None = Field(None, max_length=2000, description="What the person agreed to, as shown to them.")


class ContactBase(Strict):
    first_name: str | None = Field(None, max_length=200)
    last_name: str | None = Field(None, max_length=200)
    mobile: str | None = Field(None, max_length=64, description="Any format; normalized to E.164.")
    home_phone: str | None = Field(None, max_length=64)
    email: EmailStr | None = None
    address: Address | None = Field(None, description="null leaves the address as it is")
    location: Point | None = None
    birth_year: int | None = Field(None, ge=1900, le=2030)
    birth_date: Day | None = None
    gender: str | None = Field(None, max_length=20)
    language: str | None = Field(None, max_length=10)
    support_level: int | None = Field(None, ge=1, le=5)
    donor: bool = Unset()
    volunteer: bool = Unset()
    member: bool = Unset()
    tags: list[str] | None = Field(None, max_length=100, description="null clears the tags")
    custom_fields: dict[str, Any] = Unset(description="Merged into the contact's custom fields.")
    do_not_contact: DoNotContact = Unset()

    @field_validator("tags")
    @classmethod
    def _tags(cls, v: list[str] | None) -> list[str] | None:
        return None if v is None else clean_tags(v)


class ContactCreate(ContactBase):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "first_name": "Ioana",
                    "last_name": "Popescu",
                    "mobile": "0722 123 456",
                    "email": "ioana@example.org",
                    "address": {"street": "Strada Memorandumului", "number": "12", "city": "Cluj-Napoca"},
                    "support_level": 3,
                    "tags": ["pensions"],
                    "consents": [
                        {"channel": "sms", "status": "granted", "source": "app", "proof": "Checkbox at signup"}
                    ],
                }
            ]
        },
    )

    source: Source = "app"
    consents: list[ConsentInput] = Field(default_factory=list, max_length=8)


class ContactUpdate(ContactBase):
    pass


class ContactRead(BaseModel):
    id: uuid.UUID
    first_name: str
    last_name: str
    has_mobile: bool
    has_home_phone: bool
    email: str | None
    address: Address
    location: Point | None
    birth_year: int | None
    birth_date: date | None
    age: int | None
    gender: str | None
    language: str | None
    support_level: int | None
    donor: bool
    volunteer: bool
    member: bool
    tags: list[str]
    custom_fields: dict[str, Any]
    source: str
    do_not_contact: DoNotContact
    consents: dict[str, str | None]
    last_contacted_at: datetime | None
    created_at: datetime
    updated_at: datetime


class SearchRequest(Strict):
    filter: SegmentFilter = Field(default_factory=SegmentFilter)
    sort: SortName = Field("name", description="Column the page is ordered by (then the id); index-backed.")
    order: SortOrder = "asc"
    limit: int = Field(50, ge=1, le=500)
    cursor: str | None = Field(None, max_length=500, description="`next_cursor` of the previous page (same sort).")
    with_total: bool = False


def clean_tags(v: list[str]) -> list[str]:
    """The one rule for tag names: trimmed, 1 to 64 characters, each once."""
    out: list[str] = []
    for t in v:
        t = t.strip()
        if not t or len(t) > 64:
            raise ValueError("tags are 1 to 64 characters")
        if t not in out:
            out.append(t)
    return out


class BulkTagsRequest(Strict):
    """Tags added to and removed from many contacts at once: those matching `filter`, or the `contact_ids` given
    (one of the two). Only contacts the caller may see are changed."""

    filter: SegmentFilter | None = None
    contact_ids: list[Id] | None = Field(None, min_length=1, max_length=10_000)
    add: list[str] = Field(default_factory=list, max_length=100)
    remove: list[str] = Field(default_factory=list, max_length=100)

    @field_validator("add", "remove")
    @classmethod
    def _tags(cls, v: list[str]) -> list[str]:
        return clean_tags(v)


class BulkTagsResult(BaseModel):
    matched: int = Field(description="Contacts the selection names that you may see.")
    updated: int = Field(description="Those whose tags changed.")


class CountRequest(Strict):
    filter: SegmentFilter = Field(default_factory=SegmentFilter)


class CountResponse(BaseModel):
    count: int


MergeField = Literal[
    "first_name",
    "last_name",
    "mobile",
    "home_phone",
    "email",
    "address",
    "birth",
    "gender",
    "language",
    "support_level",
]
MergeSide = Literal["this", "other"]


class MergeRequest(Strict):
    other_id: Id = Field(description="This contact is merged into the one in the path, then removed.")
    fields: dict[MergeField, MergeSide] = Field(
        default_factory=dict,
        description=(
            "Which contact's value survives, per field (`address` is the whole address and its location, `birth` "
            "the year and date). A field left out keeps this contact's value, or the other's where this one has "
            "none. Tags are the union of both; consents keep both logs, the most recent change per channel wins."
        ),
        examples=[{"email": "other", "address": "this"}],
    )


class DuplicateRead(BaseModel):
    contact: ContactRead
    reasons: list[Literal["mobile", "email", "phone", "name_address"]] = Field(
        description="Why the rule takes them for the same person: same mobile, email, a phone given on either "
        "side, or the same name and address."
    )


class NoteCreate(Strict):
    kind: Literal["note", "meeting"] = "note"
    text: str = Field(min_length=1, max_length=5000)
    at: Timestamp | None = None


class TimelineEntry(BaseModel):
    kind: str
    at: datetime
    actor_user_id: uuid.UUID | None
    action_id: uuid.UUID | None
    summary: str
    data: dict[str, Any]


class ConsentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    channel: str
    status: str
    source: str
    proof: str | None
    recorded_by: uuid.UUID | None
    recorded_at: datetime


class SegmentCreate(Strict):
    name: str = Field(min_length=1, max_length=200)
    filter: SegmentFilter


class SegmentRead(BaseModel):
    id: uuid.UUID
    name: str
    filter: dict[str, Any]
    created_at: datetime


class TagCreate(Strict):
    name: str = Field(min_length=1, max_length=64)
    color: str | None = Field(None, pattern=r"^#[0-9a-fA-F]{6}$")


class TagRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    name: str
    color: str | None


class CustomFieldCreate(Strict):
    key: str = Field(pattern=KEY_RE.pattern)
    label: str = Field(min_length=1, max_length=200)
    type: Literal["text", "number", "boolean", "date", "choice"]
    options: list[str] = Field(default_factory=list, max_length=200)


class CustomFieldRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    key: str
    label: str
    type: str
    options: list[str]

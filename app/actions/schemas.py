from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

from app.contacts.filters import SegmentFilter
from app.core.schemas import Id, Strict, Timestamp, Unset

ActionType = Literal["call", "door_to_door", "petition", "event", "leafleting", "digital"]
ActionStatus = Literal["draft", "scheduled", "active", "paused", "closed"]


class MeetingPoint(Strict):
    label: str = Field(max_length=300)
    lat: float | None = Field(None, ge=-90, le=90)
    lon: float | None = Field(None, ge=-180, le=180)


class Assignment(Strict):
    """How targets are split. round_robin (calls): balanced to within one; geographic (door-to-door): turfs of
    about `doors_per_turf` doors cut with k-means, one turf per volunteer (or pair); manual: `target_ids` to
    `user_id` (null = back to the unassigned pool); unassign: everything back to the pool."""

    strategy: Literal["round_robin", "geographic", "manual", "unassign"]
    volunteer_ids: list[Id] = Field(default_factory=list, max_length=2000)
    team_ids: list[Id] = Field(default_factory=list, max_length=100)
    doors_per_turf: int = Field(50, ge=1, le=5000)
    pairs: bool = False
    only_unassigned: bool = False
    target_ids: list[Id] = Field(default_factory=list, max_length=5000)
    user_id: Id | None = None


class ActionCreate(Strict):
    type: ActionType
    title: str = Field(min_length=1, max_length=200, examples=["Saturday phone bank: pensions"])
    description: str = Field("", max_length=5000)
    brief: str = Field("", max_length=50000, description="Markdown shown to volunteers.")
    starts_at: Timestamp | None = None
    ends_at: Timestamp | None = None
    meeting_point: MeetingPoint | None = None
    status: ActionStatus = "scheduled"
    survey_id: Id | None = None
    p2p_template_id: Id | None = Field(None, description="SMS template for volunteers' peer-to-peer texts.")
    filter: SegmentFilter = Field(default_factory=SegmentFilter)
    team_ids: list[Id] = Field(default_factory=list, max_length=100)
    volunteer_ids: list[Id] = Field(default_factory=list, max_length=2000)
    reached_tag: str | None = Field(None, max_length=64, description="Tag given to every contact reached.")
    allow_others: bool = Field(True, description="Volunteers may also call their team-mates' targets.")
    open_to_all_volunteers: bool = Field(
        False,
        description="With allow_others: any volunteer on the action may call anyone's targets, not only their "
        "team-mates'. Managers only.",
    )
    max_attempts: int = Field(3, ge=1, le=20)
    retry_delay_minutes: int = Field(120, ge=0, le=60 * 24 * 14)
    assignment: Assignment | None = Field(None, description="Split the targets right away.")

    @model_validator(mode="after")
    def _dates(self) -> ActionCreate:
        if self.starts_at and self.ends_at and self.ends_at < self.starts_at:
            raise ValueError("ends_at is before starts_at")
        return self


class ActionUpdate(Strict):
    title: str = Unset(min_length=1, max_length=200)
    description: str = Unset(max_length=5000)
    brief: str = Unset(max_length=50000)
    starts_at: Timestamp | None = None
    ends_at: Timestamp | None = None
    meeting_point: MeetingPoint | None = None
    status: ActionStatus = Unset()
    survey_id: Id | None = None
    p2p_template_id: Id | None = None
    team_ids: list[Id] = Unset(max_length=100)
    volunteer_ids: list[Id] = Unset(max_length=2000)
    reached_tag: str | None = Field(None, max_length=64)
    allow_others: bool = Unset()
    open_to_all_volunteers: bool = Unset(description="See ActionCreate. Managers only.")
    max_attempts: int = Unset(ge=1, le=20)
    retry_delay_minutes: int = Unset(ge=0, le=60 * 24 * 14)


class Participation(BaseModel):
    status: Literal["going", "maybe", "not_going"]
    availability: str | None = None
    updated_at: datetime | None = None


class ParticipationSet(Strict):
    status: Literal["going", "maybe", "not_going"]
    availability: str | None = Field(None, max_length=500)


class ParticipantRead(BaseModel):
    user_id: uuid.UUID
    full_name: str
    status: str
    availability: str | None
    updated_at: datetime


class ParticipationOverview(BaseModel):
    mine: Participation | None
    counts: dict[str, int] | None = None
    participants: list[ParticipantRead] | None = None


class DocumentRead(BaseModel):
    id: uuid.UUID
    name: str
    url: str
    size_bytes: int
    content_type: str


class ActionRead(BaseModel):
    id: uuid.UUID
    type: ActionType
    title: str
    description: str
    brief: str
    starts_at: datetime | None
    ends_at: datetime | None
    meeting_point: MeetingPoint | None
    status: ActionStatus
    survey_id: uuid.UUID | None
    p2p_template_id: uuid.UUID | None = None
    filter: dict[str, Any]
    team_ids: list[uuid.UUID]
    volunteer_ids: list[uuid.UUID]
    reached_tag: str | None
    allow_others: bool
    open_to_all_volunteers: bool
    max_attempts: int
    retry_delay_minutes: int
    target_count: int
    done_count: int
    my_participation: Participation | None
    documents: list[DocumentRead]
    created_at: datetime


class PreviewRequest(Strict):
    filter: SegmentFilter = Field(default_factory=SegmentFilter)
    type: ActionType = "call"
    sample_size: int = Field(10, ge=0, le=50)


class PreviewSample(BaseModel):
    id: uuid.UUID
    first_name: str
    last_name: str
    city: str | None
    street: str | None


class PreviewResponse(BaseModel):
    count: int
    bbox: list[float] | None
    sample: list[PreviewSample]


class AssignResult(BaseModel):
    assigned: int
    unassigned: int
    per_volunteer: dict[str, int]
    turfs: int = 0


class RefreshResult(BaseModel):
    added: int
    target_count: int

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, EmailStr, Field, model_validator

from app.contacts.schemas import Address, Channel, ConsentStatus
from app.core.schemas import INT4_MAX, Id, Lax, Strict, Timestamp
from app.models.statuses import CallOutcome, ReportKind, TargetStatus, VisitOutcome
from app.opportunities.schemas import OpportunityIn
from app.surveys.schemas import AnswerIn


class CallTargetRead(BaseModel):
    """A calling-list entry. Never a phone number: numbers are revealed only by start call."""

    id: uuid.UUID
    contact_id: uuid.UUID
    first_name: str
    last_name: str
    area: str | None
    status: TargetStatus
    attempts: int
    callback_at: datetime | None
    last_outcome: str | None
    assignee_name: str | None = None


class OtherMember(BaseModel):
    user_id: uuid.UUID
    name: str
    teammate: bool = Field(description="In one of the caller's teams (listed first).")
    open: int = Field(description="People left to call on their list.")


class OthersSummary(BaseModel):
    pool: int = Field(description="People left in the unassigned pool (calls/next takes them after one's own).")
    members: list[OtherMember]


class Phone(BaseModel):
    kind: Literal["mobile", "home"]
    e164: str


class RevealedContact(BaseModel):
    id: uuid.UUID
    first_name: str
    last_name: str
    phones: list[Phone]
    email: str | None
    address: str | None
    support_level: int | None
    tags: list[str]
    consents: dict[str, str]


class StartCallResponse(BaseModel):
    target_id: uuid.UUID
    lease_expires_at: datetime
    contact: RevealedContact


class ContactUpdates(Strict):
    email: EmailStr | None = None
    mobile: str | None = Field(None, max_length=64)
    home_phone: str | None = Field(None, max_length=64)
    address: Address | None = None
    support_level: int | None = Field(None, ge=1, le=5)
    tags_add: list[str] = Field(default_factory=list, max_length=50)
    consents: dict[Channel, ConsentStatus] = Field(default_factory=dict)


class ReportBase(Strict):
    id: Id = Field(description="Client-generated UUID: replaying it returns the first response.")
    outcome_text: str | None = Field(None, max_length=2000)
    consent_given: bool | None = None
    survey_version: int | None = Field(
        None, ge=1, le=INT4_MAX, description="The version the answers were given against."
    )
    survey_answers: list[AnswerIn] = Field(default_factory=list, max_length=100)
    contact_updates: ContactUpdates | None = None
    comment: str | None = Field(None, max_length=5000)
    quality: int | None = Field(None, ge=1, le=5)
    mobilized: bool | None = None
    opportunities: list[OpportunityIn] = Field(default_factory=list, max_length=20)
    recorded_at: Timestamp | None = Field(
        None,
        description="When it was recorded on the phone (offline work syncs later). The server keeps it within the "
        "call's lease start (a visit: its action's start) and now; absent: now.",
    )


class CallReport(ReportBase):
    outcome: Annotated[CallOutcome, Lax]
    callback_at: Timestamp | None = None
    wrong_number: Literal["mobile", "home"] | None = Field(None, description="Which number was wrong.")

    @model_validator(mode="after")
    def _callback(self) -> CallReport:
        if self.outcome == CallOutcome.callback and self.callback_at is None:
            raise ValueError("callback_at is required when the outcome is callback")
        if self.outcome == CallOutcome.other and not self.outcome_text:
            raise ValueError("outcome_text is required when the outcome is other")
        if self.outcome != CallOutcome.answered and (self.survey_answers or self.contact_updates):
            raise ValueError("survey answers and contact updates need an answered call")
        if self.survey_answers and self.consent_given is not True:
            raise ValueError("survey answers need consent_given: true")
        return self


class NewContact(Strict):
    first_name: str = Field(min_length=1, max_length=200)
    last_name: str = Field("", max_length=200)
    mobile: str | None = Field(None, max_length=64)
    email: EmailStr | None = None
    consent_data_processing: bool = Field(description="The person agreed that we keep their details.")
    consents: dict[Channel, ConsentStatus] = Field(default_factory=dict)
    support_level: int | None = Field(None, ge=1, le=5)


class VisitReport(ReportBase):
    target_id: Id | None = Field(None, description="The door visited: its outcome is this report's.")
    outcome: Annotated[VisitOutcome, Lax]
    new_contact: NewContact | None = None
    door_id: Id | None = Field(
        None,
        description="With new_contact and no target_id: the door (a target of this walk list) where the person was "
        "met, whose own visit is reported apart. With either door, the person is placed at its building's address "
        "and location and joins its households.",
    )

    @model_validator(mode="after")
    def _check(self) -> VisitReport:
        if self.target_id is None and self.new_contact is None:
            raise ValueError("a visit is for a target or a new person met at the door")
        if self.new_contact is not None and not self.new_contact.consent_data_processing:
            raise ValueError("a new contact needs their consent to keep their details")
        if self.door_id is not None and (self.new_contact is None or self.target_id is not None):
            raise ValueError("door_id places a new contact met at a door not visited by this report")
        if self.outcome == VisitOutcome.other and not self.outcome_text:
            raise ValueError("outcome_text is required when the outcome is other")
        if self.survey_answers and self.consent_given is not True:
            raise ValueError("survey answers need consent_given: true")
        return self


class ReportResponse(BaseModel):
    id: uuid.UUID
    kind: ReportKind
    target_id: uuid.UUID | None
    contact_id: uuid.UUID | None
    outcome: str
    target_status: TargetStatus | None
    opportunity_ids: list[uuid.UUID]
    created_at: datetime
    recorded_at: datetime | None = None


class ReportDetails(Strict):
    """The rest of the flow, sent after the outcome (step by step online). Idempotent on the report id:
    the same details again return the first response; different details are a 409."""

    consent_given: bool | None = None
    survey_version: int | None = Field(None, ge=1, le=INT4_MAX)
    survey_answers: list[AnswerIn] = Field(default_factory=list, max_length=100)
    contact_updates: ContactUpdates | None = None
    comment: str | None = Field(None, max_length=5000)
    quality: int | None = Field(None, ge=1, le=5)
    mobilized: bool | None = None
    opportunities: list[OpportunityIn] = Field(default_factory=list, max_length=20)

    @model_validator(mode="after")
    def _consent(self) -> ReportDetails:
        if self.survey_answers and self.consent_given is not True:
            raise ValueError("survey answers need consent_given: true")
        return self


class ReportCorrection(Strict):
    """A new version of one's own report: what it says replaces the outcome, comment, quality and mobilized of the
    version before (survey answers only when given, or dropped when the person was not reached after all)."""

    id: Id = Field(description="Client-generated UUID of the correction: replaying it returns the first response.")
    outcome: str = Field(min_length=1, max_length=20)
    outcome_text: str | None = Field(None, max_length=2000)
    consent_given: bool | None = None
    comment: str | None = Field(None, max_length=5000)
    quality: int | None = Field(None, ge=1, le=5)
    mobilized: bool | None = None
    survey_version: int | None = Field(None, ge=1, le=INT4_MAX)
    survey_answers: list[AnswerIn] = Field(default_factory=list, max_length=100)

    @model_validator(mode="after")
    def _consent(self) -> ReportCorrection:
        if self.survey_answers and self.consent_given is not True:
            raise ValueError("survey answers need consent_given: true")
        return self


class CorrectionResponse(BaseModel):
    id: uuid.UUID
    report_id: uuid.UUID
    version: int
    outcome: str
    comment: str | None
    quality: int | None
    mobilized: bool | None
    corrected_at: datetime


class MyReport(BaseModel):
    """One of the caller's own reports that they can still correct."""

    id: uuid.UUID
    kind: ReportKind
    target_id: uuid.UUID | None
    contact_id: uuid.UUID | None
    contact_name: str | None
    outcome: str
    outcome_text: str | None
    consent_given: bool | None
    comment: str | None
    quality: int | None
    mobilized: bool | None
    version: int
    recorded_at: datetime
    correctable_until: datetime


class P2PText(BaseModel):
    """The action's text message for one person, ready for the phone's SMS app."""

    contact_id: uuid.UUID
    to: str
    body: str
    template_id: uuid.UUID
    sms_link: str = Field(description="`sms:` link with the body prefilled.")


class P2PTextSent(Strict):
    id: Id = Field(description="Client-generated UUID: the same id logs the text once.")


class P2PTextLogged(BaseModel):
    id: uuid.UUID
    contact_id: uuid.UUID
    logged: bool = Field(description="False when this id was already logged.")

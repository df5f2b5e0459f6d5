from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app.contacts.filters import SegmentFilter
from app.core.schemas import Id, Strict, Timestamp

Channel = Literal["email", "sms"]
MAX_BODY = 100_000
MAX_SMS = 1_600  # ten UCS-2 parts would be 670 characters; the segment rule below is the real bound


class TemplateCreate(Strict):
    name: str = Field(min_length=1, max_length=200)
    channel: Channel
    subject: str = Field("", max_length=1000, description="Email only.")
    body_html: str = Field("", max_length=MAX_BODY, description="Email only: autoescaped.")
    body_text: str = Field("", max_length=MAX_BODY, description="The email's text part, or the SMS text.")


class TemplateRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: Id
    name: str
    channel: Channel
    subject: str
    body_html: str
    body_text: str
    created_at: datetime


class TemplatePreview(Strict):
    """A template as it is being typed (no need to save it), rendered for one real contact or a sample."""

    channel: Channel
    subject: str = Field("", max_length=1000)
    body_html: str = Field("", max_length=MAX_BODY)
    body_text: str = Field("", max_length=MAX_BODY)
    contact_id: Id | None = None


class SmsStats(BaseModel):
    encoding: Literal["GSM-7", "UCS-2"]
    length: int = Field(description="Septets (GSM-7) or UTF-16 units (UCS-2).")
    segments: int
    per_segment: int


class TemplatePreviewRead(BaseModel):
    subject: str
    body_html: str
    body_text: str
    sms: SmsStats | None = Field(None, description="SMS only: length and parts of the rendered text.")
    fields: list[str] = Field(description="The merge fields a template may use: `{{ contact.first_name }}`.")


class CampaignCreate(Strict):
    name: str = Field(min_length=1, max_length=200)
    template_id: Id
    filter: SegmentFilter = Field(
        default_factory=SegmentFilter, description="The segment filter; `filter.segment_id` names a saved segment."
    )
    action_id: Id | None = Field(
        None,
        description="The people met in this action (a call answered, a door opened), narrowed by `filter`; "
        "consent for the channel is still required.",
    )


class CampaignSend(Strict):
    scheduled_at: Timestamp | None = Field(None, description="Later; now when left out.")


class TestSend(Strict):
    """An email test goes to your own account's address, never to another one (no way around consent)."""

    contact_id: Id | None = Field(None, description="Render for this contact (a sample otherwise).")
    mobile: str | None = Field(None, max_length=32, description="SMS: your own number (required).")


class CampaignCounts(BaseModel):
    """Messages per status. `delivered`/`undelivered` come from the SMS provider's callbacks, `bounced`/`opened`
    from the email events endpoint; a sent message with no later report stays `sent`."""

    queued: int = 0
    sending: int = 0
    sent: int = 0
    delivered: int = 0
    undelivered: int = 0
    bounced: int = 0
    opened: int = 0
    failed: int = 0
    skipped: int = 0
    cancelled: int = 0


class CampaignRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: Id
    name: str
    channel: Channel
    template_id: Id | None
    status: Literal["draft", "scheduled", "sending", "paused", "cancelled", "done"]
    filter: SegmentFilter
    action_id: Id | None
    scheduled_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    created_at: datetime
    counts: CampaignCounts = Field(default_factory=CampaignCounts)


class TestSendRead(BaseModel):
    to: str
    provider_id: str


class UnsubscribeRead(BaseModel):
    unsubscribed: bool
    changed: bool = Field(description="False when the address was already unsubscribed.")


class EmailEvent(Strict):
    """What the mail system reports about a message we sent (a bounce processor, an ESP webhook adapter)."""

    message_id: str = Field(
        min_length=3, max_length=300, description="The Message-ID header of the message, with or without <>."
    )
    event: Literal["bounced", "opened"]
    reason: str | None = Field(None, max_length=1000, description="Bounced: the remote server's answer.")


class EmailEventRead(BaseModel):
    matched: bool = Field(description="False when no message of ours has that Message-ID (nothing changed).")
    status: str | None = None


class PersonalMessage(Strict):
    """One message to one contact from their page: only with current consent for the channel."""

    channel: Channel
    subject: str = Field("", max_length=1000, description="Email only (required there).")
    body: str = Field(min_length=1, max_length=MAX_BODY, description="The text (an SMS: at most 10 parts).")


class InboxReply(Strict):
    body: str = Field(min_length=1, max_length=MAX_SMS, description="The SMS answer (at most 10 parts).")


class DirectMessageRead(BaseModel):
    """A message outside a campaign: an SMS received (`in`), or one sent to one person (`out`)."""

    model_config = ConfigDict(from_attributes=True)
    id: Id
    contact_id: Id | None = Field(description="None: a number that matches no contact.")
    channel: Channel
    direction: Literal["in", "out"]
    kind: Literal["reply", "opt_out", "personal", "opt_out_confirm"]
    subject: str
    body: str
    status: str = Field(description="`received` for what came in; queued, sending, sent, delivered… going out.")
    error: str | None
    sent_by: Id | None
    reply_to_id: Id | None
    answered_at: datetime | None
    created_at: datetime

"""ORM tables, one module per aggregate. Importing this package registers them all on Base.metadata."""

from app.models.action import (
    Action,
    ActionCounter,
    ActionDocument,
    ActionTarget,
    ActionTeam,
    ActionVolunteer,
    Participation,
    Turf,
)
from app.models.audit import AuditLog
from app.models.base import Base
from app.models.contact import ConsentLog, Contact, ContactEvent, CustomFieldDef, Segment, Tag
from app.models.field import (
    FieldReport,
    FieldReportCorrection,
    Opportunity,
    OpportunityComment,
    OpportunityType,
    Survey,
    SurveyAnswer,
    SurveyVersion,
)
from app.models.imports import Export, Import, ImportReject
from app.models.integration import ApiKey, WebhookDelivery, WebhookEndpoint, WebhookOutbox
from app.models.message import (
    Campaign,
    CampaignMessage,
    DirectMessage,
    MessageTemplate,
    PushSubscription,
    SmsStatusReport,
    VapidKey,
)
from app.models.org import Invitation, Membership, Organization, Team, TeamMember
from app.models.petition import Petition, PetitionCounter, PetitionSignature
from app.models.rollup import (
    ConsentRollup,
    ConsentRollupDaily,
    ContactReach,
    ContactRollup,
    ContactRollupDaily,
    ReachRollup,
    ReportRollup,
    SurveyRollup,
    TargetRollup,
)
from app.models.user import AuthToken, User
from app.models.zone import Zone, ZonePiece

__all__ = [
    "Action",
    "ActionCounter",
    "ActionDocument",
    "ActionTarget",
    "ActionTeam",
    "ActionVolunteer",
    "ApiKey",
    "AuditLog",
    "AuthToken",
    "Base",
    "Campaign",
    "CampaignMessage",
    "ConsentLog",
    "ConsentRollup",
    "ConsentRollupDaily",
    "Contact",
    "ContactEvent",
    "ContactReach",
    "ContactRollup",
    "ContactRollupDaily",
    "CustomFieldDef",
    "DirectMessage",
    "Export",
    "FieldReport",
    "FieldReportCorrection",
    "Import",
    "ImportReject",
    "Invitation",
    "Membership",
    "MessageTemplate",
    "Opportunity",
    "OpportunityComment",
    "OpportunityType",
    "Organization",
    "Participation",
    "Petition",
    "PetitionCounter",
    "PetitionSignature",
    "PushSubscription",
    "ReachRollup",
    "ReportRollup",
    "Segment",
    "SmsStatusReport",
    "Survey",
    "SurveyAnswer",
    "SurveyRollup",
    "SurveyVersion",
    "Tag",
    "TargetRollup",
    "Team",
    "TeamMember",
    "Turf",
    "User",
    "VapidKey",
    "WebhookDelivery",
    "WebhookEndpoint",
    "WebhookOutbox",
    "Zone",
    "ZonePiece",
]

"""ORM tables, one module per aggregate. Importing this package registers them all on Base.metadata."""

from app.models.audit import AuditLog
from app.models.base import Base
from app.models.org import Invitation, Membership, Organization, Team, TeamMember
from app.models.user import AuthToken, User

__all__ = ["AuditLog", "AuthToken", "Base", "Invitation", "Membership", "Organization", "Team", "TeamMember",
           "User"]

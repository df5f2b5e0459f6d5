"""The authenticated caller of a request."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from app.auth.permissions import Perm, role_can, scope_permissions


@dataclass(frozen=True)
class Principal:
    user_id: uuid.UUID
    organization_id: uuid.UUID
    role: str
    email: str
    full_name: str
    token_id: uuid.UUID
    team_ids: frozenset[uuid.UUID] = field(default_factory=frozenset)
    ip: str | None = None
    request_id: str | None = None
    # Set when the caller is an API key: its id (audited as the key) and scopes (which limit its permissions).
    api_key_id: uuid.UUID | None = None
    scopes: frozenset[str] | None = None

    def can(self, perm: Perm) -> bool:
        if self.scopes is not None and perm not in scope_permissions(self.scopes):
            return False
        return role_can(self.role, perm)

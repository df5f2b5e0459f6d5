"""The authenticated caller of a request."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from app.auth.permissions import Perm, role_can


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

    def can(self, perm: Perm) -> bool:
        return role_can(self.role, perm)

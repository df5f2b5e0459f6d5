"""The API's mount point and the few API paths that responses point to, written once (services return them
without knowing the router layout; a test checks each against the route table)."""

from __future__ import annotations

import uuid

API_PREFIX = "/api/v1"


def action_document(action_id: uuid.UUID, document_id: uuid.UUID) -> str:
    return f"{API_PREFIX}/actions/{action_id}/documents/{document_id}"


def export_download(export_id: uuid.UUID) -> str:
    return f"{API_PREFIX}/exports/{export_id}/download"


def invitation_accept(token: str) -> str:
    return f"{API_PREFIX}/auth/invitations/{token}/accept"


def unsubscribe(token: str) -> str:
    return f"{API_PREFIX}/messaging/unsubscribe/{token}"


def sms_status(organization_id: uuid.UUID) -> str:
    return f"{API_PREFIX}/messaging/sms/{organization_id}/status"


def sms_inbound(organization_id: uuid.UUID) -> str:
    return f"{API_PREFIX}/messaging/sms/{organization_id}/inbound"

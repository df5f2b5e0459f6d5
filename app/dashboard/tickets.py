"""Short-lived stream tickets: the browser's EventSource cannot send an Authorization header, and a bearer token
must never travel in a URL (it would land in logs). A ticket is signed with the server's secret, names the
session token by its hash (so revoking the session also ends its tickets) and expires in a minute."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

from app.core.errors import Unauthorized

TICKET_TTL_SECONDS = 60


def _sig(secret: str, payload: bytes) -> str:
    mac = hmac.new(secret.encode(), b"gg-stream-ticket:" + payload, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def issue(secret: str, token_hash: str, *, now: float | None = None) -> tuple[str, int]:
    exp = int((now or time.time()) + TICKET_TTL_SECONDS)
    payload = base64.urlsafe_b64encode(json.dumps({"h": token_hash, "exp": exp}).encode()).rstrip(b"=")
    return f"{payload.decode()}.{_sig(secret, payload)}", exp


def verify(secret: str, ticket: str, *, now: float | None = None) -> str:
    """The session token's hash named by a valid ticket; else 401."""
    try:
        payload, sig = ticket.split(".", 1)
        if not hmac.compare_digest(sig, _sig(secret, payload.encode())):
            raise ValueError("signature")
        data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        if data["exp"] < (now or time.time()):
            raise Unauthorized("Stream ticket expired: ask POST /api/v1/stream/token for a new one.")
        return str(data["h"])
    except Unauthorized:
        raise
    except (ValueError, KeyError, TypeError) as exc:
        raise Unauthorized("Invalid stream ticket.") from exc

"""Web Push delivery: the payload encrypted for the subscription (RFC 8291 aes128gcm, by pywebpush/http_ece),
signed with our VAPID key (RFC 8292), POSTed over httpx. A 404 or 410 from the push service means the
subscription is gone: the caller removes it."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import urlsplit

import httpx
from py_vapid import Vapid02
from pywebpush import WebPusher

from app.config import PushSettings
from app.push.keys import Keys

GONE = frozenset({404, 410})


class PushClient:
    def __init__(self, keys: Keys, settings: PushSettings, client: httpx.AsyncClient | None = None) -> None:
        self.settings = settings
        self.keys = keys
        self.vapid = Vapid02.from_pem(keys.private_pem.encode())
        self.client = client or httpx.AsyncClient(timeout=settings.timeout_s)

    def _vapid_headers(self, endpoint: str) -> dict[str, str]:
        parts = urlsplit(endpoint)
        claims = {
            "aud": f"{parts.scheme}://{parts.netloc}",
            "sub": self.settings.subject,
            "exp": int(time.time()) + 12 * 3600,
        }
        headers: dict[str, str] = self.vapid.sign(claims)
        return headers

    async def send(self, endpoint: str, p256dh: str, auth: str, payload: dict[str, Any]) -> int:
        """Returns the push service's status code (201 accepted; 404/410 gone; others: a failure)."""
        sub = {"endpoint": endpoint, "keys": {"p256dh": p256dh, "auth": auth}}
        body = WebPusher(sub).encode(json.dumps(payload).encode(), "aes128gcm")["body"]
        headers = {
            **self._vapid_headers(endpoint),
            "Content-Encoding": "aes128gcm",
            "Content-Type": "application/octet-stream",
            "TTL": str(self.settings.ttl_s),
            "Urgency": "normal",
        }
        try:
            r = await self.client.post(endpoint, content=body, headers=headers)
        except httpx.HTTPError:
            return 0
        return r.status_code

    async def aclose(self) -> None:
        await self.client.aclose()

"""Pure ASGI middleware: request id + access log, security headers, request size limit."""

from __future__ import annotations

import json
import logging
import time
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.csp import DOCS_CSP, MAP_ORIGINS
from app.core.errors import error_body
from app.core.logging import request_id_var

access = logging.getLogger("groundgame.access")


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, *, max_body_bytes: int, max_upload_bytes: int, hsts: bool) -> None:
        self.app = app
        self.max_body = max_body_bytes
        self.max_upload = max_upload_bytes
        self.hsts = hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        rid = headers.get(b"x-request-id", b"").decode("latin-1")[:64] or uuid.uuid4().hex
        token = request_id_var.set(rid)
        path: str = scope["path"]
        is_upload = headers.get(b"content-type", b"").startswith(b"multipart/")
        limit = self.max_upload if is_upload else self.max_body
        start = time.perf_counter()
        status_holder = {"status": 0}

        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _send_error(send, 413, "payload_too_large", f"Request body over {limit} bytes.", rid)
            request_id_var.reset(token)
            return

        if scope.get("method") == "GET" and not path.startswith(("/api/", "/healthz", "/readyz", "/metrics")):
            app_state = getattr(scope.get("app"), "state", None)
            await MAP_ORIGINS.refresh_if_stale(getattr(app_state, "engine", None))

        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            msg = await receive()
            if msg["type"] == "http.request":
                received += len(msg.get("body", b""))
                if received > limit:
                    raise _TooLarge()
            return msg

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                h = list(message.get("headers", []))
                h.append((b"x-request-id", rid.encode()))
                h.append((b"x-content-type-options", b"nosniff"))
                h.append((b"referrer-policy", b"strict-origin-when-cross-origin"))
                h.append((b"permissions-policy", b"geolocation=(self), camera=(), microphone=()"))
                # A response with its own policy keeps it (a petition page framed by the sites it lists).
                if not any(k.lower() == b"content-security-policy" for k, _ in h):
                    h.append((b"x-frame-options", b"DENY"))
                    csp = DOCS_CSP if path in ("/docs", "/redoc") else MAP_ORIGINS.policy
                    h.append((b"content-security-policy", csp.encode()))
                if self.hsts or scope.get("scheme") == "https":
                    h.append((b"strict-transport-security", b"max-age=31536000; includeSubDomains"))
                message["headers"] = h
            await send(message)

        try:
            await self.app(scope, limited_receive, send_wrapper)
        except _TooLarge:
            if not status_holder["status"]:
                await _send_error(send, 413, "payload_too_large", f"Request body over {limit} bytes.", rid)
                status_holder["status"] = 413
        finally:
            if path not in ("/healthz", "/readyz"):
                access.info(
                    "request",
                    extra={
                        "request_id": rid,
                        "method": scope.get("method"),
                        "path": path,
                        "status": status_holder["status"],
                        "duration_ms": round((time.perf_counter() - start) * 1000, 1),
                    },
                )
            request_id_var.reset(token)


class _TooLarge(Exception):
    pass


async def _send_error(send: Send, status: int, code: str, message: str, rid: str) -> None:
    body = json.dumps(error_body(code, message)).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"x-request-id", rid.encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})

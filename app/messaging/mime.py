"""A campaign's emails as bytes, fast: what does not change from one recipient to the next (From, the MIME
skeleton, a boundary) is prepared once per campaign, and each message is assembled from its rendered parts with
the C encoders (quoted-printable bodies, RFC 2047 subject). The email package takes milliseconds a message,
mostly folding the same headers again; a campaign of 100,000 would spend minutes in it. One-off messages keep
`senders.build_email`; both say the same (tests/messaging/test_mime.py parses one against the other)."""

from __future__ import annotations

import base64
import binascii
import re
import secrets
import uuid
from email.utils import formataddr, parseaddr

from app.config import MessagingSettings
from app.messaging.senders import message_id, with_footer

_SPACE = re.compile(r"[\r\n\t]+")
_WORD_BYTES = 45  # 60 base64 characters: an encoded word of 72, under RFC 2047's 75


def _encode_header(value: str) -> bytes:
    """A header value on one line: as it is when ASCII, else base64 encoded words (never splitting a
    character), folded."""
    value = _SPACE.sub(" ", value)
    if value.isascii() and len(value) < 900:
        return value.encode()
    words: list[str] = []
    chunk: list[str] = []
    size = 0
    for ch in value:
        n = len(ch.encode())
        if size + n > _WORD_BYTES:
            words.append("".join(chunk))
            chunk, size = [], 0
        chunk.append(ch)
        size += n
    words.append("".join(chunk))
    return b"\r\n ".join(b"=?utf-8?b?" + base64.b64encode(w.encode()) + b"?=" for w in words)


def _qp(text: str) -> bytes:
    body = text.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\r\n")
    return binascii.b2a_qp(body.encode(), istext=True)


class Composer:
    """One campaign's sender: `compose(…)` → the message's bytes, sent from `sender` (the envelope's)."""

    def __init__(self, settings: MessagingSettings, organization_id: uuid.UUID | None) -> None:
        name, addr = parseaddr(settings.mail_from)
        self.sender = addr
        self.domain = addr.rsplit("@", 1)[-1] if "@" in addr else "localhost"
        self.organization_id = organization_id
        self.head = b"From: " + formataddr((name, addr), charset="utf-8").encode() + b"\r\nMIME-Version: 1.0\r\n"
        self.boundary = f"=_{secrets.token_hex(16)}".encode()  # "=_" never occurs in quoted-printable

    def message_id(self) -> str:
        return message_id(self.domain, self.organization_id)

    def compose(
        self, *, to: str, subject: str, html: str, text: str, unsubscribe_url: str | None, message_id: str
    ) -> bytes:
        text, html = with_footer(text, html, unsubscribe_url)
        out = [
            self.head,
            b"To: " + _encode_header(to) + b"\r\n",
            b"Subject: " + _encode_header(subject) + b"\r\n",
            b"Message-ID: " + message_id.encode() + b"\r\n",
        ]
        if unsubscribe_url:
            out.append(b"List-Unsubscribe: <" + _encode_header(unsubscribe_url) + b">\r\n")
            out.append(b"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n")
        plain = b'Content-Type: text/plain; charset="utf-8"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n'
        if not html:
            out += [plain, _qp(text or " "), b"\r\n"]
            return b"".join(out)
        b = self.boundary
        out += [
            b'Content-Type: multipart/alternative; boundary="' + b + b'"\r\n\r\n',
            b"--" + b + b"\r\n" + plain + _qp(text or " ") + b"\r\n",
            b"--" + b + b"\r\n"
            b'Content-Type: text/html; charset="utf-8"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n'
            + _qp(html)
            + b"\r\n",
            b"--" + b + b"--\r\n",
        ]
        return b"".join(out)

"""A campaign's fast composer says what the email package says: same headers, same parts once decoded."""

from __future__ import annotations

import uuid
from email import message_from_bytes, policy
from email.message import EmailMessage

from app.config import MessagingSettings
from app.messaging.mime import Composer
from app.messaging.senders import build_email

SETTINGS = MessagingSettings(mail_from="Echipa Ștefan <hq@groundgame.test>")
SUBJECT = "Mulțumim, Ana-Maria Ștefănescu din București, pentru tot ce ați făcut în cartierul nostru!"


def _both(**kw: str) -> tuple[EmailMessage, EmailMessage]:
    org = uuid.uuid4()
    url = "https://gg.example/u/tok"
    fast = Composer(SETTINGS, org).compose(unsubscribe_url=url, message_id="<a.b@groundgame.test>", **kw)
    slow = build_email(SETTINGS, unsubscribe_url=url, organization_id=org, **kw)
    a = message_from_bytes(fast, policy=policy.default)
    b = message_from_bytes(slow.as_bytes(), policy=policy.default)
    return a, b


def test_the_composed_email_parses_like_the_email_packages() -> None:
    fast, slow = _both(
        to="ana@example.org",
        subject=SUBJECT,
        html="<p>Dragă Ana,</p>\n<p>" + "foarte " * 40 + "mulțumim = 100%.</p>\n.\n",
        text="Dragă Ana,\n\n" + "foarte " * 40 + "\n.\nmulțumim = 100%",
    )
    for h in ("From", "To", "Subject", "List-Unsubscribe", "List-Unsubscribe-Post"):
        assert str(fast[h]) == str(slow[h]), h
    for kind in ("plain", "html"):
        a = fast.get_body((kind,)).get_content()  # type: ignore[union-attr]
        b = slow.get_body((kind,)).get_content()  # type: ignore[union-attr]
        assert a.replace("\r\n", "\n").rstrip("\n") == b.replace("\r\n", "\n").rstrip("\n"), kind
    assert str(fast["Subject"]) == SUBJECT


def test_a_line_break_in_a_rendered_subject_cannot_add_a_header() -> None:
    raw = Composer(SETTINGS, None).compose(
        to="ana@example.org",
        subject="Hi\r\nBcc: x@evil.test",
        html="",
        text="x",
        unsubscribe_url=None,
        message_id="<m@x>",
    )
    fast = message_from_bytes(raw, policy=policy.default)
    assert fast["Bcc"] is None and str(fast["Subject"]) == "Hi Bcc: x@evil.test"

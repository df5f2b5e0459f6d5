"""Which email addresses we accept: any syntactically valid one.

Pydantic's `EmailStr` (used by every schema) calls email-validator with deliverability checks off, but the
library still refuses special-use and reserved domains (`.test`, `.local`, `.localhost`, `.invalid`…) and
dotless domains. Those are real addresses for testing and private deployments, and we never send from a
validation, so the rule is set here, once, as the library's defaults (read at every call)."""

from __future__ import annotations

import email_validator


def accept_any_syntactically_valid_address() -> None:
    email_validator.CHECK_DELIVERABILITY = False
    email_validator.GLOBALLY_DELIVERABLE = False
    email_validator.TEST_ENVIRONMENT = True
    email_validator.SPECIAL_USE_DOMAIN_NAMES = []


accept_any_syntactically_valid_address()

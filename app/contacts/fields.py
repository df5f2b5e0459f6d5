"""The one list of contact fields that files exchange with us: what an import may map a column to, what an export
may write, and the `contacts` column behind each. Imports and exports build their SQL only from these names (and
from custom-field keys checked against KEY_RE), never from what a request sends.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import String

from app.models import Contact


@dataclass(frozen=True)
class ContactField:
    name: str  # as imports, exports and the API call it
    column: str | None  # the `contacts` column holding it (None: derived, e.g. full_name, lat/lon)
    imported: bool = True
    exported: bool = True

    @property
    def max_length(self) -> int | None:
        """The column's width, for the text columns an import fills as they come."""
        if self.column is None:
            return None
        t = Contact.__table__.columns[self.column].type
        return t.length if isinstance(t, String) else None


FIELDS: tuple[ContactField, ...] = (
    ContactField("id", "id", imported=False),
    ContactField("first_name", "first_name"),
    ContactField("last_name", "last_name"),
    ContactField("full_name", None, exported=False),
    ContactField("mobile", "mobile_raw"),  # imported raw (normalized on the way); exported as E.164
    ContactField("home_phone", "home_raw"),
    ContactField("email", "email"),
    ContactField("street", "street"),
    ContactField("number", "street_number"),
    ContactField("building", "building"),
    ContactField("postal_code", "postal_code"),
    ContactField("city", "city"),
    ContactField("country", "country"),
    ContactField("lat", None),
    ContactField("lon", None),
    ContactField("birth_year", "birth_year"),
    ContactField("birth_date", "birth_date", exported=False),
    ContactField("gender", "gender", exported=False),
    ContactField("language", "language", exported=False),
    ContactField("support_level", "support_level"),
    ContactField("tags", "tags"),
    ContactField("donor", "is_donor"),
    ContactField("volunteer", "is_volunteer"),
    ContactField("member", "is_member"),
    ContactField("consent_email", "consent_email", imported=False),
    ContactField("consent_sms", "consent_sms", imported=False),
    ContactField("consent_phone", "consent_phone", imported=False),
    ContactField("created_at", "created_at", imported=False),
)
BY_NAME = {f.name: f for f in FIELDS}
IMPORTED: tuple[str, ...] = tuple(f.name for f in FIELDS if f.imported)
EXPORTED: tuple[str, ...] = tuple(f.name for f in FIELDS if f.exported)
KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")  # a custom field's key (CustomFieldCreate.key)
CUSTOM = "custom:"


def is_importable(name: str) -> bool:
    """A known field, or `custom:<key>` with a well-formed key (the caller checks the key exists)."""
    return name in IMPORTED or (name.startswith(CUSTOM) and bool(KEY_RE.fullmatch(name[len(CUSTOM) :])))


def checked(name: str) -> str:
    """`name`, after checking it may go into an import's SQL as part of an identifier."""
    if not is_importable(name):
        raise ValueError(f"not a contact field: {name!r}")
    return name

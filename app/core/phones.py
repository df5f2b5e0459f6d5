"""Phone numbers to E.164 with the `phonenumbers` library.

Single writes use the library directly. Bulk imports normalize in SQL (app/imports/fastpath.py) with the
library's own metadata (country codes, national prefixes and number patterns, `metadata_rows`), tested to agree
with the library.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import phonenumbers
from phonenumbers import NumberParseException, PhoneMetadata, PhoneNumberFormat, PhoneNumberType


@dataclass(frozen=True)
class Normalized:
    e164: str
    is_mobile: bool


class InvalidPhone(ValueError):
    pass


def normalize(raw: str, region: str) -> Normalized:
    try:
        num = phonenumbers.parse(raw, region)
    except NumberParseException as e:
        raise InvalidPhone(str(e)) from e
    if not phonenumbers.is_valid_number(num):
        raise InvalidPhone("not a valid phone number")
    kind = phonenumbers.number_type(num)
    return Normalized(
        phonenumbers.format_number(num, PhoneNumberFormat.E164),
        kind in (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE),
    )


_TYPE_DESCS = (
    "fixed_line",
    "mobile",
    "toll_free",
    "premium_rate",
    "shared_cost",
    "personal_number",
    "voip",
    "pager",
    "uan",
    "voicemail",
)


@lru_cache(maxsize=1)
def metadata_rows() -> list[tuple[int, str, str, str]]:
    """(country code, national prefix, valid-number pattern, mobile pattern) per country code."""
    by_cc: dict[int, tuple[str, list[str], list[str]]] = {}
    for region in phonenumbers.SUPPORTED_REGIONS:
        md = PhoneMetadata.metadata_for_region(region)
        if md is None or md.country_code is None:
            continue
        valid = [
            getattr(md, d).national_number_pattern
            for d in _TYPE_DESCS
            if getattr(md, d, None) is not None and getattr(md, d).national_number_pattern
        ]
        mobile = [md.mobile.national_number_pattern] if md.mobile and md.mobile.national_number_pattern else []
        prefix, v, m = by_cc.setdefault(md.country_code, (md.national_prefix or "", [], []))
        v.extend(valid)
        m.extend(mobile)
    out = []
    for cc, (prefix, v, m) in by_cc.items():
        if v:
            out.append(
                (
                    cc,
                    prefix,
                    "^(?:" + "|".join(f"(?:{p})" for p in v) + ")$",
                    "^(?:" + "|".join(f"(?:{p})" for p in m) + ")$" if m else "^$",
                )
            )
    return out


def country_code(region: str) -> int:
    return int(phonenumbers.country_code_for_region(region))


def national_prefix(region: str) -> str:
    md = PhoneMetadata.metadata_for_region(region)
    return (md.national_prefix or "") if md else ""

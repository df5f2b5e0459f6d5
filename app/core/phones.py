"""Phone numbers to E.164 with the `phonenumbers` library.

Single writes use the library directly. Bulk imports normalize inside PostgreSQL: the library's own
metadata (country codes, national prefixes and the number patterns of every region) is loaded into a
temporary table, and a set-based statement applies the same rules to every staged row.
"""

from __future__ import annotations

from dataclasses import dataclass

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


PHONE_SQL_SETUP = [
    """CREATE TEMP TABLE IF NOT EXISTS gg_phone_meta (
         cc text PRIMARY KEY, national_prefix text, valid_re text, mobile_re text)""",
    """CREATE OR REPLACE FUNCTION pg_temp.gg_phone_e164(raw text, default_cc text, default_prefix text)
       RETURNS text LANGUAGE plpgsql STABLE AS $$
       DECLARE d text; intl text; v_cc text; nsn text; re text;
       BEGIN
         IF raw IS NULL OR btrim(raw) = '' THEN RETURN NULL; END IF;
         d := regexp_replace(raw, '[^0-9+]', '', 'g');
         IF left(d, 1) = '+' THEN intl := regexp_replace(d, '[^0-9]', '', 'g');
         ELSIF left(d, 2) = '00' THEN intl := substr(d, 3);
         END IF;
         IF intl IS NOT NULL THEN
           SELECT m.cc INTO v_cc FROM gg_phone_meta m
             WHERE m.cc IN (left(intl, 1), left(intl, 2), left(intl, 3)) LIMIT 1;
           IF v_cc IS NULL THEN RETURN NULL; END IF;
           nsn := substr(intl, length(v_cc) + 1);
         ELSE
           d := regexp_replace(d, '[^0-9]', '', 'g');
           v_cc := default_cc;
           IF default_prefix <> '' AND left(d, length(default_prefix)) = default_prefix THEN
             nsn := substr(d, length(default_prefix) + 1);
           ELSE
             nsn := d;
           END IF;
         END IF;
         SELECT m.valid_re INTO re FROM gg_phone_meta m WHERE m.cc = v_cc;
         IF re IS NULL OR nsn !~ re THEN RETURN NULL; END IF;
         RETURN '+' || v_cc || nsn;
       END $$""",
]

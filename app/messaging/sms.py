"""SMS length: GSM-7 (160 characters in one message, 153 per part when split) unless one character is outside
it, then UCS-2 (70, or 67 per part; counted in UTF-16 units). Romanian ș ț ă î â are not GSM-7."""

from __future__ import annotations

import math
from dataclasses import dataclass

GSM7_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENDED = "^{}\\[~]|€\f"  # two septets each (escape + character)
_BASIC = frozenset(GSM7_BASIC)
_EXT = frozenset(GSM7_EXTENDED)
MAX_SEGMENTS = 10


@dataclass(frozen=True)
class SmsLength:
    encoding: str  # "GSM-7" or "UCS-2"
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)
    segments: int
    per_segment: int  # the capacity of each part at this length (160/153 or 70/67)


def measure(text: str) -> SmsLength:
    if all(ch in _BASIC or ch in _EXT for ch in text):
        units = sum(2 if ch in _EXT else 1 for ch in text)
        single, multi, enc = 160, 153, "GSM-7"
    else:
        units = len(text.encode("utf-16-le")) // 2
        single, multi, enc = 70, 67, "UCS-2"
    if units == 0:
        return SmsLength(enc, 0, 0, single)
    if units <= single:
        return SmsLength(enc, units, 1, single)
    return SmsLength(enc, units, math.ceil(units / multi), multi)

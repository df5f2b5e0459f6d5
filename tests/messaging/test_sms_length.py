from __future__ import annotations

import pytest

from app.messaging.sms import measure


@pytest.mark.parametrize(
    ("text", "encoding", "units", "segments"),
    [
        ("", "GSM-7", 0, 0),
        ("a" * 160, "GSM-7", 160, 1),
        ("a" * 161, "GSM-7", 161, 2),
        ("a" * 306, "GSM-7", 306, 2),
        ("a" * 307, "GSM-7", 307, 3),
        ("€" * 80, "GSM-7", 160, 1),  # an extension character takes two septets
        ("€" * 81, "GSM-7", 162, 2),
        ("ș" + "a" * 69, "UCS-2", 70, 1),  # one Romanian diacritic switches the whole text to UCS-2
        ("ț" + "a" * 70, "UCS-2", 71, 2),
        ("ă" * 134, "UCS-2", 134, 2),
        ("î" * 135, "UCS-2", 135, 3),
        ("â" * 70, "UCS-2", 70, 1),
        ("👋" * 35, "UCS-2", 70, 1),  # outside the BMP: two UTF-16 units
    ],
)
def test_segments_follow_gsm7_160_153_and_ucs2_70_67(text: str, encoding: str, units: int, segments: int) -> None:
    n = measure(text)
    assert (n.encoding, n.units, n.segments) == (encoding, units, segments)
    if segments > 1:
        assert n.per_segment == (153 if encoding == "GSM-7" else 67)

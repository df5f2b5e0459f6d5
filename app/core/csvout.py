"""Every CSV we hand out goes through `safe_writer`: a cell a spreadsheet would run as a formula (one starting with
=, +, -, @, a tab or a carriage return: OWASP's list) is written with a leading apostrophe, so it shows as text.
A plain number (-12.5, +40722123456: our phone numbers are E.164) cannot carry a formula and is left as it is."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from typing import Any, Protocol

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?[0-9]+(\.[0-9]+)?")


class _Text(Protocol):
    def write(self, s: str, /) -> int: ...


def safe_cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_START) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


class SafeWriter:
    def __init__(self, out: _Text, **kw: Any) -> None:
        self._w = csv.writer(out, **kw)

    def writerow(self, row: Iterable[Any]) -> None:
        self._w.writerow([safe_cell(v) for v in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        self._w.writerows([safe_cell(v) for v in row] for row in rows)


def safe_writer(out: _Text, **kw: Any) -> SafeWriter:
    """csv.writer(out, **kw), with formula-looking cells neutralised."""
    return SafeWriter(out, **kw)

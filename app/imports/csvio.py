"""Reading uploaded CSVs: encoding and delimiter detection, header and sample rows (for the mapping UI)."""

from __future__ import annotations

import codecs
import csv
import io
from dataclasses import dataclass
from pathlib import Path

from app.core.errors import Unprocessable

ENCODINGS = ("utf-8", "utf-8-sig", "latin-1", "windows-1250")
# Bytes that are Romanian letters in Windows-1250 (ş ţ Ş Ţ š ž …) but symbols in Latin-1.
_CP1250_HINTS = {0xBA, 0xFE, 0xAA, 0xDE, 0x9A, 0x9E, 0x8A, 0x8E, 0xB9, 0xA5}
csv.field_size_limit(1 << 20)


class BadCsv(Unprocessable):
    code = "invalid_csv"
    message = "The file is not a CSV we can read."


@dataclass(frozen=True)
class Sniffed:
    encoding: str
    delimiter: str
    headers: list[str]
    sample: list[list[str]]


def detect_encoding(head: bytes) -> str:
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    try:
        head.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as e:
        if e.start > len(head) - 4:  # a multibyte character cut by the sample's end
            return "utf-8"
    if any(b in _CP1250_HINTS for b in head):
        return "windows-1250"
    return "latin-1"


def detect_delimiter(first_line: str) -> str:
    counts = {d: first_line.count(d) for d in (",", ";", "\t", "|")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","


def sniff(path: Path, *, encoding: str | None = None, delimiter: str | None = None, sample_rows: int = 5) -> Sniffed:
    with path.open("rb") as f:
        head = f.read(64 * 1024)
    if not head.strip():
        raise BadCsv("The file is empty.", details=[{"field": "file", "message": "empty file"}])
    if b"\x00" in head:
        raise BadCsv("This is not a CSV file (binary content).", details=[{"field": "file", "message": "binary"}])
    enc = encoding or detect_encoding(head)
    if enc not in ENCODINGS:
        raise BadCsv(f"Unsupported encoding {enc}.", details=[{"field": "encoding", "message": "unsupported"}])
    text = head.decode(enc, errors="replace")
    first_line = text.splitlines()[0] if text.splitlines() else ""
    delim = delimiter or detect_delimiter(first_line)
    reader = csv.reader(io.StringIO(text), delimiter=delim)
    try:
        headers = [h.strip() for h in next(reader)]
    except (StopIteration, csv.Error) as e:
        raise BadCsv("The header row cannot be read.", details=[{"field": "file", "message": str(e)}]) from e
    if len(headers) < 1 or all(not h for h in headers):
        raise BadCsv("The header row is empty.", details=[{"field": "file", "message": "no header"}])
    sample = []
    for _ in range(sample_rows):
        try:
            sample.append(next(reader))
        except (StopIteration, csv.Error):
            break
    return Sniffed(enc, delim, headers, sample)

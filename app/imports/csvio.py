"""Reading uploaded CSVs: encoding and delimiter detection, header and sample rows (for the mapping UI)."""

from __future__ import annotations

import codecs
import csv
import io
import shutil
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


def utf16(head: bytes) -> str | None:
    """ "utf-16" (with a BOM), "utf-16-le" / "utf-16-be" (without: text with a NUL beside every ASCII byte), or
    None. Spreadsheets save "Unicode text" that way."""
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    even, odd = head[0::2], head[1::2]
    if len(head) >= 4 and even.count(0) == 0 and odd.count(0) > len(odd) // 2:
        return "utf-16-le"
    if len(head) >= 4 and odd.count(0) == 0 and even.count(0) > len(even) // 2:
        return "utf-16-be"
    return None


def to_utf8(path: Path) -> str | None:
    """A UTF-16 file is rewritten as UTF-8 in place (PostgreSQL reads no UTF-16); returns the encoding it had."""
    with path.open("rb") as f:
        enc = utf16(f.read(4096))
    if enc is None:
        return None
    tmp = path.with_name(path.name + ".utf8")
    try:
        with path.open("r", encoding=enc, newline="") as src, tmp.open("w", encoding="utf-8", newline="") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
    except UnicodeDecodeError as e:
        tmp.unlink(missing_ok=True)
        raise BadCsv(
            "The file looks like UTF-16 text but is not valid UTF-16.",
            details=[{"field": "file", "message": f"invalid UTF-16 at byte {e.start}"}],
        ) from e
    tmp.replace(path)
    return enc


def _decodes(head: bytes, enc: str) -> bool:
    try:
        head.decode(enc)
    except UnicodeDecodeError as e:
        return enc.startswith("utf-8") and e.start > len(head) - 4  # a character cut by the sample's end
    return True


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
    if not _decodes(head, enc):  # a forced encoding the bytes contradict: nothing would be stored right
        found = detect_encoding(head)
        raise BadCsv(
            f"The file is not valid {enc}: it looks like {found}. Choose {found}, or leave the encoding empty.",
            details=[{"field": "encoding", "message": f"not valid {enc}; detected {found}"}],
        )
    text = head.decode(enc, errors="replace")  # only a character cut by the sample's end is replaced
    first_line = text.splitlines()[0] if text.splitlines() else ""
    delim = delimiter or detect_delimiter(first_line)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delim)  # any line ending: \n, \r\n or \r
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

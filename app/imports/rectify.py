"""For files PostgreSQL's CSV parser refuses (ragged rows, broken quotes, blank lines): every record is re-emitted
as a well-formed CSV row of exactly the header's width followed by its line number, and, for a bad line, the
reason and the line as read. COPY then takes that stream, and the rest of the import is the same SQL as for a
clean file. Runs chunk by chunk in a thread: memory stays flat.

Most lines of such a file are fine: a line that is a well-formed record of the right width (no quote and the
right number of delimiters, or else one regular expression, read the same way by PostgreSQL's parser) is passed
through as it is; only the others go through Python's csv reader, which also follows quoted fields across lines."""

from __future__ import annotations

import csv
import io
import itertools
import re
from collections.abc import Iterator
from pathlib import Path

csv.field_size_limit(1 << 20)  # as the upload preview reads them
CHUNK_LINES = 10_000  # about 1.5 MB of CSV: two chunks in flight keep the worker's memory flat


def record_pattern(delimiter: str, width: int) -> re.Pattern[str]:
    """A whole line holding exactly `width` fields, each unquoted (no quote, delimiter or line break) or quoted."""
    d = re.escape(delimiter)
    field = f'(?:"(?:[^"]|"")*"|[^"{d}\\r\\n]*)'
    return re.compile(f"{field}(?:{d}{field}){{{width - 1}}}\\r?\\n?")


def chunks(path: Path, encoding: str, delimiter: str, width: int) -> Iterator[tuple[bytes, int]]:
    """(UTF-8 CSV bytes, records in it): columns c0 … c{width-1}, line_no, reject, raw; `delimiter`-separated."""
    good = record_pattern(delimiter, width).fullmatch
    separators = width - 1
    pad = [""] * width
    blank = delimiter + ' "\r\n'
    buf = io.StringIO()
    out = csv.writer(buf, delimiter=delimiter, lineterminator="\n")
    write = buf.write
    with path.open("r", encoding=encoding, errors="replace", newline="") as f:
        lines = iter(f)
        if next(lines, None) is None:  # the header
            return
        line_no = 1
        n = 0
        for text in lines:
            line_no += 1
            if ('"' not in text and text.count(delimiter) == separators) or good(text):
                if text.strip(blank):  # not a blank line
                    write(f"{text.rstrip(chr(13) + chr(10))}{delimiter}{line_no}{delimiter}{delimiter}\n")
                    n += 1
            else:
                first = line_no
                reader = csv.reader(itertools.chain([text], lines), delimiter=delimiter, strict=True)
                try:
                    row = next(reader)
                except StopIteration:
                    break
                except csv.Error as e:
                    out.writerow([*pad, first, f"unreadable line: {e}", ""])
                    n += 1
                else:
                    if row and any(x.strip() for x in row):
                        reason = f"wrong number of columns: {len(row)} instead of {width}" if len(row) != width else ""
                        raw = delimiter.join(row)[:2000] if reason else ""
                        out.writerow([*(row + pad)[:width], first, reason, raw])
                        n += 1
                line_no = first + reader.line_num - 1
            if n >= CHUNK_LINES:
                yield _take(buf), n
                n = 0
        if n:
            yield _take(buf), n


def _take(buf: io.StringIO) -> bytes:
    text = buf.getvalue()
    buf.seek(0)
    buf.truncate()
    if "\x00" in text:  # PostgreSQL text cannot hold NUL
        text = text.replace("\x00", "")
    return text.encode("utf-8")

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
import re
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from app.imports.csvio import detect_encoding

csv.field_size_limit(1 << 20)  # as the upload preview reads them
CHUNK_LINES = 10_000  # about 1.5 MB of CSV: two chunks in flight keep the worker's memory flat


def record_pattern(delimiter: str, width: int) -> re.Pattern[str]:
    """A whole line holding exactly `width` fields, each unquoted (no quote, delimiter or line break) or quoted."""
    d = re.escape(delimiter)
    field = f'(?:"(?:[^"]|"")*"|[^"{d}\\r\\n]*)'
    return re.compile(f"{field}(?:{d}{field}){{{width - 1}}}\\r?\\n?")


def physical_lines(f: BinaryIO, encoding: str) -> Iterator[tuple[str, str | None]]:
    """Each line of the file (ended by \n, \r\n or a lone \r, as old spreadsheets save), decoded: (text, None),
    or for a line whose bytes are not valid in `encoding`, (the line with its bad bytes escaped, the reason). A
    replacement character is never made up."""
    codec = "utf-8" if encoding == "utf-8-sig" else encoding
    # Latin-1 maps every byte to one character and back: the universal-newline split of the bytes themselves.
    for raw in io.TextIOWrapper(f, encoding="latin-1", newline=""):
        data = raw.encode("latin-1")
        try:
            yield data.decode(codec), None
        except UnicodeDecodeError:
            found = detect_encoding(data)
            yield (
                data.decode(codec, errors="backslashreplace"),
                f"not valid {encoding} (this line looks like {found}: choose that encoding)",
            )


def chunks(path: Path, encoding: str, delimiter: str, width: int) -> Iterator[tuple[bytes, int]]:
    """(UTF-8 CSV bytes, records in it): columns c0 … c{width-1}, line_no, reject, raw; `delimiter`-separated.

    A quote that opens a field and is not closed where a record of the right width would end (an unbalanced
    quote) rejects its own line only: the lines it swallowed are read again, one by one."""
    good = record_pattern(delimiter, width).fullmatch
    separators = width - 1
    pad = [""] * width
    blank = delimiter + ' "\r\n'
    buf = io.StringIO()
    out = csv.writer(buf, delimiter=delimiter, lineterminator="\n")
    write = buf.write
    with path.open("rb") as f:
        physical = physical_lines(f, encoding)
        again: deque[tuple[str, str | None]] = deque()  # lines read by a record that was then undone

        def pull() -> tuple[str, str | None] | None:
            return again.popleft() if again else next(physical, None)

        if pull() is None:  # the header
            return
        line_no = 1
        n = 0
        while (item := pull()) is not None:
            text, bad = item
            line_no += 1
            if bad is not None:
                out.writerow([*pad, line_no, bad, _line(text)])
                n += 1
            elif ('"' not in text and text.count(delimiter) == separators) or good(text):
                if text.strip(blank):  # not a blank line
                    write(f"{text.rstrip(chr(13) + chr(10))}{delimiter}{line_no}{delimiter}{delimiter}\n")
                    n += 1
            else:
                taken = [text]

                def feed(first: str = text, taken: list[str] = taken) -> Iterator[str]:
                    yield first
                    while (nxt := pull()) is not None:
                        if nxt[1] is not None:  # an undecodable line ends the record; it is rejected on its own
                            again.appendleft(nxt)
                            return
                        taken.append(nxt[0])
                        yield nxt[0]

                reader = csv.reader(feed(), delimiter=delimiter, strict=True)
                row: list[str] | None
                try:
                    row, error = next(reader), ""
                except StopIteration:
                    break
                except csv.Error as e:
                    row, error = None, str(e)
                if len(taken) > 1 and (row is None or len(row) != width):
                    out.writerow([*pad, line_no, "unbalanced quote: the line is read up to its end", _line(text)])
                    n += 1
                    again.extendleft((t, None) for t in reversed(taken[1:]))
                elif row is None:
                    out.writerow([*pad, line_no, f"unreadable line: {error}", _line("".join(taken))])
                    n += 1
                    line_no += len(taken) - 1
                else:
                    if row and any(x.strip() for x in row):
                        if len(taken) > 1:  # a line break inside a quoted field: one form (COPY is given \n lines)
                            row = [x.replace("\r\n", "\n").replace("\r", "\n") for x in row]
                        reason = f"wrong number of columns: {len(row)} instead of {width}" if len(row) != width else ""
                        raw = _line("".join(taken)) if reason else ""
                        out.writerow([*(row + pad)[:width], line_no, reason, raw])
                        n += 1
                    line_no += len(taken) - 1
            if n >= CHUNK_LINES:
                yield _take(buf), n
                n = 0
        if n:
            yield _take(buf), n


def _line(text: str) -> str:
    return text.rstrip("\r\n")[:2000]


def _take(buf: io.StringIO) -> bytes:
    text = buf.getvalue()
    buf.seek(0)
    buf.truncate()
    if "\x00" in text:  # PostgreSQL text cannot hold NUL
        text = text.replace("\x00", "")
    return text.encode("utf-8")

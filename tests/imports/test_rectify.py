"""The lenient re-read of files COPY refuses: every record comes out with exactly the header's width, its line
number, and for a bad line the reason and the line as read."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from app.imports import rectify


def _records(path: Path, width: int, delimiter: str = ",") -> list[list[str]]:
    out: list[list[str]] = []
    for data, n in rectify.chunks(path, "utf-8", delimiter, width):
        rows = list(csv.reader(io.StringIO(data.decode()), delimiter=delimiter))
        assert len(rows) == n
        out += rows
    return out


def test_good_lines_pass_through_and_bad_ones_carry_their_reason(tmp_path: Path) -> None:
    f = tmp_path / "in.csv"
    f.write_text(
        "a,b,c\n"
        'Ana,"Bl. 4, Sc. 1",x\n'  # quoted delimiter: passed through as it is
        "short,row\n"  # ragged
        "\n"  # blank: skipped
        'Ion,"two\nlines",y\n'  # a quoted field across lines
        'Maria,"say ""hi""",z\r\n'  # doubled quotes, CRLF
        'O"Brien,mid,quote\n'  # a quote inside an unquoted field: not passed through, read by csv
        "too,many,fields,here\n",
        encoding="utf-8",
    )
    rows = _records(f, 3)
    assert [r[:4] for r in rows] == [
        ["Ana", "Bl. 4, Sc. 1", "x", "2"],
        ["short", "row", "", "3"],
        ["Ion", "two\nlines", "y", "5"],
        ["Maria", 'say "hi"', "z", "7"],
        ['O"Brien', "mid", "quote", "8"],
        ["too", "many", "fields", "9"],
    ]
    reasons = {r[3]: r[4] for r in rows}
    assert reasons["3"] == "wrong number of columns: 2 instead of 3"
    assert reasons["9"] == "wrong number of columns: 4 instead of 3"
    assert all(not reasons[k] for k in ("2", "5", "7", "8"))
    assert rows[1][5] == "short,row"


def test_the_pass_through_pattern_agrees_with_the_csv_module(tmp_path: Path) -> None:
    pattern = rectify.record_pattern(";", 4)
    samples = ["a;b;c;d\n", 'a;"b;c";"";d\n', '"x""y";;;\n', "a;b;c\n", 'a;b"c;d;e\n', '"open;b;c;d\n']
    for s in samples:
        if pattern.fullmatch(s):
            assert len(next(csv.reader([s], delimiter=";"))) == 4, s
    assert not pattern.fullmatch('a;b"c;d;e\n')
    assert not pattern.fullmatch('"open;b;c;d\n')
    assert not pattern.fullmatch("a;b;c\n")

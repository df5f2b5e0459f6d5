"""Imports through the real API, a real arq worker and real PostGIS."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import set_tenant
from app.models import ConsentLog, Contact
from tests.fixtures.factories import Actor, make_actor, make_org

pytestmark = pytest.mark.usefixtures("arq_worker")

HEADER = ["Prenume", "Nume", "Telefon mobil", "Email", "Strada", "Nr", "Localitate", "lat", "lon", "An nastere", "tags"]
ROWS = [
    [
        "Ștefan",
        "Țurcanu",
        "0722 123 456",
        "stefan@example.org",
        "Strada Școlii",
        "3",
        "București",
        "44.43",
        "26.10",
        "1960",
        "pensions",
    ],
    ["Ana", "Pop", "0040-733-111-222", "", "Bd. Unirii", "10", "București", "44,42", "26,11", "1990", "youth|students"],
    ["Bad", "Phone", "12345", "", "", "", "", "", "", "", ""],
    ["Bad", "Email", "", "not-an-email", "", "", "", "", "", "", ""],
    ["Dup", "InFile", "+40722123456", "", "", "", "", "", "", "", ""],
    ["Şerban", "Cedilla", "", "serban@example.org", "Strada Ţepeş", "1", "Iaşi", "", "", "", ""],
]


def _csv(rows: list[list[str]], *, delimiter: str = ",", encoding: str = "utf-8") -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=delimiter)
    w.writerow(HEADER)
    w.writerows(rows)
    return buf.getvalue().encode(encoding)


MAPPING = {
    "first_name": "Prenume",
    "last_name": "Nume",
    "mobile": "Telefon mobil",
    "email": "Email",
    "street": "Strada",
    "number": "Nr",
    "city": "Localitate",
    "lat": "lat",
    "lon": "lon",
    "birth_year": "An nastere",
    "tags": "tags",
}


async def _manager(live_db: AsyncSession) -> Actor:
    org = await make_org(live_db)
    m = await make_actor(live_db, org, "manager")
    await live_db.commit()
    return m


async def _run(client: AsyncClient, m: Actor, data: bytes, **form: str) -> dict[str, Any]:
    r = await client.post(
        "/api/v1/imports",
        headers=m.headers,
        files={"file": ("voters.csv", data, "text/csv")},
        data={"mapping": json.dumps(MAPPING), **form},
    )
    assert r.status_code == 202, r.text
    iid = r.json()["id"]
    for _ in range(200):
        body = (await client.get(f"/api/v1/imports/{iid}", headers=m.headers)).json()
        if body["status"] in ("done", "failed", "cancelled"):
            return dict(body)
        await asyncio.sleep(0.1)
    raise AssertionError("import did not finish")


async def _contacts(live_db: AsyncSession, m: Actor) -> list[Contact]:
    await live_db.rollback()
    await set_tenant(live_db, m.org.id)
    return list(
        (
            await live_db.scalars(
                select(Contact).where(Contact.organization_id == m.org.id).order_by(Contact.last_name)
            )
        ).all()
    )


async def test_import_rejects_bad_rows_with_reasons_and_imports_the_rest(
    live_client: AsyncClient, live_db: AsyncSession
) -> None:
    m = await _manager(live_db)
    result = await _run(
        live_client,
        m,
        _csv(ROWS),
        default_tags="import-2026",
        consent_source="Signup sheet, fair 2026",
        consent_channels="sms",
    )
    assert result["status"] == "done", result
    assert result["phase"] is None and result["rows_done"] == result["rows_total"] == 6
    assert (result["created"], result["rejected"], result["skipped"]) == (3, 2, 1)
    people = await _contacts(live_db, m)
    by_last = {c.last_name: c for c in people}
    assert set(by_last) == {"Țurcanu", "Pop", "Cedilla"}
    s = by_last["Țurcanu"]
    assert s.first_name == "Ștefan" and s.street == "Strada Școlii"  # comma forms survive
    assert by_last["Cedilla"].first_name == "Şerban" and by_last["Cedilla"].city == "Iaşi"  # cedilla forms survive
    assert s.mobile_e164 == "+40722123456" and s.mobile_raw == "0722 123 456"
    assert sorted(s.tags) == ["import-2026", "pensions"]
    assert sorted(by_last["Pop"].tags) == ["import-2026", "students", "youth"]
    assert s.consent_sms == "granted" and s.source == "import"
    assert (
        await live_db.scalar(select(func.count()).select_from(ConsentLog).where(ConsentLog.organization_id == m.org.id))
        == 3
    )
    rej = await live_client.get(f"/api/v1/imports/{result['id']}/rejected", headers=m.headers)
    lines = list(csv.reader(io.StringIO(rej.text.lstrip("\ufeff"))))
    assert lines[0] == ["line", "reason", "row"]
    assert {(r[0], r[1]) for r in lines[1:]} == {
        ("4", "mobile: not a valid phone number"),
        ("5", "email: not a valid email address"),
    }


async def test_reimporting_the_same_file_adds_nothing(live_client: AsyncClient, live_db: AsyncSession) -> None:
    m = await _manager(live_db)
    await _run(live_client, m, _csv(ROWS))
    again = await _run(live_client, m, _csv(ROWS))
    assert again["created"] == 0
    assert len(await _contacts(live_db, m)) == 3


async def test_a_contact_matched_by_several_lines_takes_the_strongest_and_keyless_rows_match_on_name_and_address(
    live_client: AsyncClient, live_db: AsyncSession
) -> None:
    m = await _manager(live_db)
    base = [
        ["Ion", "Vasile", "0722000001", "ion@example.org", "Strada Mare", "1", "Cluj", "", "", "1970", ""],
        ["Maria", "Dinu", "", "", "Strada Mică", "2", "Cluj", "", "", "", ""],
    ]
    await _run(live_client, m, _csv(base))
    # Lines 2 and 3 both match Ion (by email, by mobile): the mobile, the stronger key, wins over the earlier
    # line. Maria has no phone or email: the same name at the same address is the same person. The short line
    # sends the file through the lenient re-read.
    again = [
        ["Ioan", "Vasile", "", "ion@example.org", "Strada Mare", "1", "Cluj", "", "", "1972", ""],
        ["Ion", "Vasile", "+40 722 000 001", "", "Strada Mare", "1", "Cluj", "", "", "1971", ""],
        ["Maria", "Dinu", "", "", "Strada Mică", "2", "Cluj", "", "", "1980", "vip"],
        ["too", "short"],
    ]
    result = await _run(live_client, m, _csv(again))
    assert result["status"] == "done", result
    assert (result["created"], result["updated"], result["skipped"], result["rejected"]) == (0, 2, 1, 1)
    people = {c.last_name: c for c in await _contacts(live_db, m)}
    assert len(people) == 2
    assert (people["Vasile"].first_name, people["Vasile"].birth_year) == ("Ion", 1971)
    assert (people["Dinu"].birth_year, people["Dinu"].tags) == (1980, ["vip"])
    rej = await live_client.get(f"/api/v1/imports/{result['id']}/rejected", headers=m.headers)
    assert '5,wrong number of columns: 2 instead of 11,"too,short"' in rej.text


@pytest.mark.parametrize(("encoding", "delimiter"), [("utf-8-sig", ","), ("latin-1", ";"), ("windows-1250", ";")])
async def test_encodings_and_delimiters_are_detected(
    live_client: AsyncClient, live_db: AsyncSession, encoding: str, delimiter: str
) -> None:
    m = await _manager(live_db)
    rows = [["Ana", "Pop", "0733111222", "", "", "", "", "", "", "", ""]]
    if encoding == "windows-1250":
        rows.append(["Şerban", "Ţepeş", "0744111222", "", "", "", "Iaşi", "", "", "", ""])
    if encoding == "latin-1":
        rows.append(["José", "Müller", "0744111333", "", "", "", "Zürich", "", "", "", ""])
    preview = await live_client.post(
        "/api/v1/imports/preview",
        headers=m.headers,
        files={"file": ("x.csv", _csv(rows, delimiter=delimiter, encoding=encoding))},
    )
    assert preview.status_code == 200
    assert preview.json()["delimiter"] == delimiter
    assert preview.json()["encoding"] == encoding
    assert preview.json()["suggested_mapping"]["first_name"] == "Prenume"
    result = await _run(live_client, m, _csv(rows, delimiter=delimiter, encoding=encoding))
    assert result["created"] == len(rows)
    names = {c.last_name for c in await _contacts(live_db, m)}
    assert names == {r[1] for r in rows}


async def test_bad_files_are_4xx_and_change_nothing(live_client: AsyncClient, live_db: AsyncSession) -> None:
    m = await _manager(live_db)
    empty = await live_client.post(
        "/api/v1/imports", headers=m.headers, files={"file": ("e.csv", b"")}, data={"mapping": json.dumps(MAPPING)}
    )
    assert empty.status_code == 422
    binary = await live_client.post(
        "/api/v1/imports",
        headers=m.headers,
        files={"file": ("x.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00")},
        data={"mapping": json.dumps(MAPPING)},
    )
    assert binary.status_code == 422
    assert binary.json()["error"]["code"] == "invalid_csv"
    unknown = await live_client.post(
        "/api/v1/imports",
        headers=m.headers,
        files={"file": ("v.csv", _csv(ROWS))},
        data={"mapping": json.dumps({**MAPPING, "email": "E-mail address"})},
    )
    assert unknown.status_code == 422
    assert "unknown column" in unknown.json()["error"]["details"][0]["message"]
    bad_target = await live_client.post(
        "/api/v1/imports",
        headers=m.headers,
        files={"file": ("v.csv", _csv(ROWS))},
        data={"mapping": json.dumps({"password": "Prenume"})},
    )
    assert bad_target.status_code == 422
    dup_header = b"name,name,mobile\nA,B,0722123456\n"
    dup = await live_client.post(
        "/api/v1/imports",
        headers=m.headers,
        files={"file": ("d.csv", dup_header)},
        data={"mapping": json.dumps({"first_name": "name"})},
    )
    assert dup.status_code == 422
    assert "twice" in dup.json()["error"]["details"][0]["message"]
    assert await _contacts(live_db, m) == []


async def test_cancelled_import_leaves_the_base_unchanged(live_client: AsyncClient, live_db: AsyncSession) -> None:
    m = await _manager(live_db)
    rows = [[f"P{i}", f"N{i}", f"07{22000000 + i}", "", "", "", "", "", "", "", ""] for i in range(60_000)]
    r = await live_client.post(
        "/api/v1/imports",
        headers=m.headers,
        files={"file": ("big.csv", _csv(rows))},
        data={"mapping": json.dumps(MAPPING)},
    )
    iid = r.json()["id"]
    c = await live_client.post(f"/api/v1/imports/{iid}/cancel", headers=m.headers)
    assert c.status_code == 200
    for _ in range(100):
        await asyncio.sleep(0.1)
        if (await live_client.get(f"/api/v1/imports/{iid}", headers=m.headers)).json()["status"] == "cancelled":
            break
    await asyncio.sleep(1.0)
    assert (await live_client.get(f"/api/v1/imports/{iid}", headers=m.headers)).json()["status"] == "cancelled"
    assert await _contacts(live_db, m) == []


async def test_broken_quotes_and_ragged_rows_are_rejected_one_by_one(
    live_client: AsyncClient, live_db: AsyncSession
) -> None:
    m = await _manager(live_db)
    header = ",".join(HEADER).encode()
    data = (
        header
        + b"\nAna,Pop,0733111222,,,,,,,,\nToo,Many,0733111223,,,,,,,,,extra,extra\n"
        + b'Ion,"Unclosed,0733111224,,,,,,,,\nMaria,Ionescu,0733111225,,,,,,,,\n'
    )
    result = await _run(live_client, m, data)
    assert result["status"] == "done"
    names = {c.last_name for c in await _contacts(live_db, m)}
    assert "Pop" in names
    assert "Many" not in names
    assert result["rejected"] >= 1
    rej = await live_client.get(f"/api/v1/imports/{result['id']}/rejected", headers=m.headers)
    assert "wrong number of columns" in rej.text or "unreadable line" in rej.text


async def test_bulk_phone_normalization_agrees_with_the_phonenumbers_library(
    live_client: AsyncClient, live_db: AsyncSession
) -> None:
    import random

    from app.core.phones import InvalidPhone, normalize

    m = await _manager(live_db)
    rnd = random.Random(3)
    formats = [
        "07{a}{b} {c:03d} {d:03d}",
        "+40 7{a}{b} {c:03d} {d:03d}",
        "0040-7{a}{b}-{c:03d}-{d:03d}",
        "(021) {c:03d} {d:04d}",
        "+49 30 {c:03d}{d:04d}",
        "+33 6 {c:03d} {d:03d} 12",
        "07{a}{b}{c:03d}",
        "+40 (0) 7{a}{b} {c:03d} {d:03d}",
    ]
    rows = []
    for i in range(300):
        raw = rnd.choice(formats).format(
            a=rnd.randint(0, 9), b=rnd.randint(0, 9), c=rnd.randint(0, 999), d=rnd.randint(0, 999)
        )
        rows.append([f"P{i}", f"N{i}", raw, f"p{i}@example.org", "", "", "", "", "", "", ""])
    result = await _run(live_client, m, _csv(rows))
    assert result["status"] == "done"
    stored = {c.email: c.mobile_e164 for c in await _contacts(live_db, m)}
    for r in rows:
        try:
            expected: str | None = normalize(r[2], "RO").e164
        except InvalidPhone:
            expected = None
        if expected is None:
            assert r[3] not in stored, r[2]
        else:
            assert stored.get(r[3]) == expected, r[2]


PHONEBOOK = {"first_name": "Prenume", "last_name": "Nume", "mobile": "Telefon"}


async def _run_with(
    client: AsyncClient, m: Actor, data: bytes, mapping: dict[str, str], **form: str
) -> dict[str, object]:
    r = await client.post(
        "/api/v1/imports",
        headers=m.headers,
        files={"file": ("people.csv", data, "text/csv")},
        data={"mapping": json.dumps(mapping), **form},
    )
    assert r.status_code == 202, r.text
    for _ in range(200):
        body = (await client.get(f"/api/v1/imports/{r.json()['id']}", headers=m.headers)).json()
        if body["status"] in ("done", "failed", "cancelled"):
            return dict(body)
        await asyncio.sleep(0.1)
    raise AssertionError("import did not finish")


async def _rejected(client: AsyncClient, m: Actor, iid: object) -> list[list[str]]:
    rej = await client.get(f"/api/v1/imports/{iid}/rejected", headers=m.headers)
    return list(csv.reader(io.StringIO(rej.text.lstrip("\ufeff"))))[1:]


async def test_an_unbalanced_quote_rejects_its_own_line_and_not_the_next(
    live_client: AsyncClient, live_db: AsyncSession
) -> None:
    m = await _manager(live_db)
    data = b'Prenume,Nume,Telefon\nAna,GoodOne,0723900001\nQuentin,"Broken-Quote,0723111222\nBob,GoodTwo,0723900002\n'
    result = await _run_with(live_client, m, data, PHONEBOOK)
    assert result["status"] == "done", result
    assert (result["created"], result["rejected"], result["rows_total"]) == (2, 1, 3)
    assert {c.last_name for c in await _contacts(live_db, m)} == {"GoodOne", "GoodTwo"}
    [(line, reason, raw)] = await _rejected(live_client, m, result["id"])
    assert (line, raw) == ("3", 'Quentin,"Broken-Quote,0723111222')
    assert "quote" in reason


async def test_a_forced_encoding_the_file_contradicts_is_refused_and_never_stored_as_replacement_characters(
    live_client: AsyncClient, live_db: AsyncSession
) -> None:
    m = await _manager(live_db)
    data = "Prenume,Nume,Telefon\nŞerban,Ţepeş,0744111222\n".encode("windows-1250")
    r = await live_client.post(
        "/api/v1/imports",
        headers=m.headers,
        files={"file": ("p.csv", data, "text/csv")},
        data={"mapping": json.dumps(PHONEBOOK), "encoding": "utf-8"},
    )
    assert r.status_code == 422, r.text
    assert r.json()["error"]["details"] == [{"field": "encoding", "message": "not valid utf-8; detected windows-1250"}]
    # past the first 64 KB the upload does not read: the line is rejected, the others imported
    filler = b"".join(b"Ana%d,Pop,07331%05d\n" % (i, i) for i in range(4000))
    late = "Ştefan,Ţurcanu,0744111333\n".encode("windows-1250")
    result = await _run_with(live_client, m, b"Prenume,Nume,Telefon\n" + filler + late, PHONEBOOK, encoding="utf-8")
    assert result["status"] == "done", result
    assert (result["created"], result["rejected"]) == (4000, 1)
    people = await _contacts(live_db, m)
    assert not [c for c in people if "\ufffd" in c.first_name + c.last_name]
    [(line, reason, raw)] = await _rejected(live_client, m, result["id"])
    assert line == "4002" and "windows-1250" in reason and "\ufffd" not in raw


async def test_cr_only_line_endings_are_read(live_client: AsyncClient, live_db: AsyncSession) -> None:
    m = await _manager(live_db)
    data = b"Prenume,Nume,Telefon\rAna,Pop,0733111222\rIon,Ionescu,0733111223\r"
    preview = await live_client.post("/api/v1/imports/preview", headers=m.headers, files={"file": ("p.csv", data)})
    assert preview.status_code == 200, preview.text
    assert preview.json()["headers"] == ["Prenume", "Nume", "Telefon"]
    assert preview.json()["sample_rows"] == [["Ana", "Pop", "0733111222"], ["Ion", "Ionescu", "0733111223"]]
    result = await _run_with(live_client, m, data, PHONEBOOK)
    assert (result["status"], result["created"], result["rejected"]) == ("done", 2, 0), result
    assert {c.last_name for c in await _contacts(live_db, m)} == {"Pop", "Ionescu"}


async def test_phone_columns_are_suggested_and_utf16_is_read(live_client: AsyncClient, live_db: AsyncSession) -> None:
    m = await _manager(live_db)
    for header, name in (("Telefon", "Telefon"), ("Mobil", "Mobil"), ("Téléphone", "Téléphone")):
        data = f"Prenume\tNume\t{header}\nȘtefan\tȚurcanu\t0733111222\n".encode("utf-16")
        preview = await live_client.post("/api/v1/imports/preview", headers=m.headers, files={"file": ("u.txt", data)})
        assert preview.status_code == 200, preview.text
        assert preview.json()["encoding"] == "utf-16"
        assert preview.json()["suggested_mapping"]["mobile"] == name
    result = await _run_with(live_client, m, data, {**PHONEBOOK, "mobile": "Téléphone"})
    assert (result["status"], result["created"]) == ("done", 1), result
    [c] = await _contacts(live_db, m)
    assert (c.first_name, c.last_name, c.mobile_e164) == ("Ștefan", "Țurcanu", "+40733111222")


async def test_a_value_too_long_for_its_column_is_rejected_naming_the_column(
    live_client: AsyncClient, live_db: AsyncSession
) -> None:
    m = await _manager(live_db)
    data = b"Prenume,Nume,Telefon,Nr\nAna,Pop,0733111222,12\nIon,Ionescu,0733111223," + b"9" * 30 + b"\n"
    result = await _run_with(live_client, m, data, {**PHONEBOOK, "number": "Nr"})
    assert (result["status"], result["created"], result["rejected"]) == ("done", 1, 1), result
    [(line, reason, _raw)] = await _rejected(live_client, m, result["id"])
    assert (line, reason) == ("3", 'number: longer than 20 characters (column "Nr")')


async def test_the_rejected_rows_file_writes_no_cell_a_spreadsheet_would_run(
    live_client: AsyncClient, live_db: AsyncSession
) -> None:
    m = await _manager(live_db)
    data = b'Prenume,Nume,Telefon\nAna,Pop,0733111222\n=HYPERLINK("http://evil.example"),x,12345\n'
    result = await _run_with(live_client, m, data, PHONEBOOK)
    assert (result["created"], result["rejected"]) == (1, 1), result
    [(line, _reason, raw)] = await _rejected(live_client, m, result["id"])
    assert line == "3" and raw.startswith("'=HYPERLINK(")


async def test_the_list_of_imports_pages_past_its_page_size(live_client: AsyncClient, live_db: AsyncSession) -> None:
    m = await _manager(live_db)
    made = {
        str((await _run_with(live_client, m, b"Prenume\nAna%d\n" % i, {"first_name": "Prenume"}))["id"])
        for i in range(3)
    }
    seen, cursor = [], None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = (await live_client.get("/api/v1/imports", params=params, headers=m.headers)).json()
        seen += [i["id"] for i in page["items"]]
        if (cursor := page["next_cursor"]) is None:
            break
    assert set(seen) == made and len(seen) == 3


async def test_a_date_that_does_not_exist_rejects_its_line_not_the_import(
    live_client: AsyncClient, live_db: AsyncSession
) -> None:
    m = await _manager(live_db)
    data = b"Prenume,Nume,Telefon,Data\nAna,Pop,0733111222,1990-02-28\nIon,Leap,0733111223,2021-02-29\n"
    data += b"Eva,Month,0733111224,2020-13-01\nDan,Year,0733111225,0000-01-01\n"
    result = await _run_with(live_client, m, data, {**PHONEBOOK, "birth_date": "Data"})
    assert (result["status"], result["created"], result["rejected"]) == ("done", 1, 3), result
    assert [c.last_name for c in await _contacts(live_db, m)] == ["Pop"]
    reasons = {line: reason for line, reason, _ in await _rejected(live_client, m, result["id"])}
    assert reasons == {
        "3": "birth_date: no such day",
        "4": "birth_date: expected YYYY-MM-DD",
        "5": "birth_date: expected YYYY-MM-DD",
    }

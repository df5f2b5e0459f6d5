"""The import's fast path: PostgreSQL parses the CSV itself (COPY … FORMAT csv, in the file's encoding) into a
raw staging table, and phones are normalized in SQL with the region's own patterns from the phonenumbers
metadata; the rare foreign numbers go through the library itself. Produces the same `import_stage` table as
the lenient Python path, which the job falls back to when COPY refuses the file (broken quotes, ragged rows)."""

from __future__ import annotations

import codecs
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from app.core.phones import InvalidPhone, country_code, metadata_rows, national_prefix, normalize

PG_ENCODING = {"utf-8": "UTF8", "utf-8-sig": "UTF8", "latin-1": "LATIN1", "windows-1250": "WIN1250"}
COPY_ERRORS = (
    asyncpg.exceptions.BadCopyFileFormatError,
    asyncpg.exceptions.CharacterNotInRepertoireError,
    asyncpg.exceptions.UntranslatableCharacterError,
    asyncpg.exceptions.DataError,
)


def _lit(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def phone_sql(col: str, region: str) -> tuple[str, str]:
    """(E.164 expression, is-foreign expression) for a raw phone column, in the organization's region."""
    cc = str(country_code(region))
    prefix = national_prefix(region)
    valid = next((v for c, _p, v, _m in metadata_rows() if str(c) == cc), "^$")
    d = f"regexp_replace({col}, '[^0-9+]', '', 'g')"
    strip = (
        (
            f"CASE WHEN {_lit(prefix)} <> '' AND left(n, {len(prefix) or 1}) = {_lit(prefix)} "
            f"THEN substr(n, {len(prefix) + 1}) ELSE n END"
        )
        if prefix
        else "n"
    )
    nsn = (
        f"(SELECT {strip} FROM (SELECT CASE "
        f"WHEN left(d, {len(cc) + 1}) = '+{cc}' THEN substr(d, {len(cc) + 2}) "
        f"WHEN left(d, {len(cc) + 2}) = '00{cc}' THEN substr(d, {len(cc) + 3}) "
        f"WHEN left(d, 1) = '+' OR left(d, 2) = '00' THEN NULL "
        f"ELSE replace(d, '+', '') END AS n FROM (SELECT {d} AS d) x) y)"
    )
    valid_lit = _lit(valid).replace(":", "\\:")  # text(): a colon would start a bind parameter
    e164 = f"(SELECT CASE WHEN z.nsn ~ {valid_lit} THEN '+{cc}' || z.nsn END FROM (SELECT {nsn} AS nsn) z)"
    foreign = (
        f"({col} IS NOT NULL AND (left({d}, 1) = '+' OR left({d}, 2) = '00') "
        f"AND left({d}, {len(cc) + 1}) <> '+{cc}' AND left({d}, {len(cc) + 2}) <> '00{cc}')"
    )
    return e164, foreign


async def stage_with_copy(conn: AsyncConnection, imp: Any, stored: list[str], col_name: Any) -> int:
    """COPY the file into import_raw, then build import_stage. Raises one of COPY_ERRORS for a file that
    PostgreSQL's CSV parser refuses (the caller falls back to the Python path)."""
    headers: list[str] = imp["mapping"]["headers"]
    width = len(headers)
    mapping: dict[str, int] = imp["mapping"]["columns"]
    delim = imp["delimiter"]
    raw_cols = [f"c{i}" for i in range(width)]
    await conn.execute(text("DROP TABLE IF EXISTS import_raw, import_stage, import_ready, import_phone_fix"))
    await conn.execute(
        text(
            "CREATE TEMP TABLE import_raw (line_no bigint GENERATED ALWAYS AS IDENTITY, "
            + ", ".join(f"{c} text" for c in raw_cols)
            + ")"
        )
    )
    raw_conn = (await conn.get_raw_connection()).driver_connection
    assert raw_conn is not None
    path = Path(imp["file_path"])
    with path.open("rb") as f:
        if imp["encoding"] == "utf-8-sig" and f.read(3) != codecs.BOM_UTF8:
            f.seek(0)
        await raw_conn.copy_to_table(
            "import_raw",
            source=f,
            columns=raw_cols,
            format="csv",
            header=True,
            delimiter=delim,
            encoding=PG_ENCODING[imp["encoding"]],
        )
    region = imp["default_region"] or "RO"
    src = {t: f"nullif(btrim(r.c{mapping[t]}), '')" for t in mapping}
    if "full_name" in mapping and "first_name" not in mapping:
        src["first_name"] = f"nullif(split_part(btrim(r.c{mapping['full_name']}), ' ', 1), '')"
        src["last_name"] = (
            f"nullif(btrim(substr(btrim(r.c{mapping['full_name']}), "
            f"length(split_part(btrim(r.c{mapping['full_name']}), ' ', 1)) + 1)), '')"
        )
    phones: dict[str, tuple[str, str]] = {}
    for t in ("mobile", "home_phone"):
        if t in src:
            phones[t] = phone_sql(src[t], region)
    # Foreign numbers (another country code): the library decides, once per distinct number.
    foreign_raws: set[str] = set()
    for t, (_e, foreign) in phones.items():
        rows = (await conn.execute(text(f"SELECT DISTINCT {src[t]} FROM import_raw r WHERE {foreign}"))).scalars()
        foreign_raws |= {r for r in rows if r}
    await conn.execute(text("CREATE TEMP TABLE import_phone_fix (raw text PRIMARY KEY, e164 text)"))
    if foreign_raws:
        fixed = []
        for r in foreign_raws:
            try:
                fixed.append((r, normalize(r, region).e164))
            except InvalidPhone:
                fixed.append((r, None))
        await raw_conn.copy_records_to_table("import_phone_fix", records=fixed)

    def e164(t: str) -> str:
        if t not in phones:
            return "NULL"
        expr, foreign = phones[t]
        return f"(CASE WHEN {foreign} THEN (SELECT e164 FROM import_phone_fix WHERE raw = {src[t]}) ELSE {expr} END)"

    reject = "NULL"
    checks = [
        f"WHEN {src[t]} IS NOT NULL AND {e164(t)} IS NULL THEN '{t}: not a valid phone number'"
        for t in ("mobile", "home_phone")
        if t in phones
    ]
    if checks:
        reject = "CASE " + " ".join(checks) + " END"
    raw_expr = "concat_ws(" + _lit(delim) + ", " + ", ".join(f"r.{c}" for c in raw_cols) + ")"
    cols = [f"{src.get(t, 'NULL')} AS {col_name(t)}" for t in stored]
    await conn.execute(
        text(f"""
        CREATE TEMP TABLE import_stage AS
        SELECT (r.line_no + 1)::int AS line_no, left({raw_expr}, 2000) AS raw, {reject} AS pre_reject,
               {e164("mobile")} AS mobile_e164, {e164("home_phone")} AS home_e164, {", ".join(cols)}
        FROM import_raw r""")
    )
    n = (await conn.execute(text("SELECT count(*) FROM import_stage"))).scalar() or 0
    await conn.execute(text("DROP TABLE import_raw"))
    return int(n)

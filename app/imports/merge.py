"""The import's set-based merge, from the normalized rows (fastpath.Source) to contacts.

One pass builds import_rows: each row validated (reject reason) and ranked among the file's lines with the same
key. Hash joins find the existing contact each first line matches (import_match: mobile, then email, then home
phone, then name + address for rows with neither). Then a handful of statements: rejects, tags, the insert of
new contacts (in spatial order, with time-ordered ids, so the GiST and primary-key inserts stay on a few hot
pages), the update of matched ones, consents."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from app.contacts import duplicates as dup
from app.contacts.fields import BY_NAME, IMPORTED, checked
from app.imports.fastpath import Source, lit
from app.imports.spec import ImportSpec

FIELDS = [t for t in IMPORTED if t != "full_name"]
_NUM = r"^\s*-?[0-9]+([.,][0-9]+)?\s*$"
_INT = r"^\s*[0-9]{1,4}\s*$"
# The cast to date would stop the whole import on 2021-02-30: month and day ranges here, the month's length below.
_DATE = r"^(1[89]|20)[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"
_EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
_TRUE = "('1','y','yes','true','da','oui','x','ja')"
ANALYZED = ("line_no", "reject", "rn", "mobile_e164", "email", "home_e164", "first_name", "last_name")
CONSENT_COLUMNS = {ch: f"consent_{ch}" for ch in ("email", "sms", "phone", "data_processing")}


@dataclass(frozen=True)
class MergeCounts:
    duplicates: int  # lines after the first of the same key in the file
    matched: int  # first lines that found an existing contact
    rejected: int


def stored_targets(columns: dict[str, int]) -> list[str]:
    """The staged columns: the mapped fields, with full_name split into first and last name."""
    out = [t for t in columns if t != "full_name"]
    if "full_name" in columns:
        out += [t for t in ("first_name", "last_name") if t not in out]
    return out


def col_name(t: str) -> str:
    """The staged column of a mapped field: an SQL identifier, so only from the list of contact fields."""
    checked(t)
    return "c_" + t[7:] if t.startswith("custom:") else "f_" + t


def _too_long(e: dict[str, str], have: set[str], headers: dict[str, str]) -> str:
    """One check per mapped text field, as wide as its column, naming the field and the file's column."""
    out = []
    for t in FIELDS:
        n = BY_NAME[t].max_length
        if t in have and n is not None and t != "country":  # country: checked as a 2-letter code
            label = lit(f'{t}: longer than {n} characters (column "{headers.get(t, t)}")')
            # octet_length is read from the header; length counts characters, and only a long value needs it
            out.append(f"WHEN octet_length({e[t]}) > {n} AND length({e[t]}) > {n} THEN {label} ")
    return "".join(out)


def _rows_sql(src: Source, have: set[str], headers: dict[str, str], default_tags_param: str) -> str:
    e = {t: (col_name(t) if t in have else "NULL::text") for t in FIELDS}
    year = datetime.now(UTC).year
    phone_checks = "".join(
        f"WHEN {col_name(t)} IS NOT NULL AND {col} IS NULL THEN '{t}: not a valid phone number' "
        for t, col in (("mobile", "mobile_e164"), ("home_phone", "home_e164"))
        if t in have
    )
    reject = f"""COALESCE(pre_reject, CASE {phone_checks}
        WHEN email IS NOT NULL AND email !~ '{_EMAIL}' THEN 'email: not a valid email address'
        WHEN ({e["lat"]} IS NULL) <> ({e["lon"]} IS NULL) THEN 'lat/lon: both or neither'
        WHEN {e["lat"]} IS NOT NULL AND (lat IS NULL OR lon IS NULL) THEN 'lat/lon: not a number'
        WHEN lat NOT BETWEEN -90 AND 90 OR lon NOT BETWEEN -180 AND 180 THEN 'lat/lon: out of range'
        WHEN {e["birth_year"]} IS NOT NULL AND ({e["birth_year"]} !~ '{_INT}'
             OR {e["birth_year"]}::int NOT BETWEEN 1900 AND {year}) THEN 'birth_year: expected a year'
        WHEN {e["birth_date"]} IS NOT NULL AND {e["birth_date"]} !~ '{_DATE}' THEN 'birth_date: expected YYYY-MM-DD'
        WHEN {e["birth_date"]} IS NOT NULL AND substr({e["birth_date"]}, 9, 2)::int > extract(day FROM
             make_date(substr({e["birth_date"]}, 1, 4)::int, substr({e["birth_date"]}, 6, 2)::int, 1)
             + interval '1 month - 1 day') THEN 'birth_date: no such day'
        WHEN {e["support_level"]} IS NOT NULL AND {e["support_level"]} !~ '^[1-5]$'
             THEN 'support_level: expected 1 to 5'
        WHEN {e["country"]} IS NOT NULL AND upper({e["country"]}) !~ '^[A-Z]{{2}}$' THEN 'country: expected ISO code'
        WHEN coalesce({e["first_name"]}, {e["last_name"]}, mobile_e164, home_e164, {e["email"]}) IS NULL
             THEN 'no name, phone or email'
        {_too_long(e, have, headers)}
        END)"""
    tags = (  # one tag (the usual case) without a subquery; a list split, trimmed and deduplicated
        f"(CASE WHEN {e['tags']} IS NULL THEN {default_tags_param} "  # noqa: S608 - names checked against the contact fields list or internal constants; values bound
        f"WHEN {e['tags']} !~ '[,|;]' THEN (CASE WHEN length({e['tags']}) <= 64 THEN ARRAY[{e['tags']}] "
        f"ELSE '{{}}'::text[] END) || {default_tags_param} ELSE "
        f"ARRAY(SELECT DISTINCT btrim(t) FROM unnest(regexp_split_to_array({e['tags']}, '[,|;]')) t "
        f"WHERE btrim(t) <> '' AND length(btrim(t)) <= 64) || {default_tags_param} END)"
    )
    flag = {f: f"coalesce(lower({e[f]}) IN {_TRUE}, false)" for f in ("donor", "volunteer", "member")}
    custom = sorted(t for t in have if t.startswith("custom:"))
    custom_json = (
        ("jsonb_strip_nulls(jsonb_build_object(" + ", ".join(f"'{t[7:]}', {col_name(t)}" for t in custom) + "))")
        if custom
        else "'{}'::jsonb"
    )
    num = {k: f"(CASE WHEN {e[k]} ~ '{_NUM}' THEN replace({e[k]}, ',', '.')::float8 END)" for k in ("lat", "lon")}
    parsed = f"SELECT s0.*, {num['lat']} AS lat, {num['lon']} AS lon FROM ({src.sql}) s0 OFFSET 0"  # noqa: S608 - names checked against the contact fields list or internal constants; values bound
    return f"""
        SELECT line_no, {reject} AS reject,
               coalesce(first_name, '') AS first_name, coalesce(last_name, '') AS last_name,
               mobile_e164, mobile_raw, home_e164, home_raw, email, street, street_number, building, postal_code,
               city, country, lat, lon, birth_year, birth_date, gender, language, support_level, {tags} AS tags,
               {flag["donor"]} AS donor, {flag["volunteer"]} AS volunteer, {flag["member"]} AS member,
               {custom_json} AS custom_fields
        FROM (SELECT s.*, {e["first_name"]} AS first_name, {e["last_name"]} AS last_name,
                     {e["mobile"]} AS mobile_raw, {e["home_phone"]} AS home_raw, lower({e["email"]}) AS email,
                     {e["street"]} AS street, {e["number"]} AS street_number, {e["building"]} AS building,
                     {e["postal_code"]} AS postal_code, {e["city"]} AS city, upper({e["country"]}) AS country,
                     {e["birth_year"]} AS birth_year, {e["birth_date"]} AS birth_date, {e["gender"]} AS gender,
                     {e["language"]} AS language, {e["support_level"]} AS support_level
              FROM ({parsed}) s OFFSET 0) s"""  # noqa: S608 - names checked against the contact fields list or internal constants; values bound


def _key_match() -> str:
    """Every (line, contact) pair the rule's keys join, with the key's priority, in one pass over the base: each
    contact's keys and each first line's keys as (column, value) rows, one hash join on the value, and the pair of
    columns deciding which key it is (so a value found in two columns never makes a match the rule does not). The
    base is scanned once instead of once per key."""
    incoming = sorted({b for _, _, b, _ in dup.KEYS})
    stored = sorted({a for _, a, _, _ in dup.KEYS})
    pri = " ".join(f"WHEN k.col = '{b}' AND c.col = '{a}' THEN {p}" for p, a, b, _ in dup.KEYS)

    def keys(alias: str, cols: list[str]) -> str:
        return "(VALUES " + ", ".join(f"('{c}', {alias}.{c})" for c in cols) + ") AS x(col, val)"

    return f"""
        SELECT line_no, id, pri, same_name, created_at FROM (
          SELECT k.line_no, c.id, CASE {pri} END AS pri,
                 (c.last_name = k.last_name AND c.first_name = k.first_name) AS same_name, c.created_at
          FROM (SELECT r.line_no, r.first_name, r.last_name, x.col, x.val FROM import_rows r
                CROSS JOIN LATERAL {keys("r", incoming)} WHERE r.rn = 1 AND x.val IS NOT NULL) k
          JOIN (SELECT c.id, c.first_name, c.last_name, c.created_at, x.col, x.val FROM contacts c
                CROSS JOIN LATERAL {keys("c", stored)}
                WHERE c.organization_id = CAST(:org AS uuid) AND x.val IS NOT NULL) c ON c.val = k.val) m
        WHERE pri IS NOT NULL"""  # noqa: S608 - names from the rule's own constants


async def build_rows(conn: AsyncConnection, src: Source, imp: ImportSpec) -> None:
    """import_rows: every line with its reject reason and its rank among same-key lines (rn)."""
    p = imp.binds()
    have = set(stored_targets(imp.columns))
    headers = {t: imp.headers[i] for t, i in imp.columns.items() if i < imp.width}
    if "full_name" in headers:  # first and last name split from it
        headers = {"first_name": headers["full_name"], "last_name": headers["full_name"]} | headers
    # Grouping needs equality only: byte order (COLLATE "C") sorts a million keys a third faster than the
    # database's collation, and groups them the same way. The key leads the partition so that the sort compares
    # abbreviated keys (the first column's only): a quarter off the ranking.
    dkey = (
        "coalesce(mobile_e164, email, home_e164, lower(first_name || '|' || last_name || '|' || "
        "coalesce(street, '') || '|' || coalesce(street_number, '') || '|' || coalesce(city, '')))"
    )
    await conn.execute(
        text(f"""
        CREATE TEMP TABLE import_rows AS
        SELECT w.*, CASE WHEN w.reject IS NULL
                    THEN row_number() OVER (PARTITION BY ({dkey}) COLLATE "C", w.reject IS NULL ORDER BY w.line_no)
                    END AS rn
        FROM ({_rows_sql(src, have, headers, "CAST(:default_tags AS text[])")} OFFSET 0) w"""),  # noqa: S608 - names checked against the contact fields list or internal constants; values bound
        p,
    )
    # Statistics only for what the next statements filter and join on: the other columns' histograms took a
    # seventh of this phase (100k rows) and serve no plan.
    await conn.execute(text(f"ANALYZE import_rows ({', '.join(ANALYZED)})"))


async def match_rows(conn: AsyncConnection, imp: ImportSpec) -> None:
    """import_match: the existing contact each first line of import_rows matches (by mobile, then email, then home
    phone; rows with neither by name + address; among several contacts, one with the same name, then the oldest).
    Set-based: one hash join per key, not a probe per row."""
    p = imp.binds()
    # The matching rule itself lives in app/contacts/duplicates.py (the contact page's duplicates use it too).
    no_key = " AND ".join(f"r.{col} IS NULL" for col in sorted({b for _, _, b, _ in dup.KEYS}))
    by_name = (
        f"SELECT r.line_no, c.id, {dup.NAME_PRIORITY} AS pri, true AS same_name, c.created_at FROM import_rows r "  # noqa: S608 - names from the rule's own constants
        f"JOIN contacts c ON c.organization_id = CAST(:org AS uuid) AND {dup.name_address_sql('c', 'r')} "
        f"WHERE r.rn = 1 AND {no_key}"
    )
    joins = [_key_match(), by_name]
    # Hash joins only: the few lines without a key are hashed and the base is scanned once; a merge join (which
    # the planner picks on its one-row estimate of the name match) would sort the whole base by name.
    await conn.execute(text("SELECT set_config('enable_mergejoin', 'off', true)"))
    await conn.execute(
        text(f"""
        CREATE TEMP TABLE import_match AS
        SELECT DISTINCT ON (line_no) line_no, id AS match_id, pri FROM ({" UNION ALL ".join(joins)}) m
        ORDER BY line_no, pri, same_name DESC, created_at, id"""),  # noqa: S608 - names checked against the contact fields list or internal constants; values bound
        p,
    )
    await conn.execute(text("SELECT set_config('enable_mergejoin', 'on', true)"))
    await conn.execute(text("CREATE UNIQUE INDEX ON import_match (line_no)"))
    await conn.execute(text("ANALYZE import_match"))


async def write_rejects(conn: AsyncConnection, src: Source, imp: ImportSpec) -> None:
    await conn.execute(
        text(f"""
        INSERT INTO import_rejects (organization_id, import_id, line_no, reason, raw)
        SELECT CAST(:org AS uuid), CAST(:iid AS uuid), x.line_no, x.reject, left(r.raw, 2000)
        FROM import_rows x JOIN ({src.raw_sql}) r ON r.line_no = x.line_no
        WHERE x.reject IS NOT NULL
        ON CONFLICT DO NOTHING"""),  # noqa: S608 - names checked against the contact fields list or internal constants; values bound
        imp.binds(),
    )


async def insert_new(conn: AsyncConnection, imp: ImportSpec) -> int:
    """New contacts, with the import's consent (and its log) where the import carries one."""
    p = imp.binds()
    await conn.execute(
        text("""
        INSERT INTO tags (organization_id, name)
        SELECT DISTINCT CAST(:org AS uuid), t FROM import_rows, unnest(tags) t WHERE rn = 1 ON CONFLICT DO NOTHING"""),
        p,
    )
    channels = imp.channels
    consent = ", ".join(f"CASE WHEN :ch_{ch} THEN 'granted' END" for ch in CONSENT_COLUMNS)
    flags = {f"ch_{ch}": ch in channels for ch in CONSENT_COLUMNS}
    point = "CASE WHEN lat IS NOT NULL THEN ST_SetSRID(ST_MakePoint(lon, lat), 4326) END"
    created = (
        await conn.execute(
            text(f"""
        WITH ins AS (
          INSERT INTO contacts (organization_id, id, first_name, last_name, mobile_e164, mobile_raw, home_e164,
             home_raw, email, street, street_number, building, postal_code, city, country, location, birth_year,
             birth_date, gender, language, support_level, tags, is_donor, is_volunteer, is_member, custom_fields,
             source, import_id, {", ".join(CONSENT_COLUMNS.values())})
          SELECT CAST(:org AS uuid), (:id_prefix || lpad(to_hex(:id_base + n), 12, '0'))::uuid, first_name,
             last_name, mobile_e164, mobile_raw, home_e164, home_raw,
             email, street, street_number, building, postal_code, city, country, {point}, birth_year::smallint,
             birth_date::date, gender, language, support_level::smallint, tags, donor, volunteer, member,
             custom_fields, 'import', CAST(:iid AS uuid), {consent}
          FROM (SELECT r.*, row_number() OVER () AS n FROM (
                  SELECT * FROM import_rows r WHERE rn = 1
                    AND NOT EXISTS (SELECT 1 FROM import_match m WHERE m.line_no = r.line_no)
                  ORDER BY round(lat * 100), lon) r) x   -- spatial order: neighbours share GiST and heap pages
          RETURNING id),
        cl AS (
          INSERT INTO consent_log (organization_id, contact_id, channel, status, source, proof)
          SELECT CAST(:org AS uuid), ins.id, ch, 'granted', 'import', :proof
          FROM ins, unnest(CAST(:channels AS text[])) ch
          RETURNING 1)
        SELECT (SELECT count(*) FROM ins) + 0 * (SELECT count(*) FROM cl)"""),  # noqa: S608 - names checked against the contact fields list or internal constants; values bound
            {**p, **flags, **_id_block(), "channels": channels, "proof": imp.consent_source},
        )
    ).scalar()
    return int(created or 0)


async def update_matched(conn: AsyncConnection, imp: ImportSpec) -> int:
    """Matched contacts take the file's non-empty values (policy "update"); when several lines match the same
    contact, the one matched on the strongest key wins, then the first. Returns how many contacts changed."""
    p = imp.binds()
    updated = 0
    if imp.dedupe_policy == "update":
        point = "CASE WHEN r.lat IS NOT NULL THEN ST_SetSRID(ST_MakePoint(r.lon, r.lat), 4326) END"
        updated = (
            await conn.execute(
                text(f"""
            WITH upd AS (
              UPDATE contacts c SET
                first_name = coalesce(nullif(r.first_name, ''), c.first_name),
                last_name = coalesce(nullif(r.last_name, ''), c.last_name),
                mobile_e164 = coalesce(r.mobile_e164, c.mobile_e164), mobile_raw = coalesce(r.mobile_raw, c.mobile_raw),
                home_e164 = coalesce(r.home_e164, c.home_e164), home_raw = coalesce(r.home_raw, c.home_raw),
                email = coalesce(r.email, c.email), street = coalesce(r.street, c.street),
                street_number = coalesce(r.street_number, c.street_number), building = coalesce(r.building, c.building),
                postal_code = coalesce(r.postal_code, c.postal_code), city = coalesce(r.city, c.city),
                country = coalesce(r.country, c.country), location = coalesce({point}, c.location),
                birth_year = coalesce(r.birth_year::smallint, c.birth_year),
                support_level = coalesce(r.support_level::smallint, c.support_level),
                tags = ARRAY(SELECT DISTINCT t FROM unnest(c.tags || r.tags) t ORDER BY t),
                custom_fields = c.custom_fields || r.custom_fields,
                updated_at = now()
              FROM (SELECT DISTINCT ON (m.match_id) r.*, m.match_id
                    FROM import_match m JOIN import_rows r USING (line_no) ORDER BY m.match_id, m.pri, r.line_no) r
              WHERE r.match_id = c.id AND c.organization_id = CAST(:org AS uuid) AND (
                (nullif(r.first_name, '') IS NOT NULL AND r.first_name IS DISTINCT FROM c.first_name)
                OR (nullif(r.last_name, '') IS NOT NULL AND r.last_name IS DISTINCT FROM c.last_name)
                OR (r.mobile_e164 IS NOT NULL AND r.mobile_e164 IS DISTINCT FROM c.mobile_e164)
                OR (r.home_e164 IS NOT NULL AND r.home_e164 IS DISTINCT FROM c.home_e164)
                OR (r.email IS NOT NULL AND r.email IS DISTINCT FROM c.email)
                OR (r.street IS NOT NULL AND r.street IS DISTINCT FROM c.street)
                OR (r.street_number IS NOT NULL AND r.street_number IS DISTINCT FROM c.street_number)
                OR (r.city IS NOT NULL AND r.city IS DISTINCT FROM c.city)
                OR (r.postal_code IS NOT NULL AND r.postal_code IS DISTINCT FROM c.postal_code)
                OR (r.support_level IS NOT NULL AND r.support_level::smallint IS DISTINCT FROM c.support_level)
                OR (r.birth_year IS NOT NULL AND r.birth_year::smallint IS DISTINCT FROM c.birth_year)
                OR NOT (c.tags @> r.tags) OR NOT (c.custom_fields @> r.custom_fields))
              RETURNING c.id)
            SELECT count(*) FROM upd"""),  # noqa: S608 - names checked against the contact fields list or internal constants; values bound
                p,
            )
        ).scalar() or 0
    for ch in imp.channels:
        # Consent from the import's source, only where the person has not answered yet: an old file never
        # overrides a withdrawal.
        await conn.execute(
            text(f"""
            WITH upd AS (
              UPDATE contacts c SET {CONSENT_COLUMNS[ch]} = 'granted' FROM import_match m
              WHERE m.match_id = c.id AND c.organization_id = CAST(:org AS uuid) AND c.{CONSENT_COLUMNS[ch]} IS NULL
              RETURNING c.id)
            INSERT INTO consent_log (organization_id, contact_id, channel, status, source, proof)
            SELECT CAST(:org AS uuid), id, :ch, 'granted', 'import', :proof FROM upd"""),  # noqa: S608 - names checked against the contact fields list or internal constants; values bound
            {**p, "ch": ch, "proof": imp.consent_source},
        )
    return int(updated)


async def counts(conn: AsyncConnection, imp: ImportSpec) -> MergeCounts:
    row = (
        await conn.execute(
            text("""
            SELECT count(*) FILTER (WHERE rn > 1) AS duplicates,
                   (SELECT count(*) FROM import_match) AS matched,
                   (SELECT count(*) FROM import_rejects WHERE organization_id = CAST(:org AS uuid)
                      AND import_id = CAST(:iid AS uuid)) AS rejected
            FROM import_rows"""),
            imp.binds(),
        )
    ).one()
    return MergeCounts(duplicates=int(row.duplicates), matched=int(row.matched), rejected=int(row.rejected))


def _id_block() -> dict[str, Any]:
    """Ids for the new contacts, one block per import: RFC 9562 version 7 (48 bits of Unix milliseconds, random
    bits), the last 48 bits counting up from a random start. They grow in insertion order, so the primary key
    takes them on its right-most pages, and cost a fraction of a call to gg_uuid7() per row."""
    ms = int(time.time() * 1000)
    rand = secrets.randbits(62)
    h = f"{ms:012x}"
    variant = 0x8000 | (rand & 0x3FFF)
    prefix = f"{h[:8]}-{h[8:12]}-7{(rand >> 14) & 0xFFF:03x}-{variant:04x}-"
    return {"id_prefix": prefix, "id_base": secrets.randbits(46)}

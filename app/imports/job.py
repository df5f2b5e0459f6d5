"""The import job: stream the file into a staging table with COPY, validate and normalize in SQL,
deduplicate against the base and merge with set-based statements, all in one transaction, so a failed
or cancelled import leaves the base exactly as it was. Safe to run twice (advisory lock + status)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.core.phones import BulkNormalizer
from app.imports import csvio, fastpath
from app.imports.mapping import TARGETS

log = logging.getLogger("groundgame.imports")
BATCH = 20_000
FIELDS = [t for t in TARGETS if t not in ("full_name",)]
_NUM = r"^\s*-?[0-9]+([.,][0-9]+)?\s*$"
_INT = r"^\s*[0-9]{1,4}\s*$"
_EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
_TRUE = "('1','y','yes','true','da','oui','x','ja')"


class Cancelled(Exception):
    pass


def stored_targets(columns: dict[str, int]) -> list[str]:
    """The staged columns: the mapped fields, with full_name split into first and last name."""
    out = [t for t in columns if t != "full_name"]
    if "full_name" in columns:
        out += [t for t in ("first_name", "last_name") if t not in out]
    return out


def _col(t: str) -> str:
    return "c_" + t[7:] if t.startswith("custom:") else "f_" + t


async def _set_tenant(conn: AsyncConnection, org: str) -> None:
    await conn.execute(text("SELECT set_config('app.organization_id', :o, false)"), {"o": org})


async def _status(engine: AsyncEngine, org: str, import_id: str) -> str | None:
    async with engine.begin() as c:
        await c.execute(text("SELECT set_config('app.organization_id', :o, true)"), {"o": org})
        return (
            await c.execute(
                text("SELECT status FROM imports WHERE organization_id = :o AND id = :i"), {"o": org, "i": import_id}
            )
        ).scalar()


async def _progress(engine: AsyncEngine, org: str, import_id: str, **values: Any) -> None:
    sets = ", ".join(f"{k} = :{k}" for k in values)
    async with engine.begin() as c:
        await c.execute(text("SELECT set_config('app.organization_id', :o, true)"), {"o": org})
        await c.execute(
            text(f"UPDATE imports SET {sets}, heartbeat_at = clock_timestamp() WHERE organization_id = :o AND id = :i"),
            {"o": org, "i": import_id, **values},
        )


async def run_import(engine: AsyncEngine, organization_id: str, import_id: str) -> str:
    org, iid = str(organization_id), str(import_id)
    async with engine.connect() as conn:
        await _set_tenant(conn, org)
        await conn.execute(text("SET statement_timeout = 0"))  # bulk statements on millions of rows
        # GIN indexes (tags, name trigrams) take new rows into their pending list, merged later by autovacuum,
        # instead of being rewritten every 4 MB during the import.
        await conn.execute(text("SET gin_pending_list_limit = '1GB'"))
        got = (await conn.execute(text("SELECT pg_try_advisory_lock(hashtext('import:' || :i))"), {"i": iid})).scalar()
        await conn.commit()
        if not got:
            return "busy"
        try:
            return await _run(engine, conn, org, iid)
        finally:
            await conn.rollback()
            await conn.execute(text("SELECT pg_advisory_unlock(hashtext('import:' || :i))"), {"i": iid})
            await conn.execute(text("SELECT set_config('app.organization_id', '', false)"))
            await conn.execute(text("DROP TABLE IF EXISTS import_raw, import_stage, import_ready, import_phone_fix"))
            await conn.execute(text("RESET statement_timeout"))
            await conn.execute(text("RESET gin_pending_list_limit"))
            await conn.commit()


async def _run(engine: AsyncEngine, conn: AsyncConnection, org: str, iid: str) -> str:
    row = (
        (
            await conn.execute(
                text(
                    "SELECT i.*, o.default_region FROM imports i JOIN organizations o ON o.id = i.organization_id "
                    "WHERE i.organization_id = :o AND i.id = :i"
                ),
                {"o": org, "i": iid},
            )
        )
        .mappings()
        .first()
    )
    await conn.commit()
    if row is None or row["status"] in ("done", "failed", "cancelled"):
        return row["status"] if row else "missing"
    await _progress(engine, org, iid, status="running", started_at=datetime.now(UTC), rows_done=0)
    try:
        total = await _stage_fast_or_lenient(engine, conn, org, iid, row)
        counts = await _merge(conn, org, iid, row)
    except Cancelled:
        await conn.rollback()
        log.info("import cancelled", extra={"job": "import"})
        return "cancelled"
    except Exception as e:
        await conn.rollback()
        log.exception("import failed", extra={"job": "import"})
        await _progress(
            engine,
            org,
            iid,
            status="failed",
            error=f"{type(e).__name__}: the import stopped and nothing was changed",
            finished_at=datetime.now(UTC),
        )
        return "failed"
    log.info("import done", extra={"job": "import"})
    return f"done:{total}:{counts}"


async def _stage_fast_or_lenient(engine: AsyncEngine, conn: AsyncConnection, org: str, iid: str, imp: Any) -> int:
    """COPY parses well-formed files (fast); files it refuses go through the lenient row-by-row reader, which
    rejects the bad lines one by one with their reason."""
    stored = stored_targets(imp["mapping"]["columns"])
    try:
        n = await fastpath.stage_with_copy(conn, imp, stored, _col)
        await conn.commit()
    except fastpath.COPY_ERRORS:
        await conn.rollback()
        log.info("COPY refused the file; using the lenient reader", extra={"job": "import"})
        return await _stage(engine, conn, org, iid, imp)
    if await _status(engine, org, iid) == "cancelled":
        raise Cancelled()
    await _progress(engine, org, iid, rows_done=n, rows_total=n)
    return n


async def _stage(engine: AsyncEngine, conn: AsyncConnection, org: str, iid: str, imp: Any) -> int:
    mapping: dict[str, int] = imp["mapping"]["columns"]
    stored = stored_targets(mapping)
    cols = ["line_no int", "raw text", "pre_reject text", "mobile_e164 text", "home_e164 text"] + [
        f"{_col(t)} text" for t in stored
    ]
    await conn.execute(text("DROP TABLE IF EXISTS import_stage, import_ready"))
    await conn.execute(text(f"CREATE TEMP TABLE import_stage ({', '.join(cols)})"))
    await conn.commit()
    normalizer = BulkNormalizer(imp["default_region"] or "RO")
    names = ["line_no", "raw", "pre_reject", "mobile_e164", "home_e164"] + [_col(t) for t in stored]
    raw_conn = (await conn.get_raw_connection()).driver_connection
    assert raw_conn is not None
    batches = _batches(Path(imp["file_path"]), imp, mapping, stored, normalizer)
    n = 0
    # Parsing runs in a thread so the worker's event loop (heartbeats, other jobs) keeps turning.
    while (batch := await asyncio.to_thread(next, batches, None)) is not None:
        await raw_conn.copy_records_to_table("import_stage", records=batch, columns=names)
        n += len(batch)
        if await _status(engine, org, iid) == "cancelled":
            raise Cancelled()
        await _progress(engine, org, iid, rows_done=n)
    await conn.commit()
    await _progress(engine, org, iid, rows_done=n, rows_total=n)
    return n


def _batches(
    path: Path, imp: Any, mapping: dict[str, int], stored: list[str], normalizer: BulkNormalizer
) -> Iterator[list[tuple[Any, ...]]]:
    width = imp["mapping"]["width"]
    batch: list[tuple[Any, ...]] = []
    for line, fields, raw in csvio.iter_rows(path, imp["encoding"], imp["delimiter"]):
        reject = None
        vals: dict[str, str | None] = {}
        if fields is None:
            reject, raw = raw, ""
        else:
            if len(fields) != width:
                reject = f"wrong number of columns: {len(fields)} instead of {width}"
            for t, idx in mapping.items():
                v = fields[idx].strip() if idx < len(fields) else ""
                vals[t] = v or None
            if vals.get("full_name") and not (vals.get("first_name") or vals.get("last_name")):
                first, _, last = (vals["full_name"] or "").partition(" ")
                vals["first_name"], vals["last_name"] = first, last
        mobile = normalizer.e164(vals.get("mobile"))
        home = normalizer.e164(vals.get("home_phone"))
        if reject is None and vals.get("mobile") and mobile is None:
            reject = "mobile: not a valid phone number"
        if reject is None and vals.get("home_phone") and home is None:
            reject = "home_phone: not a valid phone number"
        batch.append((line, raw[:2000], reject, mobile, home, *[vals.get(t) for t in stored]))
        if len(batch) >= BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _expr(t: str, have: set[str]) -> str:
    return f"nullif(btrim({_col(t)}), '')" if t in have else "NULL"


async def _merge(conn: AsyncConnection, org: str, iid: str, imp: Any) -> dict[str, int]:
    have = set(stored_targets(imp["mapping"]["columns"]))
    e = {t: _expr(t, have) for t in FIELDS}
    year = datetime.now(UTC).year
    lat, lon = e["lat"], e["lon"]
    latv = f"(CASE WHEN {lat} ~ '{_NUM}' THEN replace({lat}, ',', '.')::float8 END)"
    lonv = f"(CASE WHEN {lon} ~ '{_NUM}' THEN replace({lon}, ',', '.')::float8 END)"
    reject = f"""COALESCE(pre_reject, CASE
        WHEN {e["email"]} IS NOT NULL AND lower({e["email"]}) !~ '{_EMAIL}' THEN 'email: not a valid email address'
        WHEN ({lat} IS NULL) <> ({lon} IS NULL) THEN 'lat/lon: both or neither'
        WHEN {lat} IS NOT NULL AND (g.lat IS NULL OR g.lon IS NULL) THEN 'lat/lon: not a number'
        WHEN g.lat NOT BETWEEN -90 AND 90 OR g.lon NOT BETWEEN -180 AND 180 THEN 'lat/lon: out of range'
        WHEN {e["birth_year"]} IS NOT NULL AND ({e["birth_year"]} !~ '{_INT}'
             OR {e["birth_year"]}::int NOT BETWEEN 1900 AND {year}) THEN 'birth_year: expected a year'
        WHEN {e["birth_date"]} IS NOT NULL AND {e["birth_date"]} !~ '^[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}$'
             THEN 'birth_date: expected YYYY-MM-DD'
        WHEN {e["support_level"]} IS NOT NULL AND {e["support_level"]} !~ '^[1-5]$'
             THEN 'support_level: expected 1 to 5'
        WHEN {e["country"]} IS NOT NULL AND upper({e["country"]}) !~ '^[A-Z]{{2}}$' THEN 'country: expected ISO code'
        WHEN coalesce({e["first_name"]}, {e["last_name"]}, mobile_e164, home_e164, {e["email"]}) IS NULL
             THEN 'no name, phone or email'
        WHEN length(coalesce({e["first_name"]}, '')) > 200 OR length(coalesce({e["last_name"]}, '')) > 200
             OR length(coalesce({e["street"]}, '')) > 200 THEN 'a value is too long'
        END)"""
    default_tags = list(imp["default_tags"] or [])
    tags = (
        f"(CASE WHEN {e['tags']} IS NULL THEN CAST(:default_tags AS text[]) ELSE "
        f"ARRAY(SELECT DISTINCT btrim(t) FROM unnest(regexp_split_to_array({e['tags']}, '[,|;]')) t "
        f"WHERE btrim(t) <> '' AND length(btrim(t)) <= 64) || CAST(:default_tags AS text[]) END)"
    )
    flag = {f: f"coalesce(lower({e[f]}) IN {_TRUE}, false)" for f in ("donor", "volunteer", "member")}
    key = (
        f"coalesce(mobile_e164, lower({e['email']}), home_e164, lower(coalesce({e['first_name']}, '') || '|' || "
        f"coalesce({e['last_name']}, '') || '|' || coalesce({e['street']}, '') || '|' || "
        f"coalesce({e['number']}, '') || '|' || coalesce({e['city']}, '')))"
    )
    custom = [t for t in have if t.startswith("custom:")]
    custom_json = (
        ("jsonb_strip_nulls(jsonb_build_object(" + ", ".join(f"'{t[7:]}', {_expr(t, have)}" for t in custom) + "))")
        if custom
        else "'{}'::jsonb"
    )
    p = {"org": org, "iid": iid, "default_tags": default_tags}
    await conn.execute(
        text(f"""
        CREATE TEMP TABLE import_ready AS
        SELECT line_no, raw, {reject} AS reject, {key} AS dkey,
               coalesce({e["first_name"]}, '') AS first_name, coalesce({e["last_name"]}, '') AS last_name,
               mobile_e164, {e["mobile"]} AS mobile_raw, home_e164, {e["home_phone"]} AS home_raw,
               lower({e["email"]}) AS email, {e["street"]} AS street, {e["number"]} AS street_number,
               {e["building"]} AS building, {e["postal_code"]} AS postal_code, {e["city"]} AS city,
               upper({e["country"]}) AS country, g.lat, g.lon,
               {e["birth_year"]} AS birth_year, {e["birth_date"]} AS birth_date, {e["gender"]} AS gender,
               {e["language"]} AS language, {e["support_level"]} AS support_level, {tags} AS tags,
               {flag["donor"]} AS donor, {flag["volunteer"]} AS volunteer, {flag["member"]} AS member,
               {custom_json} AS custom_fields, NULL::uuid AS match_id, 1 AS rn
        FROM import_stage, LATERAL (SELECT {latv} AS lat, {lonv} AS lon) g"""),
        p,
    )
    await conn.execute(
        text("""
        INSERT INTO import_rejects (organization_id, import_id, line_no, reason, raw)
        SELECT CAST(:org AS uuid), CAST(:iid AS uuid), line_no, reject, raw FROM import_ready WHERE reject IS NOT NULL
        ON CONFLICT DO NOTHING"""),
        p,
    )
    await conn.execute(text("DELETE FROM import_ready WHERE reject IS NOT NULL"))
    await conn.execute(text("CREATE INDEX ON import_ready (line_no)"))
    await conn.execute(
        text("""
        UPDATE import_ready r SET rn = d.rn FROM (
          SELECT line_no, row_number() OVER (PARTITION BY dkey ORDER BY line_no) AS rn FROM import_ready) d
        WHERE d.line_no = r.line_no AND d.rn > 1""")
    )
    await conn.execute(text("ANALYZE import_ready"))
    for cond in (
        "c.mobile_e164 = r.mobile_e164",
        "c.email = r.email",
        "c.mobile_e164 = r.home_e164",
        "c.home_e164 = r.home_e164",
    ):
        col = cond.split(" = ")[1]
        await conn.execute(
            text(f"""
            UPDATE import_ready r SET match_id = m.id FROM (
              SELECT DISTINCT ON (r2.line_no) r2.line_no, c.id FROM import_ready r2
              JOIN contacts c ON c.organization_id = :org AND {cond.replace("r.", "r2.")}
              WHERE r2.match_id IS NULL AND {col.replace("r.", "r2.")} IS NOT NULL AND r2.rn = 1
              ORDER BY r2.line_no, c.created_at) m
            WHERE m.line_no = r.line_no"""),
            p,
        )
    await conn.execute(
        text("""
        UPDATE import_ready r SET match_id = c.id FROM contacts c
        WHERE r.match_id IS NULL AND r.rn = 1 AND r.mobile_e164 IS NULL AND r.home_e164 IS NULL AND r.email IS NULL
          AND c.organization_id = :org AND c.last_name = r.last_name AND c.first_name = r.first_name
          AND c.street IS NOT DISTINCT FROM r.street AND c.street_number IS NOT DISTINCT FROM r.street_number
          AND c.city IS NOT DISTINCT FROM r.city"""),
        p,
    )
    skipped_dups = (await conn.execute(text("SELECT count(*) FROM import_ready WHERE rn > 1"))).scalar() or 0
    await conn.execute(
        text("""
        INSERT INTO tags (organization_id, name)
        SELECT DISTINCT CAST(:org AS uuid), t FROM import_ready, unnest(tags) t WHERE rn = 1 ON CONFLICT DO NOTHING"""),
        p,
    )
    channels = list(imp["consent_channels"] or []) if imp["consent_source"] else []
    consent_cols = {ch: f"consent_{ch}" for ch in ("email", "sms", "phone", "data_processing")}
    ins_consent = ", ".join(f"CASE WHEN :ch_{ch} THEN 'granted' END" for ch in consent_cols)
    for ch in consent_cols:
        p[f"ch_{ch}"] = ch in channels
    point = "CASE WHEN lat IS NOT NULL THEN ST_SetSRID(ST_MakePoint(lon, lat), 4326) END"
    created = (
        await conn.execute(
            text(f"""
        WITH ins AS (
          INSERT INTO contacts (organization_id, id, first_name, last_name, mobile_e164, mobile_raw, home_e164,
             home_raw, email, street, street_number, building, postal_code, city, country, location, birth_year,
             birth_date,
             gender, language, support_level, tags, is_donor, is_volunteer, is_member, custom_fields, source,
             import_id,
             {", ".join(consent_cols.values())})
          SELECT CAST(:org AS uuid), gen_random_uuid(), first_name, last_name, mobile_e164, mobile_raw,
             home_e164, home_raw, email,
             street, street_number, building, postal_code, city, country, {point}, birth_year::smallint,
             birth_date::date, gender, language, support_level::smallint, tags, donor, volunteer, member,
             custom_fields, 'import', CAST(:iid AS uuid), {ins_consent}
          FROM import_ready WHERE match_id IS NULL AND rn = 1
          RETURNING id),
        cl AS (
          INSERT INTO consent_log (organization_id, contact_id, channel, status, source, proof)
          SELECT CAST(:org AS uuid), ins.id, ch, 'granted', 'import', :proof
          FROM ins, unnest(CAST(:channels AS text[])) ch
          RETURNING 1)
        SELECT (SELECT count(*) FROM ins) + 0 * (SELECT count(*) FROM cl)"""),
            {**p, "channels": channels, "proof": imp["consent_source"]},
        )
    ).scalar() or 0
    matched = (
        await conn.execute(text("SELECT count(*) FROM import_ready WHERE match_id IS NOT NULL AND rn = 1"))
    ).scalar() or 0
    updated = 0
    if imp["dedupe_policy"] == "update":
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
                country = coalesce(r.country, c.country), location = coalesce({
                    point.replace("lat", "r.lat").replace("lon", "r.lon")
                }, c.location),
                birth_year = coalesce(r.birth_year::smallint, c.birth_year),
                support_level = coalesce(r.support_level::smallint, c.support_level),
                tags = ARRAY(SELECT DISTINCT t FROM unnest(c.tags || r.tags) t ORDER BY t),
                custom_fields = c.custom_fields || r.custom_fields,
                updated_at = now()
              FROM import_ready r
              WHERE r.match_id = c.id AND c.organization_id = :org AND r.rn = 1 AND (
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
            SELECT count(*) FROM upd"""),
                p,
            )
        ).scalar() or 0
    if channels:
        # Consent from the import's source, only where the person has not answered yet: an old file
        # never overrides a withdrawal.
        for ch in channels:
            await conn.execute(
                text(f"""
                WITH upd AS (
                  UPDATE contacts c SET {consent_cols[ch]} = 'granted' FROM import_ready r
                  WHERE r.match_id = c.id AND c.organization_id = :org AND r.rn = 1 AND c.{consent_cols[ch]} IS NULL
                  RETURNING c.id)
                INSERT INTO consent_log (organization_id, contact_id, channel, status, source, proof)
                SELECT CAST(:org AS uuid), id, :ch, 'granted', 'import', :proof FROM upd"""),
                {**p, "ch": ch, "proof": imp["consent_source"]},
            )
    rejected = (
        await conn.execute(
            text("SELECT count(*) FROM import_rejects WHERE organization_id = :org AND import_id = :iid"), p
        )
    ).scalar() or 0
    done = await conn.execute(
        text("""
        UPDATE imports SET status = 'done', created_count = :c, updated_count = :u, skipped_count = :s,
          rejected_count = :r, finished_at = clock_timestamp(), heartbeat_at = clock_timestamp()
        WHERE organization_id = :org AND id = :iid AND status = 'running'"""),
        {**p, "c": created, "u": updated, "s": skipped_dups + matched - updated, "r": rejected},
    )
    if done.rowcount != 1:  # type: ignore[attr-defined]
        raise Cancelled()
    await conn.commit()
    return {"created": int(created), "updated": int(updated), "rejected": int(rejected)}

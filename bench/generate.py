"""Deterministic data generator: N contacts around Bucharest (default 1,000,000), an organization with teams and
100+ volunteers, zones, written straight into the bench database with COPY; and the CSV files of the import
benchmark in bench/data/.

    python -m bench.generate                 # SIZE env or --size, --seed; reuses what exists
    python -m bench.generate --size 2000 --force
    python -m bench.generate --csv-only

The database part writes into a *template* database `bench_base_<size>_s<seed>` of the bench cluster
(.data/bench/); the table `bench_meta` records seed, size, organization, users and tokens, migrations.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import hashlib
import json
import os
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import numpy as np

from bench import people as ppl
from bench.env import (
    CSV_DIR,
    BenchServices,
    migrate,
    migration_fingerprint,
    read_marker,
    template_name,
    write_marker,
)
from bench.zones import zone_features

DEFAULT_SIZE = 1_000_000
DEFAULT_SEED = 42
GENERATOR_VERSION = 3
CSV_VERSION = 2  # the CSV files' manifest (expected counts); the data template does not depend on it
N_VOLUNTEERS = 120
N_TEAMS = 6
PASSWORD = "bench-password"
CHUNK = 100_000


def log(msg: str) -> None:
    print(f"[generate] {msg}", flush=True)


def _uuid(seed: int, *parts: object) -> str:
    h = hashlib.sha256(f"{seed}:{':'.join(map(str, parts))}".encode()).hexdigest()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:32]}"


def _ewkb_hex(lon: np.ndarray, lat: np.ndarray) -> list[str]:
    """Hex EWKB points with SRID 4326 (what geometry's input function reads fastest)."""
    dt = np.dtype([("bo", "u1"), ("type", "<u4"), ("srid", "<u4"), ("x", "<f8"), ("y", "<f8")])
    arr = np.empty(len(lon), dtype=dt)
    arr["bo"] = 1
    arr["type"] = 0x20000001
    arr["srid"] = 4326
    arr["x"] = lon
    arr["y"] = lat
    hx = arr.tobytes().hex()
    return [hx[i : i + 50] for i in range(0, len(hx), 50)]


# ------------------------------------------------------------------------------------------ organization


async def load_org(conn: asyncpg.Connection, seed: int) -> dict[str, Any]:
    from app.core.security import hash_password, hash_token

    org_id = _uuid(seed, "org")
    await conn.execute(
        "INSERT INTO organizations (id, name, slug, timezone, default_region) "
        "VALUES ($1, 'Bench: USR București', 'bench', 'Europe/Bucharest', 'RO')",
        org_id,
    )
    pw = hash_password(PASSWORD)
    users: list[dict[str, Any]] = []
    roles = [("admin", 1), ("manager", 2), ("team_leader", N_TEAMS), ("volunteer", N_VOLUNTEERS)]
    i = 0
    for role, count in roles:
        for j in range(count):
            i += 1
            email = f"{role.replace('_', '')}{j + 1}@bench.groundgame.org"
            token = f"gg_bench{seed}_{i:04d}_{hashlib.sha256(f'{seed}{i}'.encode()).hexdigest()[:24]}"
            users.append(
                {
                    "id": _uuid(seed, "user", i),
                    "email": email,
                    "role": role,
                    "token": token,
                    "full_name": f"{role.replace('_', ' ').title()} {j + 1}",
                }
            )
    await conn.executemany(
        "INSERT INTO users (id, email, full_name, password_hash) VALUES ($1, $2, $3, $4)",
        [(u["id"], u["email"], u["full_name"], pw) for u in users],
    )
    await conn.executemany(
        "INSERT INTO memberships (organization_id, user_id, role) VALUES ($1, $2, $3)",
        [(org_id, u["id"], u["role"]) for u in users],
    )
    await conn.executemany(
        "INSERT INTO auth_tokens (token_hash, user_id, organization_id, expires_at) "
        "VALUES ($1, $2, $3, '2099-01-01T00:00:00Z')",
        [(hash_token(u["token"]), u["id"], org_id) for u in users],
    )
    leaders = [u for u in users if u["role"] == "team_leader"]
    vols = [u for u in users if u["role"] == "volunteer"]
    teams = []
    for t in range(N_TEAMS):
        tid = _uuid(seed, "team", t)
        teams.append({"id": tid, "name": f"Sector {t + 1}", "leader": leaders[t]["id"]})
        await conn.execute(
            "INSERT INTO teams (organization_id, id, name, region, leader_user_id) VALUES ($1, $2, $3, $4, $5)",
            org_id,
            tid,
            f"Sector {t + 1}",
            f"Sectorul {t + 1}",
            leaders[t]["id"],
        )
        await conn.execute(
            "INSERT INTO team_members (organization_id, team_id, user_id) VALUES ($1, $2, $3)",
            org_id,
            tid,
            leaders[t]["id"],
        )
    await conn.executemany(
        "INSERT INTO team_members (organization_id, team_id, user_id) VALUES ($1, $2, $3)",
        [(org_id, teams[k % N_TEAMS]["id"], v["id"]) for k, v in enumerate(vols)],
    )
    for k, v in enumerate(vols):
        v["team_id"] = teams[k % N_TEAMS]["id"]
    return {"organization_id": org_id, "users": users, "teams": teams}


# ------------------------------------------------------------------------------------------ contacts

CONTACT_COLUMNS = [
    "organization_id",
    "id",
    "first_name",
    "last_name",
    "mobile_e164",
    "mobile_raw",
    "mobile_invalid",
    "home_e164",
    "home_raw",
    "email",
    "street",
    "street_number",
    "building",
    "postal_code",
    "city",
    "country",
    "location",
    "birth_year",
    "gender",
    "language",
    "support_level",
    "is_donor",
    "is_volunteer",
    "is_member",
    "tags",
    "source",
    "dnc_phone",
    "dnc_sms",
    "dnc_email",
    "dnc_visit",
    "consent_email",
    "consent_sms",
    "consent_phone",
    "consent_data_processing",
    "created_at",
    "updated_at",
]
N = "\\N"


def _t(v: str | None) -> str:
    return N if v is None else v


def _b(a: np.ndarray) -> list[str]:
    return ["t" if x else "f" for x in a.tolist()]


def contact_copy_chunks(p: ppl.People, org_id: str) -> Iterator[bytes]:
    """COPY text format, CHUNK rows at a time (no value contains a tab, newline or backslash by construction)."""
    for lo in range(0, p.n, CHUNK):
        hi = min(p.n, lo + CHUNK)
        sl = slice(lo, hi)
        n = hi - lo
        loc = _ewkb_hex(p.lon[sl], p.lat[sl])
        tags = ["{" + ",".join(t) + "}" for t in p.tags[sl]]
        support = [N if s == 0 else str(s) for s in p.support_level[sl].tolist()]
        cols = [
            [org_id] * n,
            p.uuid_hex[sl],
            p.first_name[sl],
            p.last_name[sl],
            map(_t, p.mobile_e164[sl]),
            map(_t, p.mobile_raw[sl]),
            _b(p.mobile_invalid[sl]),
            map(_t, p.home_e164[sl]),
            map(_t, p.home_raw[sl]),
            map(_t, p.email[sl]),
            p.street[sl],
            p.street_number[sl],
            map(_t, p.building[sl]),
            p.postal_code[sl],
            p.city[sl],
            ["RO"] * n,
            loc,
            map(str, p.birth_year[sl].tolist()),
            p.gender[sl],
            p.language[sl],
            support,
            _b(p.is_donor[sl]),
            _b(p.is_volunteer[sl]),
            _b(p.is_member[sl]),
            tags,
            p.source[sl],
            _b(p.dnc_phone[sl]),
            _b(p.dnc_sms[sl]),
            _b(p.dnc_email[sl]),
            _b(p.dnc_visit[sl]),
            map(_t, p.consent_email[sl]),
            map(_t, p.consent_sms[sl]),
            map(_t, p.consent_phone[sl]),
            map(_t, p.consent_data_processing[sl]),
            p.created_at[sl],
            p.created_at[sl],
        ]
        yield ("\n".join(map("\t".join, zip(*cols, strict=True))) + "\n").encode()


PROOF = {
    "import": "Voter file 2023, consent form scanned",
    "app": "Recorded in app",
    "petition": "Petition signature checkbox",
    "call": "Verbal consent on call",
    "visit": "Consent at the door",
}


def consent_copy_chunks(p: ppl.People, org_id: str, counter: list[int]) -> Iterator[bytes]:
    """One consent_log row per channel with a recorded state (the contacts' current consent is derived from it)."""
    for lo in range(0, p.n, CHUNK):
        out: list[str] = []
        for ch, vals in (
            ("email", p.consent_email),
            ("sms", p.consent_sms),
            ("phone", p.consent_phone),
            ("data_processing", p.consent_data_processing),
        ):
            for i in range(lo, min(p.n, lo + CHUNK)):
                v = vals[i]
                if v is not None:
                    src = p.source[i]
                    out.append(f"{org_id}\t{p.uuid_hex[i]}\t{ch}\t{v}\t{src}\t{PROOF[src]}\t{p.created_at[i]}")
        counter[0] += len(out)
        if out:
            yield ("\n".join(out) + "\n").encode()


async def _copy(conn: asyncpg.Connection, table: str, columns: list[str], chunks: Iterator[bytes]) -> None:
    """COPY FROM STDIN; the next chunk is built in a thread while the previous one is on its way to the server."""

    async def source() -> AsyncIterator[bytes]:
        nxt = asyncio.create_task(asyncio.to_thread(next, chunks, None))
        while True:
            chunk = await nxt
            if chunk is None:
                return
            nxt = asyncio.create_task(asyncio.to_thread(next, chunks, None))
            yield chunk

    await conn.copy_to_table(table, source=source(), columns=columns, format="text")


async def _index_defs(conn: asyncpg.Connection, table: str) -> list[tuple[str, str]]:
    """Secondary indexes (not backing a constraint): dropped before the bulk load, rebuilt after."""
    rows = await conn.fetch(
        """
        SELECT i.relname AS name, pg_get_indexdef(i.oid) AS def
        FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
        WHERE x.indrelid = $1::regclass
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)""",
        table,
    )
    return [(r["name"], r["def"]) for r in rows]


async def _build_indexes(services: BenchServices, db: str, defs: list[str]) -> None:
    # Biggest first, two connections (two cores).
    order = sorted(defs, key=lambda d: (" gin " not in d.lower(), " gist " not in d.lower()))
    queue: asyncio.Queue[str] = asyncio.Queue()
    for d in order:
        queue.put_nowait(d)

    async def worker() -> None:
        conn = await services.connect(db)
        try:
            await conn.execute("SET maintenance_work_mem = '512MB'; SET max_parallel_maintenance_workers = 0")
            while not queue.empty():
                await conn.execute(queue.get_nowait())
        finally:
            await conn.close()

    await asyncio.gather(worker(), worker())


async def load_zones(conn: asyncpg.Connection, org_id: str, seed: int) -> dict[str, Any]:
    """Writes zones into the app's table when it exists (columns discovered), else only to bench/data."""
    feats = zone_features(seed)
    CSV_DIR.mkdir(parents=True, exist_ok=True)
    (CSV_DIR / f"zones_s{seed}.geojson").write_text(json.dumps({"type": "FeatureCollection", "features": feats}))
    exists = await conn.fetchval("SELECT to_regclass('public.zones') IS NOT NULL")
    if not exists:
        return {"loaded": False, "reason": "no zones table yet", "count": len(feats)}
    cols = {
        r["column_name"]: r
        for r in await conn.fetch(
            "SELECT column_name, data_type, udt_name, is_nullable, column_default FROM information_schema.columns "
            "WHERE table_name = 'zones' AND table_schema = 'public'"
        )
    }
    geom_col = next((c for c, r in cols.items() if r["udt_name"] == "geometry"), None)
    if geom_col is None:
        return {"loaded": False, "reason": "zones table has no geometry column", "count": len(feats)}
    ids: list[str] = []
    try:
        async with conn.transaction():
            for k, f in enumerate(feats):
                zid = _uuid(seed, "zone", k)
                values: dict[str, Any] = {
                    "organization_id": org_id,
                    "id": zid,
                    "name": f["properties"]["name"],
                    "kind": f["properties"]["kind"],
                    "code": f["properties"]["code"],
                    "vertex_count": int(f["properties"]["vertices"]),
                    "attributes": json.dumps(
                        {"generated": f["properties"]["generated"], "holes": f["properties"]["holes"]}
                    ),
                }
                names = [c for c in values if c in cols]
                params = [values[c] for c in names]
                ph = [f"${i + 1}" for i in range(len(names))]
                names.append(geom_col)
                params.append(json.dumps(f["geometry"]))
                ph.append(f"ST_Multi(ST_SetSRID(ST_GeomFromGeoJSON(${len(params)}), 4326))")
                await conn.execute(f"INSERT INTO zones ({', '.join(names)}) VALUES ({', '.join(ph)})", *params)
                ids.append(zid)
    except asyncpg.PostgresError as e:
        return {"loaded": False, "reason": f"zones insert failed: {e}", "count": len(feats)}
    await conn.execute("ANALYZE zones")
    # Subdivided pieces, when the app keeps them in a table we can fill the same way.
    pieces = await conn.fetchval("SELECT to_regclass('public.zone_pieces') IS NOT NULL")
    note = ""
    if pieces:
        try:
            async with conn.transaction():
                await conn.execute(
                    "INSERT INTO zone_pieces (organization_id, zone_id, piece_no, geom) "
                    "SELECT organization_id, id, row_number() OVER (PARTITION BY id), g FROM "
                    f"(SELECT organization_id, id, ST_Subdivide({geom_col}, 256) AS g FROM zones) s"
                )
            await conn.execute("ANALYZE zone_pieces")
        except asyncpg.PostgresError as e:
            note = f"zone_pieces not filled ({e.__class__.__name__}: {e})"
    return {"loaded": True, "count": len(feats), "ids": ids, "note": note}


async def ensure_zones(services: BenchServices, db: str, marker: dict[str, Any]) -> None:
    """Zones land after the contacts: load them into an existing template once the app's table exists."""
    if marker.get("zones", {}).get("loaded"):
        return
    conn = await services.connect(db)
    try:
        if not await conn.fetchval("SELECT to_regclass('public.zones') IS NOT NULL"):
            return
        async with conn.transaction():
            await conn.execute("DELETE FROM zones WHERE organization_id = $1", marker["organization_id"])
            marker["zones"] = await load_zones(conn, marker["organization_id"], marker["seed"])
            await write_marker(conn, marker)
        log(
            f"{db}: zones {marker['zones'].get('count')} loaded={marker['zones'].get('loaded')} "
            f"{marker['zones'].get('reason', '')}{marker['zones'].get('note', '')}"
        )
    finally:
        await conn.close()


async def generate_database(services: BenchServices, size: int, seed: int, *, force: bool = False) -> dict[str, Any]:
    """Ensures the template database for (size, seed) exists, is complete and migrated. Returns its marker."""
    db = template_name(size, seed)
    fp = migration_fingerprint()
    if await services.database_exists(db) and not force:
        conn = await services.connect(db)
        try:
            marker = await read_marker(conn)
        finally:
            await conn.close()
        if marker and marker.get("complete") and marker.get("version") == GENERATOR_VERSION:
            old = marker.get("migrations", {})
            if all(fp.get(k) == v for k, v in old.items()):
                if set(fp) != set(old):
                    log(f"{db}: new migrations, upgrading in place")
                    await asyncio.to_thread(migrate, services, db)
                    conn = await services.connect(db)
                    try:
                        marker["migrations"] = fp
                        await write_marker(conn, marker)
                    finally:
                        await conn.close()
                await ensure_zones(services, db, marker)
                return marker
            log(f"{db}: migrations changed since generation: regenerating")
        else:
            log(f"{db}: incomplete or older generator: regenerating")
    t0 = time.perf_counter()
    await services.create_database(db)
    await asyncio.to_thread(migrate, services, db)
    t_mig = time.perf_counter() - t0
    conn = await services.connect(db)
    timings: dict[str, float] = {"migrate": round(t_mig, 1)}
    try:
        await conn.execute("SET session_replication_role = replica; SET synchronous_commit = off")
        org = await load_org(conn, seed)
        org_id = org["organization_id"]
        t = time.perf_counter()
        streets = ppl.make_streets(seed, size)
        p = ppl.population(seed, size, stream=0, streets=streets)
        timings["python"] = round(time.perf_counter() - t, 1)
        log(f"{size:,} people generated in {timings['python']}s")
        contact_idx = await _index_defs(conn, "contacts")
        consent_idx = await _index_defs(conn, "consent_log")
        for name, _ in contact_idx + consent_idx:
            await conn.execute(f'DROP INDEX "{name}"')
        t = time.perf_counter()
        await _copy(conn, "contacts", CONTACT_COLUMNS, contact_copy_chunks(p, org_id))
        timings["copy_contacts"] = round(time.perf_counter() - t, 1)
        t = time.perf_counter()
        n_consents_box = [0]
        await _copy(
            conn,
            "consent_log",
            ["organization_id", "contact_id", "channel", "status", "source", "proof", "recorded_at"],
            consent_copy_chunks(p, org_id, n_consents_box),
        )
        n_consents = n_consents_box[0]
        timings["copy_consents"] = round(time.perf_counter() - t, 1)
        tag_rows = [(org_id, name) for name, _ in ppl.vocab.TAGS]
        await conn.executemany(
            "INSERT INTO tags (organization_id, name) VALUES ($1, $2) ON CONFLICT DO NOTHING", tag_rows
        )
        zones = await load_zones(conn, org_id, seed)
        log(
            f"COPY contacts {timings['copy_contacts']}s, consent_log ({n_consents:,}) {timings['copy_consents']}s; "
            f"rebuilding {len(contact_idx) + len(consent_idx)} indexes"
        )
        t = time.perf_counter()
        await _build_indexes(services, db, [d for _, d in contact_idx + consent_idx])
        timings["indexes"] = round(time.perf_counter() - t, 1)
        t = time.perf_counter()
        await conn.execute("VACUUM (FREEZE, ANALYZE) contacts")
        await conn.execute("VACUUM (ANALYZE) consent_log")
        await conn.execute("ANALYZE")
        timings["vacuum"] = round(time.perf_counter() - t, 1)
        t = time.perf_counter()  # the COPYs fired no trigger (replica): the dashboard's rollups from the rows
        await conn.execute("SET session_replication_role = origin")
        await conn.execute("SELECT gg_dashboard_rollups_rebuild($1)", org_id)
        await conn.execute("SET session_replication_role = replica")
        timings["rollups"] = round(time.perf_counter() - t, 1)
        pensions_phone = int(
            sum(
                1
                for i in range(p.n)
                if (p.tag_bits[i] & 1) and (p.mobile_e164[i] is not None or p.home_e164[i] is not None)
            )
        )
        marker = {
            "complete": True,
            "version": GENERATOR_VERSION,
            "seed": seed,
            "size": size,
            "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "seconds": round(time.perf_counter() - t0, 1),
            "timings": timings,
            "migrations": fp,
            "organization_id": org_id,
            "users": org["users"],
            "teams": org["teams"],
            "zones": zones,
            "counts": {
                "contacts": size,
                "consent_log": n_consents,
                "households": int(p.household.max()) + 1,
                "streets": len(streets.name),
                "pensions_with_phone": pensions_phone,
            },
        }
        await write_marker(conn, marker)
    finally:
        await conn.close()
    log(f"{db}: {size:,} contacts in {marker['seconds']}s ({timings})")
    return marker


# ------------------------------------------------------------------------------------------ CSV files

CSV_HEADER = [
    "first_name",
    "last_name",
    "mobile",
    "home_phone",
    "email",
    "street",
    "number",
    "building",
    "postal_code",
    "city",
    "lat",
    "lon",
    "birth_year",
    "tags",
    "support_level",
]
INVALID_KINDS = [
    "no_identity",
    "bad_lat",
    "bad_birth_year",
    "bad_support_level",
    "bad_email",
    "short_row",
    "lat_out_of_range",
]


def csv_paths(size: int, seed: int) -> dict[str, Path]:
    base = f"voters_{size}_s{seed}"
    return {
        "main": CSV_DIR / f"{base}.csv",
        "latin1": CSV_DIR / f"{base}_latin1.csv",
        "cp1250": CSV_DIR / f"{base}_cp1250.csv",
        "semicolon": CSV_DIR / f"{base}_semicolon.csv",
        "manifest": CSV_DIR / f"{base}.manifest.json",
    }


def _person_row(p: ppl.People, i: int, style: int, upper: bool = False) -> list[str]:
    mob = p.mobile_e164[i]
    hom = p.home_e164[i]
    first, last = p.first_name[i], p.last_name[i]
    if upper:
        first, last = first.upper(), last.upper()
    return [
        first,
        last,
        ppl.raw_mobile(mob, style) if mob else (p.mobile_raw[i] or ""),
        ppl.raw_home(hom, style) if hom else "",
        p.email[i] or "",
        p.street[i],
        p.street_number[i],
        p.building[i] or "",
        p.postal_code[i],
        p.city[i],
        f"{p.lat[i]:.6f}",
        f"{p.lon[i]:.6f}",
        str(p.birth_year[i]),
        ";".join(p.tags[i]),
        "" if p.support_level[i] == 0 else str(p.support_level[i]),
    ]


def _invalid(row: list[str], kind: str) -> list[str]:
    r = list(row)
    if kind == "no_identity":
        r[0] = r[1] = r[2] = r[3] = r[4] = ""
    elif kind == "bad_lat":
        r[10] = "44.4x7"
    elif kind == "bad_birth_year":
        r[12] = "19x5"
    elif kind == "bad_support_level":
        r[14] = "9"
    elif kind == "bad_email":
        r[4] = r[4].replace("@", "@@") if r[4] else "ion.popescu@@gmail"
        r[2] = r[3] = ""
    elif kind == "short_row":
        r = r[:6]
    elif kind == "lat_out_of_range":
        r[10], r[11] = "144.430000", "226.100000"
    return r


def _same_name_and_address(new: ppl.People, n_new: int, base: ppl.People) -> int:
    """New people with no phone and no email whom the import's rule matches on name + street + number + city:
    an earlier line of the file (compared case-insensitively) or a base contact (exactly). Not created."""
    base_keys = set(zip(base.first_name, base.last_name, base.street, base.street_number, base.city, strict=True))
    seen: set[str] = set()
    same = 0
    for i in range(n_new):
        if new.mobile_invalid[i] or new.mobile_e164[i] or new.home_e164[i] or new.email[i]:
            continue
        key = (new.first_name[i], new.last_name[i], new.street[i], new.street_number[i], new.city[i])
        folded = "|".join(key).lower()
        if folded in seen or key in base_keys:
            same += 1
        seen.add(folded)
    return same


def build_import_rows(
    size: int, seed: int, rows: int, base: ppl.People | None = None, streets: ppl.Streets | None = None
) -> tuple[list[list[str]], dict[str, Any]]:
    """rows lines: 93% new people, 5% duplicates of base contacts (phone/email typed differently), 2% invalid."""
    rng = np.random.default_rng([seed, 500, rows])
    streets = streets or ppl.make_streets(seed, size)
    base = base or ppl.population(seed, size, stream=0, streets=streets)
    n_dup = int(rows * 0.05)
    n_bad = int(rows * 0.02)
    n_new = rows - n_dup - n_bad
    new = ppl.population(seed, n_new, stream=1, index_offset=size, streets=streets)
    # Duplicates: base contacts reachable by a key (mobile, home or email).
    keyed = np.flatnonzero(
        np.array(
            [
                (m is not None or h is not None or e is not None) and not bad
                for m, h, e, bad in zip(
                    base.mobile_e164, base.home_e164, base.email, base.mobile_invalid.tolist(), strict=True
                )
            ]
        )
    )
    dup_idx = rng.choice(keyed, size=min(n_dup, len(keyed)), replace=False)
    styles = rng.integers(0, 1000, rows).tolist()
    out: list[list[str]] = [_person_row(new, i, styles[i]) for i in range(n_new)]
    for j, i in enumerate(dup_idx.tolist()):
        out.append(_person_row(base, i, styles[n_new + j] + 3, upper=(j % 7 == 0)))
    kinds = rng.integers(0, len(INVALID_KINDS), n_bad).tolist()
    bad_src = rng.integers(0, n_new, n_bad).tolist()
    kind_counts: dict[str, int] = {}
    fresh = ppl.mobile_e164(np.arange(n_bad, dtype=np.int64) + size + n_new)
    for j, (k, src) in enumerate(zip(kinds, bad_src, strict=True)):
        kind = INVALID_KINDS[k]
        kind_counts[kind] = kind_counts.get(kind, 0) + 1
        row = _person_row(new, src, styles[src] + 1)
        # Not the new person's own phone/email again (that would be an in-file duplicate): a fresh number.
        row[2], row[3], row[4] = ppl.raw_mobile(fresh[j], j), "", ""
        out.append(_invalid(row, kind))
    order = rng.permutation(len(out))
    out = [out[i] for i in order.tolist()]
    # New people whose typed mobile is garbage (0.7%) are rejected rows too (a phone given but not a phone).
    garbage = int(new.mobile_invalid.sum())
    kind_counts["garbage_mobile"] = garbage
    same = _same_name_and_address(new, n_new, base)
    meta = {
        "rows": len(out),
        "new": n_new,
        "duplicates": len(dup_idx),
        "invalid": n_bad + garbage,
        "invalid_kinds": kind_counts,
        "expected_created": n_new - garbage - same,
        "same_name_and_address": same,
        "expected_updated_or_skipped": len(dup_idx),
        "expected_rejected": n_bad + garbage,
    }
    return out, meta


def _latin1(s: str) -> str:
    return s.translate(str.maketrans("ăĂșȘşŞțȚţŢ", "aAsSsStTtT"))


def _cedilla(s: str) -> str:
    return s.translate(str.maketrans("șȘțȚ", "şŞţŢ"))


def write_csvs(
    size: int, seed: int, *, force: bool = False, base: ppl.People | None = None, streets: ppl.Streets | None = None
) -> dict[str, Any]:
    paths = csv_paths(size, seed)
    if (
        not force
        and paths["manifest"].exists()
        and json.loads(paths["manifest"].read_text()).get("generator_version") == GENERATOR_VERSION
        and json.loads(paths["manifest"].read_text()).get("csv_version") == CSV_VERSION
        and all(paths[k].exists() for k in ("main", "latin1", "cp1250", "semicolon"))
    ):
        return json.loads(paths["manifest"].read_text())
    CSV_DIR.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    rows, meta = build_import_rows(size, seed, size, base=base, streets=streets)
    with paths["main"].open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(CSV_HEADER)
        w.writerows(rows)
    small = max(1000, min(size // 20, 50_000))
    vrows, vmeta = build_import_rows(size, seed, small, base=base, streets=streets)
    with paths["latin1"].open("w", encoding="latin-1", newline="") as f:
        w = csv.writer(f, lineterminator="\r\n")
        w.writerow(CSV_HEADER)
        w.writerows([[_latin1(c) for c in r] for r in vrows])
    with paths["cp1250"].open("w", encoding="cp1250", newline="") as f:
        w = csv.writer(f, lineterminator="\r\n")
        w.writerow(CSV_HEADER)
        w.writerows([[_cedilla(c) for c in r] for r in vrows])
    with paths["semicolon"].open("w", encoding="utf-8-sig", newline="") as f:
        w = csv.writer(f, delimiter=";", lineterminator="\r\n")
        w.writerow(CSV_HEADER)
        for r in vrows:
            r = list(r)
            if len(r) > 11:
                r[10], r[11] = r[10].replace(".", ","), r[11].replace(".", ",")  # Excel (ro-RO) decimal commas
            w.writerow(r)
    manifest = {
        "seed": seed,
        "size": size,
        "generator_version": GENERATOR_VERSION,
        "csv_version": CSV_VERSION,
        "header": CSV_HEADER,
        "files": {
            "main": {"path": paths["main"].name, "encoding": "utf-8", "delimiter": ",", **meta},
            "latin1": {
                "path": paths["latin1"].name,
                "encoding": "latin-1",
                "delimiter": ",",
                "note": "ă ș ț folded to a s t (Latin-1 has only â î)",
                **vmeta,
            },
            "cp1250": {
                "path": paths["cp1250"].name,
                "encoding": "windows-1250",
                "delimiter": ",",
                "note": "ș ț in cedilla form (ş ţ)",
                **vmeta,
            },
            "semicolon": {
                "path": paths["semicolon"].name,
                "encoding": "utf-8-sig",
                "delimiter": ";",
                "note": "Excel export: BOM, ';', decimal commas in lat/lon",
                **vmeta,
            },
        },
        "tags_separator": ";",
        "seconds": round(time.perf_counter() - t0, 1),
    }
    paths["manifest"].write_text(json.dumps(manifest, indent=2))
    log(f"CSV files for size {size:,} written in {manifest['seconds']}s to {CSV_DIR}")
    return manifest


def size_from_env(default: int = DEFAULT_SIZE) -> int:
    raw = os.environ.get("SIZE", "").replace("_", "").replace(",", "")
    if not raw:
        return default
    mult = 1
    if raw[-1] in "kK":
        mult, raw = 1000, raw[:-1]
    elif raw[-1] in "mM":
        mult, raw = 1_000_000, raw[:-1]
    return int(float(raw) * mult)


async def _main(args: argparse.Namespace) -> None:
    if not args.csv_only:
        services = BenchServices()
        services.lock()
        services.start()
        try:
            marker = await generate_database(services, args.size, args.seed, force=args.force)
            log(f"template {template_name(args.size, args.seed)} ready (generated {marker['generated_at']})")
        finally:
            if not args.keep_running:
                services.stop()
    if not args.db_only:
        write_csvs(args.size, args.seed, force=args.force)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=size_from_env())
    ap.add_argument("--seed", type=int, default=int(os.environ.get("SEED", DEFAULT_SEED)))
    ap.add_argument("--force", action="store_true", help="regenerate even if present")
    ap.add_argument("--csv-only", action="store_true")
    ap.add_argument("--db-only", action="store_true")
    ap.add_argument("--keep-running", action="store_true", help="leave the bench cluster and Redis running")
    asyncio.run(_main(ap.parse_args()))


if __name__ == "__main__":
    main()

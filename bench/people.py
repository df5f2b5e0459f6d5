"""Deterministic synthetic population of Bucharest (and a few Ilfov towns): column arrays, vectorized with numpy.

`population(seed, n, stream)` is a pure function: the same (seed, n, stream) gives the same people, so the CSV
files can be regenerated without the database, and their 5% duplicates point at real base contacts.
"""

from __future__ import annotations

import json
import math
import unicodedata
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np
import shapely
from shapely.geometry import shape

from bench import vocab

# The real sector boundaries (ANCPI, OGL-ROU 1.0) ship with the app for the demo seed.
SECTORS_FILE = Path(__file__).resolve().parent.parent / "app" / "seed_data" / "bucharest-sectors.geojson"
YEAR = 2026  # fixed "now" so the data does not depend on the day it is generated
M_PER_DEG_LAT = 111_320.0
M_PER_DEG_LON = 111_320.0 * math.cos(math.radians(44.43))

# Phone numbers come from affine permutations of a contact index: unique, deterministic, no collisions.
# Mobiles: +40 72x…77x (ranges phonenumbers knows as valid Romanian mobiles); Bucharest landlines +40 21 x.
MOBILE_SPAN, MOBILE_A, MOBILE_B = 60_000_000, 7_654_321, 13_579_111
HOME_SPAN, HOME_A, HOME_B = 7_000_000, 1_234_567, 424_242


@cache
def sectors() -> tuple[list[str], list[shapely.Geometry], list[dict[str, object]]]:
    data = json.loads(SECTORS_FILE.read_text())
    names = [f["properties"]["name"] for f in data["features"]]
    geoms = [shape(f["geometry"]) for f in data["features"]]
    for g in geoms:
        shapely.prepare(g)
    return names, geoms, [f["geometry"] for f in data["features"]]


@cache
def city_union() -> shapely.Geometry:
    u = shapely.union_all(sectors()[1])
    shapely.prepare(u)
    return u


def slug(s: str) -> str:
    return unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode().lower().replace(" ", "")


def mobile_e164(k: np.ndarray) -> list[str]:
    num = 20_000_000 + (MOBILE_A * k.astype(np.int64) + MOBILE_B) % MOBILE_SPAN  # 7 + 20000000…79999999
    return ["+407" + str(v) for v in num.tolist()]


def home_e164(k: np.ndarray) -> list[str]:
    num = 2_000_000 + (HOME_A * k.astype(np.int64) + HOME_B) % HOME_SPAN
    return ["+4021" + str(v) for v in num.tolist()]


def raw_mobile(e164: str, style: int) -> str:
    """How people type a Romanian mobile number (e164 = +407XXXXXXXX)."""
    n = "0" + e164[3:]  # 07XXXXXXXX
    return [
        n,
        f"{n[:4]} {n[4:7]} {n[7:]}",
        e164,
        f"+40 {n[1:4]} {n[4:7]} {n[7:]}",
        f"0040-{n[1:4]}-{n[4:7]}-{n[7:]}",
        f"{n[:4]}.{n[4:7]}.{n[7:]}",
        f"({n[:4]}) {n[4:]}",
        f"+40-{n[1:4]}-{n[4:]}",
        f"{n[:4]}-{n[4:]}",
        f"0040{n[1:]}",
    ][style % 10]


def raw_home(e164: str, style: int) -> str:
    """Bucharest landlines (e164 = +4021XXXXXXX)."""
    n = "0" + e164[3:]  # 021XXXXXXX
    return [
        n,
        f"{n[:3]} {n[3:6]} {n[6:]}",
        e164,
        f"+40 21 {n[3:6]} {n[6:]}",
        f"{n[:3]}-{n[3:6]}.{n[6:8]}.{n[8:]}",
        f"({n[:3]}) {n[3:6]} {n[6:]}",
    ][style % 6]


@dataclass
class Streets:
    name: list[str]
    sector: np.ndarray  # 1..6, 0 = Ilfov town
    city: list[str]
    postal: list[str]
    x0: np.ndarray
    y0: np.ndarray
    dx: np.ndarray  # unit direction in metres
    dy: np.ndarray
    length_m: np.ndarray
    max_no: np.ndarray
    blocks: np.ndarray  # share of households in apartment blocks on that street


def _points_in(rng: np.random.Generator, geom: shapely.Geometry, n: int) -> tuple[np.ndarray, np.ndarray]:
    minx, miny, maxx, maxy = geom.bounds
    xs: list[np.ndarray] = []
    ys: list[np.ndarray] = []
    have = 0
    while have < n:
        x = rng.uniform(minx, maxx, n * 2)
        y = rng.uniform(miny, maxy, n * 2)
        ok = shapely.contains_xy(geom, x, y)
        xs.append(x[ok])
        ys.append(y[ok])
        have += int(ok.sum())
    return np.concatenate(xs)[:n], np.concatenate(ys)[:n]


def make_streets(seed: int, n_people: int) -> Streets:
    rng = np.random.default_rng([seed, 1])
    _, geoms, _ = sectors()
    n_city = int(np.clip(n_people // 250, 120, 4000))
    weights = np.array(vocab.SECTOR_POPULATION, dtype=float)
    sector = rng.choice(np.arange(1, 7), size=n_city, p=weights / weights.sum())
    x0 = np.empty(n_city)
    y0 = np.empty(n_city)
    for s in range(1, 7):
        idx = np.flatnonzero(sector == s)
        x0[idx], y0[idx] = _points_in(rng, geoms[s - 1], len(idx))
    n_ilfov = max(8, n_city // 60)
    town = rng.integers(0, len(vocab.ILFOV), n_ilfov)
    tx = np.array([vocab.ILFOV[t][1] for t in town]) + rng.normal(0, 0.008, n_ilfov)
    ty = np.array([vocab.ILFOV[t][2] for t in town]) + rng.normal(0, 0.006, n_ilfov)
    n = n_city + n_ilfov
    types, tw = zip(*vocab.STREET_TYPES, strict=True)
    tw_arr = np.array(tw, dtype=float)
    st_type = rng.choice(len(types), size=n, p=tw_arr / tw_arr.sum())
    st_name = rng.integers(0, len(vocab.STREET_NAMES), n)
    names = [f"{types[t]} {vocab.STREET_NAMES[k]}" for t, k in zip(st_type.tolist(), st_name.tolist(), strict=True)]
    angle = rng.uniform(0, math.pi, n)
    length = np.where(np.array(st_type) == 1, rng.uniform(1500, 4000, n), rng.uniform(150, 1800, n))
    max_no = np.maximum(4, (length / 14).astype(np.int64))
    pc4 = rng.integers(11, 9999, n)
    postal = [f"0{s}{p:04d}" for s, p in zip(sector.tolist(), pc4[:n_city].tolist(), strict=False)]
    postal += [vocab.ILFOV[t][3] for t in town.tolist()]
    city = ["București"] * n_city + [vocab.ILFOV[t][0] for t in town.tolist()]
    blocks = np.concatenate([rng.uniform(0.3, 0.95, n_city), rng.uniform(0.0, 0.2, n_ilfov)])
    return Streets(
        name=names,
        sector=np.concatenate([sector, np.zeros(n_ilfov, dtype=sector.dtype)]),
        city=city,
        postal=postal,
        x0=np.concatenate([x0, tx]),
        y0=np.concatenate([y0, ty]),
        dx=np.cos(angle),
        dy=np.sin(angle),
        length_m=length,
        max_no=max_no,
        blocks=blocks,
    )


@dataclass
class People:
    """Column arrays for n people. Text columns are lists (None = NULL); numeric ones numpy arrays."""

    n: int
    uuid_hex: list[str]
    first_name: list[str]
    last_name: list[str]
    gender: list[str]
    mobile_e164: list[str | None]
    mobile_raw: list[str | None]
    mobile_invalid: np.ndarray
    home_e164: list[str | None]
    home_raw: list[str | None]
    email: list[str | None]
    street: list[str]
    street_number: list[str]
    building: list[str | None]
    postal_code: list[str]
    city: list[str]
    lon: np.ndarray
    lat: np.ndarray
    household: np.ndarray
    birth_year: np.ndarray
    support_level: np.ndarray  # 0 = unknown
    tags: list[list[str]]
    tag_bits: np.ndarray
    is_donor: np.ndarray
    is_volunteer: np.ndarray
    is_member: np.ndarray
    consent_email: list[str | None]
    consent_sms: list[str | None]
    consent_phone: list[str | None]
    consent_data_processing: list[str | None]
    dnc_phone: np.ndarray
    dnc_sms: np.ndarray
    dnc_email: np.ndarray
    dnc_visit: np.ndarray
    source: list[str]
    language: list[str]
    created_at: list[str]
    extra: dict[str, object] = field(default_factory=dict)


def _pick(rng: np.random.Generator, choices: list[tuple[str | None, float]], n: int) -> list[str | None]:
    vals = [c[0] for c in choices]
    p = np.array([c[1] for c in choices], dtype=float)
    idx = rng.choice(len(vals), size=n, p=p / p.sum())
    return [vals[i] for i in idx.tolist()]


def population(seed: int, n: int, *, stream: int = 0, index_offset: int = 0, streets: Streets | None = None) -> People:
    """n people in households. stream separates independent populations (0 = the base, 1 = new people in the
    import file); index_offset keeps their phone numbers and emails disjoint from the base's."""
    rng = np.random.default_rng([seed, 100 + stream])
    st = streets or make_streets(seed, n)
    # Households: sizes 1..6, until n people.
    sizes = rng.choice(np.arange(1, 7), size=n // 2 + 10, p=[0.30, 0.30, 0.20, 0.12, 0.06, 0.02])
    cum = np.cumsum(sizes)
    n_h = int(np.searchsorted(cum, n) + 1)
    sizes = sizes[:n_h]
    household = np.repeat(np.arange(n_h), sizes)[:n]
    # Each household: a street (longer streets hold more), a number, maybe a block/entrance/apartment.
    w = st.max_no.astype(float)
    h_street = rng.choice(len(st.name), size=n_h, p=w / w.sum())
    h_no = (rng.random(n_h) * st.max_no[h_street]).astype(np.int64) + 1
    side = np.where(h_no % 2 == 0, 1.0, -1.0)
    t = (h_no / st.max_no[h_street]) * st.length_m[h_street]
    off = side * 12.0 + rng.normal(0, 4.0, n_h)
    mx = st.dx[h_street] * t - st.dy[h_street] * off + rng.normal(0, 3.0, n_h)
    my = st.dy[h_street] * t + st.dx[h_street] * off + rng.normal(0, 3.0, n_h)
    h_lon = st.x0[h_street] + mx / M_PER_DEG_LON
    h_lat = st.y0[h_street] + my / M_PER_DEG_LAT
    # A street running past the city limits: keep those houses near its (in-city) start instead.
    city_street = st.sector[h_street] > 0
    inside = shapely.contains_xy(city_union(), h_lon, h_lat)
    spill = city_street & ~inside
    h_lon = np.where(spill, st.x0[h_street] + rng.normal(0, 40, n_h) / M_PER_DEG_LON, h_lon)
    h_lat = np.where(spill, st.y0[h_street] + rng.normal(0, 40, n_h) / M_PER_DEG_LAT, h_lat)
    in_block = rng.random(n_h) < st.blocks[h_street]
    suffix = rng.random(n_h)
    h_no_s = [
        f"{v}{'A' if s < 0.03 else 'B' if s < 0.045 else ' bis' if s < 0.05 else ''}"
        for v, s in zip(h_no.tolist(), suffix.tolist(), strict=True)
    ]
    blk_letter = rng.choice(list("ABCDEFGHMPST"), size=n_h)
    blk_no = rng.integers(1, 40, n_h)
    sc = rng.integers(1, 5, n_h)
    ap = rng.integers(1, 90, n_h)
    h_building = [
        f"Bl. {a}{b}, Sc. {c}, Ap. {d}" if blk else None
        for blk, a, b, c, d in zip(
            in_block.tolist(), blk_letter.tolist(), blk_no.tolist(), sc.tolist(), ap.tolist(), strict=True
        )
    ]
    h_last = rng.integers(0, len(vocab.LAST_NAMES), n_h)

    # People.
    own_last = rng.random(n) < 0.12
    last_idx = np.where(own_last, rng.integers(0, len(vocab.LAST_NAMES), n), h_last[household])
    female = rng.random(n) < 0.53
    fi = rng.integers(0, 60, n)
    first = [
        vocab.FEMALE_FIRST[i] if f else vocab.MALE_FIRST[i] for f, i in zip(female.tolist(), fi.tolist(), strict=True)
    ]
    last = [vocab.LAST_NAMES[i] for i in last_idx.tolist()]
    age = np.clip(rng.normal(49, 17, n), 18, 98).astype(np.int64)
    birth_year = YEAR - age
    k = np.arange(n, dtype=np.int64) + index_offset
    # Phones: mobile only 55%, both 17%, home only 8%, none 20%; 0.7% of typed mobiles are garbage.
    r = rng.random(n)
    has_mobile = r < 0.72
    has_home = (r >= 0.55) & (r < 0.80)
    mob = mobile_e164(k)
    hom = home_e164(k)
    style = rng.integers(0, 1000, n).tolist()
    bad_mobile = rng.random(n) < 0.007
    m_e164: list[str | None] = []
    m_raw: list[str | None] = []
    for i, (hm, bad) in enumerate(zip(has_mobile.tolist(), bad_mobile.tolist(), strict=True)):
        if not hm:
            m_e164.append(None)
            m_raw.append(None)
        elif bad:
            m_e164.append(None)
            m_raw.append("0" + mob[i][3:8])
        else:
            m_e164.append(mob[i])
            m_raw.append(raw_mobile(mob[i], style[i]))
    h_e164 = [hom[i] if h else None for i, h in enumerate(has_home.tolist())]
    h_raw = [raw_home(hom[i], style[i] // 10) if h else None for i, h in enumerate(has_home.tolist())]
    # Emails (~52%), unique thanks to k.
    has_email = rng.random(n) < 0.52
    doms, dw = zip(*vocab.EMAIL_DOMAINS, strict=True)
    dw_arr = np.array(dw, dtype=float)
    dom = rng.choice(len(doms), size=n, p=dw_arr / dw_arr.sum()).tolist()
    pat = rng.integers(0, 3, n).tolist()
    email: list[str | None] = []
    for i, he in enumerate(has_email.tolist()):
        if not he:
            email.append(None)
            continue
        f, la = slug(first[i]), slug(last[i])
        local = (f"{f}.{la}{k[i]}", f"{la}.{f}{k[i]}", f"{f}{k[i]}{la}")[pat[i]]
        email.append(f"{local}@{doms[dom[i]]}")
    # Support level (0 = unknown), flags, tags.
    support = rng.choice(6, size=n, p=[0.55, 0.10, 0.10, 0.12, 0.07, 0.06])
    bits = np.zeros(n, dtype=np.int64)
    for j, (_, share) in enumerate(vocab.TAGS):
        bits |= (rng.random(n) < share).astype(np.int64) << j
    uniq, inv = np.unique(bits, return_inverse=True)
    combos = [[vocab.TAGS[j][0] for j in range(len(vocab.TAGS)) if (int(u) >> j) & 1] for u in uniq.tolist()]
    tags = [combos[i] for i in inv.tolist()]
    # Consents (only where the channel exists), do-not-contact.
    consent_dp = _pick(rng, [("granted", 0.70), (None, 0.28), ("withdrawn", 0.02)], n)
    ce = _pick(rng, [("granted", 0.60), (None, 0.37), ("withdrawn", 0.03)], n)
    cs = _pick(rng, [("granted", 0.40), (None, 0.57), ("withdrawn", 0.03)], n)
    cp = _pick(rng, [("granted", 0.50), (None, 0.47), ("withdrawn", 0.03)], n)
    consent_email = [c if e is not None else None for c, e in zip(ce, email, strict=True)]
    consent_sms = [c if m is not None else None for c, m in zip(cs, m_e164, strict=True)]
    consent_phone = [
        c if (m is not None or h is not None) else None for c, m, h in zip(cp, m_e164, h_e164, strict=True)
    ]
    created = np.datetime64("2023-01-01T00:00:00") + rng.integers(0, 3 * 365 * 86400 + 300 * 86400, n).astype(
        "timedelta64[s]"
    )
    created_at = [s + "Z" for s in np.datetime_as_string(created, unit="s").tolist()]
    ids = bytearray(rng.bytes(16 * n))
    arr = np.frombuffer(ids, dtype=np.uint8).reshape(n, 16)
    arr[:, 6] = (arr[:, 6] & 0x0F) | 0x40
    arr[:, 8] = (arr[:, 8] & 0x3F) | 0x80
    hx = arr.tobytes().hex()
    uuid_hex = [hx[i : i + 32] for i in range(0, 32 * n, 32)]
    street_name = [st.name[s] for s in h_street.tolist()]
    return People(
        n=n,
        uuid_hex=uuid_hex,
        first_name=first,
        last_name=last,
        gender=["female" if f else "male" for f in female.tolist()],
        mobile_e164=m_e164,
        mobile_raw=m_raw,
        mobile_invalid=bad_mobile & has_mobile,
        home_e164=h_e164,
        home_raw=h_raw,
        email=email,
        street=[street_name[h] for h in household.tolist()],
        street_number=[h_no_s[h] for h in household.tolist()],
        building=[h_building[h] for h in household.tolist()],
        postal_code=[st.postal[h_street[h]] for h in household.tolist()],
        city=[st.city[h_street[h]] for h in household.tolist()],
        lon=h_lon[household],
        lat=h_lat[household],
        household=household,
        birth_year=birth_year,
        support_level=support,
        tags=tags,
        tag_bits=bits,
        is_donor=rng.random(n) < 0.03,
        is_volunteer=rng.random(n) < 0.02,
        is_member=rng.random(n) < 0.015,
        consent_email=consent_email,
        consent_sms=consent_sms,
        consent_phone=consent_phone,
        consent_data_processing=consent_dp,
        dnc_phone=rng.random(n) < 0.02,
        dnc_sms=rng.random(n) < 0.015,
        dnc_email=rng.random(n) < 0.01,
        dnc_visit=rng.random(n) < 0.005,
        source=_pick(rng, [("import", 0.70), ("app", 0.15), ("petition", 0.10), ("call", 0.03), ("visit", 0.02)], n),
        language=_pick(rng, [("ro", 0.95), ("hu", 0.02), ("en", 0.02), ("ru", 0.01)], n),
        created_at=created_at,
    )

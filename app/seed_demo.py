"""Demo data for the seeded organization: Bucharest's six sectors as zones, a few hundred contacts in them
(names with diacritics, phones, consents, tags, support levels), a survey, opportunity types, and two actions
(a phone bank split among the North team, a door-to-door walk for the South team)."""

from __future__ import annotations

import json
import random
import uuid
from pathlib import Path
from typing import Any

from shapely.geometry import Point, shape
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.actions.schemas import ActionCreate, Assignment
from app.auth.principal import Principal
from app.contacts.filters import SegmentFilter
from app.models import Membership, Organization, Team, TeamMember
from app.surveys.schemas import Option, Question, SkipRule, SurveyCreate
from app.zones.schemas import FeatureCollectionImport

SECTORS = Path(__file__).resolve().parent / "seed_data" / "bucharest-sectors.geojson"
FIRST = [
    "Ioana",
    "Maria",
    "Elena",
    "Ana",
    "Andreea",
    "Ștefania",
    "Mihai",
    "Andrei",
    "Alexandru",
    "Ion",
    "Ștefan",
    "Radu",
    "Cristina",
    "Gheorghe",
    "Țicu",
    "Bogdan",
    "Irina",
    "Oana",
    "Vlad",
    "Dan",
]
LAST = [
    "Popescu",
    "Ionescu",
    "Popa",
    "Dumitrescu",
    "Stan",
    "Stoica",
    "Gheorghe",
    "Matei",
    "Ciobanu",
    "Țurcanu",
    "Rădulescu",
    "Munteanu",
    "Constantinescu",
    "Șerban",
    "Lungu",
    "Dobre",
    "Iordache",
    "Mocanu",
]
STREETS = [
    "Strada Lipscani",
    "Bulevardul Unirii",
    "Calea Victoriei",
    "Strada Mihai Eminescu",
    "Șoseaua Colentina",
    "Strada Țepeș Vodă",
    "Bulevardul Iuliu Maniu",
    "Calea Moșilor",
    "Strada Polonă",
    "Șoseaua Pantelimon",
]
TAGS = ["pensions", "transport", "schools", "health", "housing"]


async def seed_demo_data(session: AsyncSession, org: Organization) -> None:
    from app.actions import service as actions
    from app.surveys import service as surveys
    from app.zones import service as zones

    manager_id = await session.scalar(
        select(Membership.user_id).where(Membership.organization_id == org.id, Membership.role == "manager").limit(1)
    )
    assert manager_id is not None
    manager = Principal(
        user_id=manager_id, organization_id=org.id, role="manager", email="", full_name="", token_id=uuid.uuid4()
    )
    fc = json.loads(SECTORS.read_text())
    await zones.import_features(
        session,
        FeatureCollectionImport(
            type="FeatureCollection", features=fc["features"], name_property="name", kind="district"
        ),
        actor=manager,
        repair=False,
    )
    rnd = random.Random(2026)
    rows: list[dict[str, Any]] = []
    for feat in fc["features"]:
        geom = shape(feat["geometry"])
        minx, miny, maxx, maxy = geom.bounds
        n = 0
        while n < 60:
            p = Point(rnd.uniform(minx, maxx), rnd.uniform(miny, maxy))
            if not geom.contains(p):
                continue
            n += 1
            has_mobile = rnd.random() < 0.8
            rows.append(
                {
                    "id": uuid.uuid4(),
                    "first": rnd.choice(FIRST),
                    "last": rnd.choice(LAST),
                    "mobile": f"+4072{rnd.randrange(10**7):07d}" if has_mobile else None,
                    "email": f"demo{len(rows)}@example.org" if rnd.random() < 0.5 else None,
                    "street": rnd.choice(STREETS),
                    "num": str(rnd.randint(1, 120)),
                    "city": "București",
                    "x": p.x,
                    "y": p.y,
                    "year": rnd.randint(1940, 2006),
                    "support": rnd.choice([1, 2, 3, 3, 3, 4, 5, None]),
                    "tags": rnd.sample(TAGS, rnd.randint(0, 2)),
                    "sms": "granted" if rnd.random() < 0.4 else None,
                }
            )
    await session.execute(
        text("""
        INSERT INTO contacts (organization_id, id, first_name, last_name, mobile_e164, mobile_raw, email, street,
                              street_number, city, country, location, birth_year, support_level, tags, consent_sms,
                              consent_data_processing, source)
        SELECT :o, r.id, r.first, r.last, r.mobile, r.mobile, r.email, r.street, r.num, r.city, 'RO',
               ST_SetSRID(ST_MakePoint(r.x, r.y), 4326), r.year, r.support, r.tags, r.sms, 'granted', 'import'
        FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r(id uuid, first text, last text, mobile text, email text,
             street text, num text, city text, x float8, y float8, year smallint, support smallint, tags text[],
             sms text)"""),
        {"o": org.id, "rows": json.dumps(rows, default=str)},
    )
    await session.execute(
        text("""
        INSERT INTO consent_log (organization_id, contact_id, channel, status, source, proof)
        SELECT organization_id, id, 'sms', 'granted', 'import', 'Demo: signed the 2026 petition with SMS opt-in'
        FROM contacts WHERE organization_id = :o AND consent_sms = 'granted'"""),
        {"o": org.id},
    )
    await session.execute(
        text("INSERT INTO tags (organization_id, name) SELECT :o, unnest(CAST(:t AS text[])) ON CONFLICT DO NOTHING"),
        {"o": org.id, "t": TAGS},
    )
    for name in ("Wants to volunteer", "Donation pledge", "Needs a ride to vote", "Wants a poster"):
        await session.execute(
            text("INSERT INTO opportunity_types (organization_id, id, name) VALUES (:o, gen_random_uuid(), :n)"),
            {"o": org.id, "n": name},
        )
    survey = await surveys.create(
        session,
        SurveyCreate(
            title="Pensions 2026",
            questions=[
                Question(
                    id="worried",
                    kind="yes_no",
                    label="Are you worried about your pension?",
                    required=True,
                    skip_logic=[SkipRule(equals=False, goto_question_id="vote")],
                ),
                Question(
                    id="priority",
                    kind="single_choice",
                    label="What matters most?",
                    required=True,
                    options=[
                        Option(value="amount", label="The amount"),
                        Option(value="age", label="Retirement age"),
                    ],
                ),
                Question(id="vote", kind="scale", label="How likely are you to vote? (1-5)", min=1, max=5),
            ],
        ),
        actor=manager,
    )
    teams = {t.name: t.id for t in (await session.scalars(select(Team).where(Team.organization_id == org.id))).all()}
    north, south = teams["North (Sectors 1-2)"], teams["South (Sectors 4-5)"]
    sector_ids: dict[str, uuid.UUID] = dict(
        (await session.execute(text("SELECT name, id FROM zones WHERE organization_id = :o"), {"o": org.id})).all()
    )
    north_vols = await _team_volunteers(session, org.id, north)
    south_vols = await _team_volunteers(session, org.id, south)
    await actions.create(
        session,
        ActionCreate(
            type="call",
            title="Phone bank: pensions (Sectors 1-2)",
            status="active",
            survey_id=survey.id,
            brief="## Script\nIntroduce yourself, ask about **pensions**, be kind. Record consent before the survey.",
            filter=SegmentFilter(zone_ids=[sector_ids["Sectorul 1"], sector_ids["Sectorul 2"]], has_phone=True),
            team_ids=[north],
            reached_tag="pensions-call-2026",
            assignment=Assignment(strategy="round_robin", volunteer_ids=north_vols),
        ),
        actor=manager,
    )
    await actions.create(
        session,
        ActionCreate(
            type="door_to_door",
            title="Door-to-door: Sector 4",
            status="active",
            survey_id=survey.id,
            filter=SegmentFilter(zone_ids=[sector_ids["Sectorul 4"]]),
            team_ids=[south],
            reached_tag="d2d-2026",
            assignment=Assignment(strategy="geographic", doors_per_turf=20, volunteer_ids=south_vols),
        ),
        actor=manager,
    )


async def _team_volunteers(session: AsyncSession, org_id: uuid.UUID, team_id: uuid.UUID) -> list[uuid.UUID]:
    q = (
        select(TeamMember.user_id)
        .join(
            Membership,
            (Membership.organization_id == TeamMember.organization_id) & (Membership.user_id == TeamMember.user_id),
        )
        .where(TeamMember.organization_id == org_id, TeamMember.team_id == team_id, Membership.role == "volunteer")
        .order_by(TeamMember.user_id)
    )
    return list((await session.scalars(q)).all())

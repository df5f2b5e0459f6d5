"""The contacts' text keys in byte order (COLLATE "C", migration 0026): the same order users saw, and every query
that relies on those indexes still gets an index range."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import Select, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.principal import Principal
from app.contacts import duplicates, sorting
from app.contacts import repository as repo
from app.core.db import set_tenant
from app.models import Contact
from tests.fixtures.contacts import insert_contacts
from tests.fixtures.factories import World
from tests.fixtures.plans import plan_over_copy, uses_index

WORDS = [
    "Ăsta",
    "Asta",
    "asta",
    "Zănoagă",
    "Ștefan",
    "Şerban",
    "Ionescu",
    "Îonescu",
    "Élodie",
    "Eve",
    "zz",
    "",
    "Ö",
    "Ø",
]


async def _plan(db: AsyncSession, q: Select[Any], org: uuid.UUID) -> str:
    """`q`'s plan over an analysed copy of the organization's contacts (tests/fixtures/plans.py): the shared test
    database's statistics of contacts, from earlier tests, say one row per organization, and then any index on the
    organization serves as well as the one under test."""
    compiled = q.compile(db.bind, compile_kwargs={"literal_binds": True})
    return await plan_over_copy(db, str(compiled), "contacts", org)


async def _no_seqscan(db: AsyncSession, org: uuid.UUID) -> None:
    await set_tenant(db, org)
    await db.execute(text("SET LOCAL enable_seqscan = off"))
    await db.execute(text("SET LOCAL enable_sort = off"))


async def test_database_order_is_byte_order_so_the_c_keys_change_no_order_users_see(db: AsyncSession) -> None:
    """The premise of COLLATE "C": the database's own collation (C.UTF-8) orders text as bytes do."""
    words = {"w": WORDS}
    default = (await db.execute(text("SELECT w FROM unnest(CAST(:w AS text[])) w ORDER BY w"), words)).scalars()
    c = (await db.execute(text('SELECT w FROM unnest(CAST(:w AS text[])) w ORDER BY w COLLATE "C"'), words)).scalars()
    assert list(default) == list(c) == sorted(WORDS, key=lambda w: w.encode())


async def test_the_text_keys_of_contacts_are_in_byte_order(db: AsyncSession) -> None:
    columns: dict[str, str] = dict(
        (
            await db.execute(
                text(
                    "SELECT a.attname, coalesce(c.collname, '') FROM pg_attribute a "
                    "LEFT JOIN pg_collation c ON c.oid = a.attcollation "
                    "WHERE a.attrelid = 'contacts'::regclass AND a.attname = ANY(:cols)"
                ),
                {"cols": ["mobile_e164", "home_e164", "email", "postal_code", "last_name", "city"]},
            )
        ).all()
    )
    assert columns == {
        "mobile_e164": "C",
        "home_e164": "C",
        "email": "C",
        "postal_code": "C",
        "last_name": "default",  # lower() and the trigram search keep the database's case rules (ă, é…)
        "city": "default",
    }
    keys: dict[str, list[str]] = dict(
        (
            await db.execute(
                text(
                    "SELECT i.indexrelid::regclass::text, array_agg(coalesce(c.collname, '-') ORDER BY k.n) "
                    "FROM pg_index i CROSS JOIN LATERAL unnest(i.indcollation) WITH ORDINALITY AS k(coll, n) "
                    "LEFT JOIN pg_collation c ON c.oid = k.coll "
                    "WHERE i.indrelid = 'contacts'::regclass AND i.indexrelid::regclass::text = ANY(:names) "
                    "GROUP BY 1"
                ),
                {
                    "names": [
                        "ix_contacts_organization_id_last_name_first_name_id",
                        "ix_contacts_organization_id_city_street",
                        "ix_contacts_sort_city",
                        "ix_contacts_organization_id_mobile_e164",
                    ]
                },
            )
        ).all()
    )
    assert keys == {
        "ix_contacts_organization_id_last_name_first_name_id": ["-", "C", "C", "-"],
        "ix_contacts_organization_id_city_street": ["-", "C", "C"],
        "ix_contacts_sort_city": ["-", "C", "-"],
        "ix_contacts_organization_id_mobile_e164": ["-", "C"],
    }


@pytest.mark.parametrize(
    ("sort", "index"),
    [("name", "ix_contacts_organization_id_last_name_first_name_id"), ("city", "ix_contacts_sort_city")],
)
async def test_a_later_page_of_the_name_and_city_sorts_is_an_index_range(
    db: AsyncSession, world: World, sort: str, index: str
) -> None:
    """The keyset's row comparison and ORDER BY both in "C": the page after a cursor is read from the index."""
    org = world.org_a.id
    await insert_contacts(db, org, [(26.1, 44.45)] * 5)
    actor = Principal(uuid.uuid4(), org, "admin", "a@example.org", "A", uuid.uuid4())
    await _no_seqscan(db, org)
    for order in ("asc", "desc"):
        first = sorting.apply(repo.visible_to(actor), sort=sort, order=order, cursor=None, limit=2)
        cursor = sorting.next_cursor(list((await db.scalars(first)).all()), sort=sort, order=order, limit=2)
        assert cursor is not None
        plan = await _plan(
            db, sorting.apply(repo.visible_to(actor), sort=sort, order=order, cursor=cursor, limit=2), org
        )
        assert await uses_index(db, plan, index), plan
        assert "Sort" not in plan.replace("Sort Key", ""), plan


@pytest.mark.parametrize(
    ("column", "value", "index"),
    [
        ("mobile_e164", "+40720000001", "ix_contacts_organization_id_mobile_e164"),
        ("home_e164", "+40210000001", "ix_contacts_organization_id_home_e164"),
        ("email", "ana@example.org", "ix_contacts_organization_id_email"),
        ("postal_code", "010101", "ix_contacts_organization_id_postal_code"),
    ],
)
async def test_an_equality_lookup_of_an_identifier_uses_its_index(
    db: AsyncSession, world: World, column: str, value: str, index: str
) -> None:
    """Dedupe (find_duplicate, the import's match), the phone/email search and the postal-code filter compare the
    column with a plain parameter: the column's "C" collation wins, so its "C" index serves them."""
    org = world.org_a.id
    ids = await insert_contacts(db, org, [(26.1, 44.45)] * 5000)
    await db.execute(
        text(
            "UPDATE contacts SET home_e164 = '+4021' || right(mobile_e164, 7), email = 'p' || id || '@example.org', "
            "postal_code = right(mobile_e164, 6) WHERE id = ANY(:ids)"
        ),
        {"ids": ids},
    )
    await _no_seqscan(db, org)
    col = getattr(Contact, column)
    plan = await _plan(db, select(Contact.id).where(Contact.organization_id == org, col == value), org)
    assert await uses_index(db, plan, index), plan
    assert f"Index Cond: ((organization_id = '{org}'::uuid) AND (({column})::text = '{value}'" in plan, plan


async def test_the_duplicate_rules_name_match_reads_the_name_index(db: AsyncSession, world: World) -> None:
    org = world.org_a.id
    ids = await insert_contacts(db, org, [(26.1, 44.45)] * 3, with_phone=False)
    await _no_seqscan(db, org)
    plan = await _plan(db, duplicates.matches(org, ids[0]), org)
    assert await uses_index(db, plan, "ix_contacts_organization_id_last_name_first_name_id"), plan

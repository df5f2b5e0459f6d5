"""The import's one-pass key match (app/imports/merge.py) keeps the rule's pairs of columns: a file's home phone
finds a contact by its mobile or its home phone, a file's mobile finds it by its mobile only."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import set_tenant
from app.models import Contact
from tests.fixtures.factories import Actor, make_actor, make_org

pytestmark = pytest.mark.usefixtures("arq_worker")

HEADER = ["first", "last", "mobile", "home", "email"]
MAPPING = {"first_name": "first", "last_name": "last", "mobile": "mobile", "home_phone": "home", "email": "email"}


def _csv(rows: list[list[str]]) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(HEADER)
    w.writerows(rows)
    return buf.getvalue().encode()


async def _run(client: AsyncClient, m: Actor, rows: list[list[str]]) -> dict[str, Any]:
    r = await client.post(
        "/api/v1/imports",
        headers=m.headers,
        files={"file": ("people.csv", _csv(rows), "text/csv")},
        data={"mapping": json.dumps(MAPPING), "dedupe_policy": "update"},
    )
    assert r.status_code == 202, r.text
    for _ in range(200):
        body = (await client.get(f"/api/v1/imports/{r.json()['id']}", headers=m.headers)).json()
        if body["status"] in ("done", "failed", "cancelled"):
            return dict(body)
        await asyncio.sleep(0.1)
    raise AssertionError("import did not finish")


async def test_a_home_phone_matches_a_mobile_or_a_home_phone_and_a_mobile_matches_a_mobile_only(
    live_client: AsyncClient, live_db: AsyncSession
) -> None:
    org = await make_org(live_db)
    m = await make_actor(live_db, org, "manager")
    await live_db.commit()
    base = [
        ["Ana", "Mobile", "0722000001", "", ""],
        ["Dan", "Home", "", "0212000002", ""],
    ]
    assert (await _run(live_client, m, base))["created"] == 2
    again = [
        ["Ana2", "Mobile", "", "0722000001", ""],  # her mobile given as a home phone: Ana (mobile ↔ home)
        ["Eve", "New", "0212000002", "", ""],  # Dan's home phone given as a mobile: not a key, a new person
    ]
    result = await _run(live_client, m, again)
    assert result["status"] == "done", result
    assert (result["created"], result["updated"]) == (1, 1), result
    # A home phone that is Eve's mobile and Dan's home phone: the mobile is the stronger key (3 before 4).
    third = await _run(live_client, m, [["", "", "", "0212000002", "who@example.org"]])
    assert (third["created"], third["updated"]) == (0, 1), third
    await live_db.rollback()
    await set_tenant(live_db, org.id)
    people = {
        c.last_name: (c.first_name, c.email)
        for c in (await live_db.scalars(select(Contact).where(Contact.organization_id == org.id))).all()
    }
    assert people == {"Mobile": ("Ana2", None), "Home": ("Dan", None), "New": ("Eve", "who@example.org")}

"""Backup and restore round trip with pg_dump/pg_restore (scripts/backup.sh), as documented in the README."""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import ROOT
from tests.conftest import ServicesUnderTest
from tests.fixtures.contacts import insert_contacts
from tests.fixtures.factories import make_actor, make_org

TABLES = ["contacts", "consent_log", "zones", "zone_pieces", "actions", "action_targets", "memberships"]


def _counts(pg_url: str, org: uuid.UUID) -> dict[str, int]:
    out = {}
    for t in TABLES:
        r = subprocess.run(
            ["psql", pg_url, "-tAc", f"SELECT count(*) FROM {t} WHERE organization_id = '{org}'"],
            capture_output=True,
            text=True,
            check=True,
        )
        out[t] = int(r.stdout.strip())
    return out


async def test_dump_and_restore_round_trip_keeps_an_organizations_data(
    services: ServicesUnderTest, live_client: AsyncClient, live_db: AsyncSession, tmp_path: Path
) -> None:
    if services.pg is None:
        import pytest

        pytest.skip("needs the embedded cluster to create a scratch database")
    org = await make_org(live_db)
    manager = await make_actor(live_db, org, "manager")
    await insert_contacts(live_db, org.id, [(26.01 + i / 1000, 44.41) for i in range(30)], tags=["b"])
    await live_db.commit()
    zone = {"type": "Polygon", "coordinates": [[[26.0, 44.4], [26.1, 44.4], [26.1, 44.5], [26.0, 44.5], [26.0, 44.4]]]}
    assert (
        await live_client.post("/api/v1/zones", headers=manager.headers, json={"name": "Z", "geometry": zone})
    ).status_code == 201
    assert (
        await live_client.post(
            "/api/v1/contacts",
            headers=manager.headers,
            json={
                "first_name": "Ana",
                "mobile": "0722000111",
                "consents": [{"channel": "sms", "status": "granted", "source": "app"}],
            },
        )
    ).status_code == 201
    assert (
        await live_client.post(
            "/api/v1/actions",
            headers=manager.headers,
            json={"type": "call", "title": "B", "filter": {"tags_any": ["b"]}},
        )
    ).status_code == 201
    src = services.migration_url.replace("+asyncpg", "")
    before = _counts(src, org.id)
    assert before["contacts"] == 31 and before["action_targets"] == 30 and before["consent_log"] == 1
    dump = tmp_path / "groundgame.dump"
    script = str(ROOT / "scripts" / "backup.sh")
    subprocess.run([script, "dump", src, str(dump)], check=True)
    services.pg.psql("DROP DATABASE IF EXISTS restored")
    services.pg.psql("CREATE DATABASE restored")
    dst = src.rsplit("/", 1)[0] + "/restored"
    subprocess.run([script, "restore", dst, str(dump)], check=True)
    assert _counts(dst, org.id) == before
    policies = subprocess.run(
        ["psql", dst, "-tAc", "SELECT count(*) FROM pg_policies WHERE tablename = 'contacts'"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert policies.stdout.strip() == "1"

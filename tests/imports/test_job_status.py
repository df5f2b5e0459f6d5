"""The import job never writes over an ended import's status: a cancel that lands between the job's first read
and its start stays a cancel (the job used to set "running" over it and import the file)."""

from __future__ import annotations

import uuid

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.core.db import set_tenant
from app.imports import job
from tests.fixtures.factories import make_org


async def test_a_cancelled_import_is_not_set_running_again(live_db: AsyncSession, engine: AsyncEngine) -> None:
    org = await make_org(live_db)
    iid = uuid.uuid4()
    await live_db.execute(
        text("""
        INSERT INTO imports (organization_id, id, filename, file_path, size_bytes, encoding, delimiter, mapping,
                             status)
        VALUES (:o, :i, 'a.csv', '/nonexistent', 1, 'utf-8', ',', '{}'::jsonb, 'cancelled')"""),
        {"o": org.id, "i": iid},
    )
    await live_db.commit()
    started = await job._progress(engine, str(org.id), str(iid), status="running", phase="reading", rows_done=0)
    assert started is False
    failed = await job._progress(engine, str(org.id), str(iid), status="failed", error="late")
    assert failed is False
    async with engine.begin() as c:
        await set_tenant(c, org.id)
        row = (await c.execute(text("SELECT status, phase, error FROM imports WHERE id = :i"), {"i": iid})).one()
    assert tuple(row) == ("cancelled", None, None)

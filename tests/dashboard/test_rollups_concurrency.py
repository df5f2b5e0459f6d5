"""Two volunteers' reports in flight at once (two real transactions) in the same hour: neither waits on the other's
report rollup rows (keyed by the volunteer), and once both commit the figures equal the recount. (The reached
people's counts and the open targets are on 16 random shards: two reports on the same action and level meet on
one with a chance of 1 in 16, so this test gives them different actions and levels.)"""

from __future__ import annotations

import uuid

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app import worker
from app.core.db import set_tenant
from app.dashboard import queries, rollups
from app.dashboard.scope import Period, Scope
from tests.fixtures.factories import make_actor, make_org

REPORT = text(
    "INSERT INTO field_reports (organization_id, id, kind, action_id, contact_id, user_id, outcome, request_hash,"
    " response) VALUES (:o, gen_random_uuid(), 'call', :a, :c, :u, 'answered', 'h', '{}')"
)
TARGET = text(
    "UPDATE action_targets SET status = 'done' WHERE organization_id = :o AND action_id = :a AND contact_id = :c"
)


async def test_concurrent_reports_wait_on_no_rollup_row_and_are_each_counted(
    live_db: AsyncSession, engine: AsyncEngine, cleanup: list[uuid.UUID]
) -> None:
    org = await make_org(live_db)
    cleanup.append(org.id)
    v1, v2 = [(await make_actor(live_db, org, "volunteer")).user_id for _ in range(2)]
    await set_tenant(live_db, org.id)
    a1, a2, c1, c2 = uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    o = {"o": org.id}
    ids = {"a1": a1, "a2": a2, "c1": c1, "c2": c2}
    await live_db.execute(
        text(
            "INSERT INTO actions (organization_id, id, type, title, status)"
            " VALUES (:o, :a1, 'call', 'A', 'active'), (:o, :a2, 'call', 'B', 'active')"
        ),
        {**o, **ids},
    )
    await live_db.execute(
        text("INSERT INTO contacts (organization_id, id, support_level) VALUES (:o, :c1, 1), (:o, :c2, 2)"),
        {**o, **ids},
    )
    await live_db.execute(
        text(
            "INSERT INTO action_targets (organization_id, action_id, contact_id) VALUES (:o, :a1, :c1), (:o, :a2, :c2)"
        ),
        {**o, **ids},
    )
    await live_db.commit()
    async with engine.connect() as first, engine.connect() as second:
        for conn in (first, second):
            await conn.begin()
            await set_tenant(conn, org.id)
            await conn.execute(text("SET LOCAL lock_timeout = '2s'"))
        # v1's report is in flight (its rollup rows written, not committed) while v2 reports in the same hour: a
        # wait on a shared row would time out here
        await first.execute(REPORT, {**o, "a": a1, "c": c1, "u": v1})
        await first.execute(TARGET, {**o, "a": a1, "c": c1})
        await second.execute(REPORT, {**o, "a": a2, "c": c2, "u": v2})
        await second.execute(TARGET, {**o, "a": a2, "c": c2})
        await second.commit()
        await first.commit()
    await set_tenant(live_db, org.id)
    scope, ever = Scope(org.id, "UTC", None, None), Period(None, None)
    assert await rollups.support(live_db, scope, ever, None) == await queries.support(live_db, scope, ever, None)
    assert (await rollups.support(live_db, scope, ever, None))[0] == {"1": 1, "2": 1}
    assert (await rollups.report_totals(live_db, scope, ever, None))["reached"] == 2
    assert await queries.targets(live_db, scope, None) == (0, 0)  # target_count 0: seeded by hand; both done
    # the worker's nightly compaction (as the worker runs it) changes no figure
    before = await rollups.report_totals(live_db, scope, ever, None), await rollups.support(live_db, scope, ever, None)
    await live_db.commit()
    assert await worker.compact_dashboard_rollups({"engine": engine}) >= 0
    await set_tenant(live_db, org.id)
    after = await rollups.report_totals(live_db, scope, ever, None), await rollups.support(live_db, scope, ever, None)
    assert after == before

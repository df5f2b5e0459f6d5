"""Every sharded counter is written by app.core.counters' one upsert: `counters.add` (a call report's action
counters, a known signer's petition counter) or, inside the statement that writes a new petition signer,
`counters.upsert_sql` (nothing else writes them); an `add` is one statement, prebuilt a model, whatever the number
of keys: after the first, each is served from SQLAlchemy's compiled cache."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import event, func, select
from sqlalchemy.engine.default import DefaultExecutionContext
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import counters
from app.core.db import set_tenant
from app.models import ActionCounter, PetitionCounter
from tests.calling.conftest import make_bank
from tests.calling.test_calling import _answered
from tests.calling.test_reports import _counters, _started
from tests.fixtures.factories import make_actor
from tests.petitions.conftest import form, open_petition


async def test_a_call_report_and_a_signature_are_counted_through_the_one_writer(
    live_client: AsyncClient, live_db: AsyncSession, cleanup: list[uuid.UUID], monkeypatch: pytest.MonkeyPatch
) -> None:
    written: list[tuple[type[Any], list[str]]] = []
    add = counters.add

    async def seen(
        session: AsyncSession, model: type[Any], scope: dict[str, Any], keys: Sequence[str] = (), **kw: Any
    ) -> None:
        written.append((model, sorted(keys)))
        await add(session, model, scope, keys, **kw)

    monkeypatch.setattr(counters, "add", seen)
    bank = await make_bank(live_client, live_db, contacts=2)
    org = bank.manager.org
    cleanup.append(org.id)
    admin = await make_actor(live_db, org, "admin")
    await live_db.commit()

    tid = await _started(live_client, bank)
    res = await live_client.post(
        f"/api/v1/calls/{tid}/report", headers=bank.volunteers[0].headers, json=_answered(bank)
    )
    assert res.status_code == 200, res.text
    p = await open_petition(live_client, admin)
    res = await live_client.post(f"/p/{p['slug']}/sign.json", json=form(p))
    assert res.status_code == 202, res.text

    # The action's counters were written through `add`, with what `add` was given; the new signer's count by its
    # own statement, with the upsert of counters.upsert_sql (below: it is there, once).
    assert [m for m, _ in written] == [ActionCounter]
    await set_tenant(live_db, org.id)
    stored = await _counters(live_db, org.id)
    assert sorted(stored) == written[0][1] and set(stored.values()) == {1}
    assert stored["calls"] == stored["reached"] == stored["mobilized"] == 1
    signatures = await live_db.scalar(
        select(func.sum(PetitionCounter.value)).where(PetitionCounter.organization_id == org.id)
    )
    assert signatures == 1
    assert (await live_client.get(f"/p/{p['slug']}/counter.json")).json()["count"] == 1


async def test_any_number_of_keys_is_one_statement_compiled_once(
    live_client: AsyncClient, live_db: AsyncSession, cleanup: list[uuid.UUID]
) -> None:
    bank = await make_bank(live_client, live_db, contacts=1)
    org = bank.manager.org.id
    cleanup.append(org)
    await set_tenant(live_db, org)
    conn = (await live_db.connection()).sync_connection
    assert conn is not None
    hits: list[str] = []

    def _seen(_c: Any, _cur: Any, stmt: str, _p: Any, ctx: DefaultExecutionContext, _many: bool) -> None:
        if "action_counters" in stmt:
            hits.append(ctx.cache_hit.name)

    event.listen(conn, "before_cursor_execute", _seen)
    try:
        scope = {"organization_id": org, "action_id": uuid.UUID(bank.action_id)}
        await counters.add(live_db, ActionCounter, scope, ["calls"])
        await counters.add(live_db, ActionCounter, scope, ["calls", "reached", "support:2", "mobilized", "outcome:x"])
        await counters.add(live_db, ActionCounter, scope, ["calls", "reached"], by=-1)
        await counters.add(live_db, ActionCounter, scope, [])  # nothing to count: no statement
    finally:
        event.remove(conn, "before_cursor_execute", _seen)
    assert len(hits) == 3 and hits[1:] == ["CACHE_HIT", "CACHE_HIT"]
    assert await _counters(live_db, org) == {"calls": 1, "reached": 0, "support:2": 1, "mobilized": 1, "outcome:x": 1}
    await live_db.rollback()


async def test_the_upsert_written_inside_a_statement_adds_to_its_shard_only_if_its_source_has_the_row(
    live_db: AsyncSession, cleanup: list[uuid.UUID]
) -> None:
    from sqlalchemy import text

    from tests.fixtures.factories import make_org

    org = await make_org(live_db)
    cleanup.append(org.id)
    await live_db.commit()
    await set_tenant(live_db, org.id)
    pid = uuid.uuid4()
    await live_db.execute(
        text("INSERT INTO petitions (organization_id, id, slug, title) VALUES (:o, :p, :s, 't')"),
        {"o": org.id, "p": pid, "s": f"u-{pid.hex[:10]}"},
    )
    sql = counters.upsert_sql(PetitionCounter, "FROM generate_series(1, CAST(:rows AS int))")
    params = {"organization_id": org.id, "petition_id": pid, "by": 1}
    for shard, rows in ((3, 1), (3, 1), (5, 0)):
        await live_db.execute(text(sql), {**params, "shard": shard, "rows": rows})
    got = (
        await live_db.execute(
            select(PetitionCounter.shard, PetitionCounter.value).where(PetitionCounter.petition_id == pid)
        )
    ).all()
    assert [tuple(r) for r in got] == [(3, 2)]
    await live_db.rollback()
    with pytest.raises(ValueError):
        counters.upsert_sql(ActionCounter, "")

"""Counters on shards: a hot count (an action's outcomes, a petition's signatures) is kept on `SHARDS` rows per
key, and each write adds to one random shard and holds that row until its transaction commits, so concurrent
writers rarely meet on a row (reading sums at most `SHARDS` rows a key). The counter model has the key's columns
and `shard` as its primary key, and a `value`."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

from sqlalchemy import inspect
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

# 64 shards keep two of the ~20 writes in flight at election-day rates from meeting on a row.
SHARDS = 64


def pick_shard() -> int:
    return random.randrange(SHARDS)  # spreading writes, not security


async def add(session: AsyncSession, model: type[Any], keys: Sequence[dict[str, Any]], *, by: int = 1) -> None:
    """Add `by` (-1 takes back) to each counter named by `keys` (its primary key but the shard), on one random
    shard: one statement whatever the number of keys."""
    if not keys:
        return
    shard = pick_shard()
    pk = [c.name for c in inspect(model).primary_key]
    stmt = pg_insert(model).values([{**k, "shard": shard, "value": by} for k in keys])
    await session.execute(stmt.on_conflict_do_update(index_elements=pk, set_={"value": model.value + by}))

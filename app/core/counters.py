"""Counters on shards: a hot count (an action's outcomes, a petition's signatures) is kept on `SHARDS` rows per
counter, and each write adds to one random shard and holds that row until its transaction commits, so concurrent
writers rarely meet on a row (reading sums at most `SHARDS` rows a counter). The counter model has its scope's
columns (the organization and what is counted: an action, a petition), optionally a `key` naming one of the
scope's counters (an action's "calls", "reached"…), and `shard` as its primary key, and a `value`.

Every counter is written by `add`, through one statement per model, built once, or (an unkeyed one) by the same
upsert inside the statement that writes what it counts (`upsert_sql`: a new petition signer's, in one round
trip)."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Insert, bindparam, func, inspect, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

# 64 shards keep two of the ~20 writes in flight at election-day rates from meeting on a row.
SHARDS = 64
KEY = "key"  # the primary-key column, if the model has one, naming each of a scope's counters

_STATEMENTS: dict[type[Any], tuple[Insert, bool]] = {}


def pick_shard() -> int:
    return random.randrange(SHARDS)  # spreading writes, not security


def _statement(model: type[Any]) -> tuple[Insert, bool]:
    """`INSERT … SELECT :scope…, unnest(:keys), :shard, :by ON CONFLICT (pk) DO UPDATE SET value = value + by`
    for `model` (without a `key` column, one row of the scope), and whether it takes keys. Built once a model:
    SQLAlchemy's compiled cache then serves every write."""
    built = _STATEMENTS.get(model)
    if built is not None:
        return built
    table = inspect(model).local_table
    pk = list(table.primary_key.columns)
    scope = [c for c in pk if c.name not in (KEY, "shard")]
    keyed = any(c.name == KEY for c in pk)
    names = [c.name for c in scope]
    columns: list[ColumnElement[Any]] = [bindparam(c.name, type_=c.type) for c in scope]
    if keyed:
        names.append(KEY)
        columns.append(func.unnest(bindparam("keys", type_=ARRAY(table.c[KEY].type))))
    names += ["shard", "value"]
    columns += [bindparam("shard", type_=table.c.shard.type), bindparam("by", type_=table.c.value.type)]
    insert = pg_insert(model)
    stmt = (
        insert.from_select(names, select(*columns))
        .on_conflict_do_update(index_elements=[c.name for c in pk], set_={"value": model.value + insert.excluded.value})
        .execution_options(dml_strategy="raw")  # parameters for the statement, not rows for an ORM bulk insert
    )
    _STATEMENTS[model] = built = (stmt, keyed)
    return built


async def add(
    session: AsyncSession, model: type[Any], scope: dict[str, Any], keys: Sequence[str] = (), *, by: int = 1
) -> None:
    """Add `by` (-1 takes back) to the counters of `scope` (the primary key's columns but `key` and the shard)
    named by `keys` (for a model with a `key` column; without one, to the scope's one counter), on one random
    shard: one statement whatever the number of keys (an insert, so the webhook capture sees it)."""
    stmt, keyed = _statement(model)
    if keyed and not keys:
        return
    if keys and not keyed:
        raise ValueError(f"{model.__name__} has one counter a scope: no keys")
    params = {**scope, "shard": pick_shard(), "by": by}
    if keyed:
        params["keys"] = list(keys)
    await session.execute(stmt, params)


def upsert_sql(model: type[Any], source: str) -> str:
    """`add`'s upsert of an unkeyed counter as SQL text, for a statement that writes the rows it counts and their
    count together (e.g. as a CTE): `by` if `source` (a FROM clause of at most one row: the row counted) has its
    row, else nothing, on the shard :shard (pick_shard()); the other parameters are named as the scope's
    columns, and :by."""
    table = inspect(model).local_table
    pk = [c.name for c in table.primary_key.columns]
    if KEY in pk:
        raise ValueError(f"{model.__name__} has keyed counters: write them with add")
    scope = [c for c in pk if c != "shard"]
    return (
        f"INSERT INTO {table.name} ({', '.join(scope)}, shard, value) "
        f"SELECT {', '.join(':' + c for c in scope)}, :shard, :by {source} "
        f"ON CONFLICT ({', '.join(pk)}) DO UPDATE SET value = {table.name}.value + excluded.value"
    )

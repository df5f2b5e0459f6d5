"""The import job: the file goes into a staging table (COPY, after a lenient re-read if COPY refuses it), is
validated and normalized in SQL, deduplicated against the base and merged with set-based statements, all in one
transaction, so a failed or cancelled import leaves the base exactly as it was. Safe to run twice (advisory
lock + status). Each phase's duration is logged."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.config import get_settings
from app.core.db import set_tenant
from app.dashboard import bus as live_bus
from app.dashboard.events import import_progress_event
from app.imports import fastpath, merge
from app.imports.spec import Counts, ImportOutcome, ImportSpec

log = logging.getLogger("groundgame.imports")


class Cancelled(Exception):
    pass


@asynccontextmanager
async def timed(name: str) -> AsyncIterator[None]:
    t = time.perf_counter()
    yield
    log.info("import phase", extra={"job": "import", "phase": name, "ms": round((time.perf_counter() - t) * 1000)})


async def _status(engine: AsyncEngine, org: str, import_id: str) -> str | None:
    async with engine.begin() as c:
        await set_tenant(c, org)
        return (
            await c.execute(
                text("SELECT status FROM imports WHERE organization_id = :o AND id = :i"), {"o": org, "i": import_id}
            )
        ).scalar()


PROGRESS_RETURNING = "RETURNING status, phase, rows_done, rows_total, created_by"
ENDED = ("done", "failed", "cancelled")  # an import in one of these is never written again by its job
ENDED_SQL = "(" + ", ".join(f"'{s}'" for s in ENDED) + ")"


async def _progress(engine: AsyncEngine, org: str, import_id: str, **values: Any) -> bool:
    """Progress (and the status: running, failed) of an import that has not ended: an import cancelled meanwhile
    stays cancelled (a cancel between the job's first read and its start was lost). False if it had ended."""
    sets = ", ".join(f"{k} = :{k}" for k in values)
    async with engine.begin() as c:
        await set_tenant(c, org)
        row = (
            await c.execute(
                text(
                    f"UPDATE imports SET {sets}, heartbeat_at = clock_timestamp() "  # noqa: S608 - names are internal constants; values bound
                    f"WHERE organization_id = :o AND id = :i AND status NOT IN {ENDED_SQL} "
                    f"{PROGRESS_RETURNING}"
                ),
                {"o": org, "i": import_id, **values},
            )
        ).first()
    await _announce(org, import_id, row)
    return row is not None


async def _announce(org: str, import_id: str, row: Any) -> None:
    """After the progress row committed: the import's progress on the live bus (HQ watches it without polling)."""
    if row is None:
        return
    await live_bus.publish(
        [
            import_progress_event(
                uuid.UUID(org),
                uuid.UUID(import_id),
                status=row.status,
                phase=row.phase,
                rows_done=row.rows_done,
                rows_total=row.rows_total,
                user_id=row.created_by,
            )
        ]
    )


async def run_import(engine: AsyncEngine, organization_id: str, import_id: str) -> ImportOutcome:
    org, iid = str(organization_id), str(import_id)
    async with engine.connect() as conn:
        await set_tenant(conn, org, whole_connection=True)
        await conn.execute(text("SET statement_timeout = 0"))  # bulk statements on millions of rows
        await conn.execute(
            text("SELECT set_config('work_mem', :m, false)"), {"m": get_settings().limits.import_work_mem}
        )
        got = (await conn.execute(text("SELECT pg_try_advisory_lock(hashtext('import:' || :i))"), {"i": iid})).scalar()
        await conn.commit()
        if not got:
            return ImportOutcome.busy
        try:
            return await _run(engine, conn, org, iid)
        finally:
            await conn.rollback()
            await conn.execute(text("SELECT pg_advisory_unlock(hashtext('import:' || :i))"), {"i": iid})
            await set_tenant(conn, None, whole_connection=True)
            await conn.execute(text(f"DROP TABLE IF EXISTS {fastpath.SCRATCH}"))
            await conn.execute(text("RESET statement_timeout"))
            await conn.execute(text("RESET work_mem"))
            await conn.commit()


async def _run(engine: AsyncEngine, conn: AsyncConnection, org: str, iid: str) -> ImportOutcome:
    row = (
        (
            await conn.execute(
                text(
                    "SELECT i.*, o.default_region FROM imports i JOIN organizations o ON o.id = i.organization_id "
                    "WHERE i.organization_id = :o AND i.id = :i"
                ),
                {"o": org, "i": iid},
            )
        )
        .mappings()
        .first()
    )
    await conn.commit()
    if row is None:
        return ImportOutcome.missing
    if row["status"] in ENDED:
        return ImportOutcome(row["status"])
    imp = ImportSpec.from_row(row)
    started = datetime.now(UTC)
    if not await _progress(engine, org, iid, status="running", phase="reading", started_at=started, rows_done=0):
        log.info("import cancelled before it started", extra={"job": "import"})
        return ImportOutcome.cancelled
    try:
        src, total = await _stage(engine, conn, imp)
        result = await _merge(engine, conn, imp, src)
    except Cancelled:
        await conn.rollback()
        log.info("import cancelled", extra={"job": "import"})
        return ImportOutcome.cancelled
    except Exception as e:
        await conn.rollback()
        log.exception("import failed", extra={"job": "import"})
        await _progress(
            engine,
            org,
            iid,
            status="failed",
            error=f"{type(e).__name__}: the import stopped and nothing was changed",
            finished_at=datetime.now(UTC),
        )
        return ImportOutcome.failed
    counts = {f"{k}_count": v for k, v in asdict(result).items()}  # `created` is a LogRecord attribute
    log.info("import done", extra={"job": "import", "rows": total, **counts})
    return ImportOutcome.done


async def _stage(engine: AsyncEngine, conn: AsyncConnection, imp: ImportSpec) -> tuple[fastpath.Source, int]:
    """COPY parses well-formed files; a file it refuses is re-read leniently (`rectify`) and COPYed again, its bad
    lines carrying their reason."""
    org, iid = imp.organization_id, imp.id
    try:
        async with timed("copy"):
            n = await fastpath.copy_raw(conn, imp)
    except fastpath.COPY_ERRORS:
        await conn.rollback()
        log.info("COPY refused the file; re-reading it leniently", extra={"job": "import"})

        async def on_chunk(done: int) -> None:
            if await _status(engine, org, iid) == "cancelled":
                raise Cancelled()
            await _progress(engine, org, iid, rows_done=done)

        async with timed("rectified copy"):
            n = await fastpath.copy_rectified(conn, imp, on_chunk)
    async with timed("foreign phones"):
        src = await fastpath.source(conn, imp, merge.col_name)
    await conn.commit()
    if await _status(engine, org, iid) == "cancelled":
        raise Cancelled()
    await _progress(engine, org, iid, rows_done=n, rows_total=n, phase="matching")
    return src, n


async def _merge(engine: AsyncEngine, conn: AsyncConnection, imp: ImportSpec, src: fastpath.Source) -> Counts:
    async with timed("validate, rank"):
        await merge.build_rows(conn, src, imp)
    async with timed("match"):
        await merge.match_rows(conn, imp)
    async with timed("rejects"):
        await merge.write_rejects(conn, src, imp)
    await _progress(engine, imp.organization_id, imp.id, phase="writing")
    async with timed("insert"):
        created = await merge.insert_new(conn, imp)
    async with timed("update"):
        updated = await merge.update_matched(conn, imp)
    c = await merge.counts(conn, imp)
    result = Counts(created=created, updated=updated, skipped=c.duplicates + c.matched - updated, rejected=c.rejected)
    done = (
        await conn.execute(
            text(f"""
        UPDATE imports SET status = 'done', phase = NULL, created_count = :c, updated_count = :u, skipped_count = :s,
          rejected_count = :r, finished_at = clock_timestamp(), heartbeat_at = clock_timestamp()
        WHERE organization_id = :org AND id = :iid AND status = 'running' {PROGRESS_RETURNING}"""),  # noqa: S608 - a constant
            {**imp.binds(), "c": result.created, "u": result.updated, "s": result.skipped, "r": result.rejected},
        )
    ).first()
    if done is None:
        raise Cancelled()
    async with timed("commit"):
        await conn.commit()
    await _announce(imp.organization_id, imp.id, done)
    return result

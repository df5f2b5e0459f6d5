"""arq worker: background jobs and cron. Jobs take ids, are safe to run twice, set the tenant themselves."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from arq import Retry, cron, func
from arq.connections import RedisSettings
from arq.worker import create_worker
from redis.exceptions import RedisError
from sqlalchemy import delete, or_

from app.config import get_settings
from app.core.db import make_engine, make_sessionmaker
from app.core.logging import configure_logging
from app.core.metrics import timed_job
from app.models import AuthToken

log = logging.getLogger("groundgame.worker")


async def startup(ctx: dict[str, Any]) -> None:
    settings = get_settings()
    configure_logging(settings.log_level)
    ctx["settings"] = settings
    # Bulk jobs run statements over millions of rows: no client-side timeout (each job sets its server one).
    ctx["engine"] = make_engine(settings.database_url, settings, pool_size=4, command_timeout=None)
    ctx["sessionmaker"] = make_sessionmaker(ctx["engine"])
    from app.integrations.delivery import Clients

    # Here, not in a job: arq hands each job a copy of this dict, so what a job adds to it is gone after it.
    ctx["webhook_clients"] = Clients(settings.webhooks.timeout_s)


async def shutdown(ctx: dict[str, Any]) -> None:
    if ctx.get("webhook_clients") is not None:
        await ctx["webhook_clients"].aclose()
    await ctx["engine"].dispose()


async def purge_expired_tokens(ctx: dict[str, Any]) -> int:
    """Delete tokens expired or revoked more than a day ago (auth_tokens is a global table)."""
    cutoff = datetime.now(UTC) - timedelta(days=1)
    async with ctx["sessionmaker"]() as session, session.begin():
        res = await session.execute(
            delete(AuthToken).where(or_(AuthToken.expires_at < cutoff, AuthToken.revoked_at < cutoff))
        )
    n = int(res.rowcount or 0)
    log.info("purged expired tokens", extra={"job": "purge_expired_tokens"})
    return n


async def run_import_job(ctx: dict[str, Any], organization_id: str, import_id: str) -> str:
    from app.imports.job import run_import

    result = await run_import(ctx["engine"], organization_id, import_id)
    if result == "busy":  # another run (or a dead worker's session, until PostgreSQL drops it) holds the import
        raise Retry(defer=30)
    if result.startswith("done") and ctx["settings"].geocoder_url:
        await ctx["redis"].enqueue_job("geocode_import_job", organization_id, import_id, _job_id=f"geocode:{import_id}")
    return result


async def geocode_import_job(ctx: dict[str, Any], organization_id: str, import_id: str) -> int:
    """Off by default: only enqueued when GEOCODER_URL is set (a Nominatim-compatible API)."""
    from app.imports.geocoder import NominatimGeocoder, geocode_import

    settings = ctx["settings"]
    geocoder = NominatimGeocoder(settings.geocoder_url, per_second=settings.geocoder_requests_per_second)
    try:
        return await geocode_import(ctx["engine"], geocoder, organization_id, import_id)
    finally:
        await geocoder.aclose()


async def requeue_stale_imports(ctx: dict[str, Any]) -> int:
    """Imports whose enqueue was lost (Redis down) or whose worker died: queue them again.
    The job's advisory lock and status checks make a duplicate harmless."""
    from sqlalchemy import text

    n = 0
    async with ctx["engine"].connect() as conn:
        rows = (
            await conn.execute(text("SELECT organization_id, id, heartbeat_at FROM gg_stale_imports(:s)"), {"s": 90})
        ).all()
    for org, iid, hb in rows:
        stamp = int(hb.timestamp()) if hb else 0
        await ctx["redis"].enqueue_job("run_import_job", str(org), str(iid), _job_id=f"import:{iid}:{stamp}")
        n += 1
    return n


async def apply_contact_retention(ctx: dict[str, Any]) -> int:
    """Daily: in each organization that set a retention, erase the contacts with no activity for that long."""
    from sqlalchemy import text

    from app.contacts import retention
    from app.core.db import set_tenant

    async with ctx["engine"].connect() as conn:
        orgs = (await conn.execute(text("SELECT organization_id, days FROM gg_retention_orgs()"))).all()
    erased = 0
    for org, days in orgs:
        async with ctx["sessionmaker"]() as session, session.begin():
            await set_tenant(session, org)
            erased += await retention.apply(session, org, days)
    log.info("contact retention applied", extra={"job": "apply_contact_retention"})
    return erased


async def send_campaign_job(ctx: dict[str, Any], organization_id: str, campaign_id: str) -> str:
    """Send a campaign's due messages in batches (app/messaging/delivery.py); a scheduled one waits its time."""
    import uuid

    from app.messaging.delivery import run_campaign

    org, cid = uuid.UUID(organization_id), uuid.UUID(campaign_id)
    settings = ctx["settings"]
    result = await run_campaign(
        ctx["engine"], settings.messaging, org, cid, secret=settings.secret_key.get_secret_value(), redis=ctx["redis"]
    )
    if result in ("later", "held"):  # its schedule, or quiet hours / a retry's backoff: deferred to that time
        from app.messaging.service import next_due, scheduled_at

        at = await (scheduled_at if result == "later" else next_due)(ctx["sessionmaker"], org, cid)
        if at is not None:
            await ctx["redis"].enqueue_job(
                "send_campaign_job",
                organization_id,
                campaign_id,
                _job_id=f"campaign:{cid}:at:{at.timestamp()}",
                _defer_until=at,
            )
    return result


async def requeue_due_campaigns(ctx: dict[str, Any]) -> int:
    """Campaigns that should be sending but have no live job (its enqueue was lost, its worker died): queue them
    again. A campaign still being sent answers "busy" (its advisory lock); a dead worker's lock went with its
    connection, so the new run fails what it had claimed and sends the rest."""
    from sqlalchemy import text

    async with ctx["engine"].connect() as conn:
        rows = (await conn.execute(text("SELECT organization_id, id FROM gg_due_campaigns()"))).all()
    stamp = int(time.time() // 60)
    for org, cid in rows:
        await ctx["redis"].enqueue_job("send_campaign_job", str(org), str(cid), _job_id=f"campaign:{cid}:sweep:{stamp}")
    return len(rows)


async def send_direct_message_job(ctx: dict[str, Any], organization_id: str, message_id: str) -> str:
    """One message to one person (app/messaging/direct.py); a temporary failure is retried with backoff."""
    import uuid

    from app.messaging.direct import deliver

    settings = ctx["settings"].messaging
    status, retry = await deliver(
        ctx["engine"],
        settings,
        uuid.UUID(organization_id),
        uuid.UUID(message_id),
        attempt=ctx.get("job_try", 1),
        redis=ctx["redis"],
    )
    if retry is not None:
        raise Retry(defer=retry)
    return status


async def send_push_job(
    ctx: dict[str, Any], organization_id: str, user_ids: list[str], payload: dict[str, Any]
) -> dict[str, int]:
    """Web Push to these users' browsers (app/push/service.py); gone subscriptions are deleted."""
    import uuid

    from app.push.service import deliver

    return await deliver(
        ctx["engine"], ctx["settings"].push, uuid.UUID(organization_id), [uuid.UUID(u) for u in user_ids], payload
    )


async def remind_actions(ctx: dict[str, Any]) -> int:
    """Every minute: a push reminder to the volunteers of each action starting within the lead time (once)."""
    from app.push.reminders import remind

    return await remind(ctx["engine"], ctx["settings"].push.reminder_minutes)


def redis_settings() -> RedisSettings:
    return RedisSettings.from_dsn(get_settings().redis_url or "redis://127.0.0.1:6379/0")


async def webhook_dispatch(ctx: dict[str, Any], organization_id: str) -> int:
    from app.integrations.delivery import dispatch

    return await dispatch(ctx, organization_id)


async def webhook_sweep(ctx: dict[str, Any]) -> int:
    from app.integrations.delivery import sweep

    return await sweep(ctx)


async def send_petition_confirmation(ctx: dict[str, Any], organization_id: str, signature_id: str) -> str:
    from app.petitions.optin import send_confirmation

    return await send_confirmation(ctx, organization_id, signature_id)


async def purge_pending_signatures(ctx: dict[str, Any]) -> int:
    """Daily: unconfirmed double opt-ins past the retention (PETITIONS__PENDING_RETENTION_DAYS) are deleted."""
    from app.petitions.optin import purge_unconfirmed

    n = await purge_unconfirmed(ctx)
    log.info("purged unconfirmed signatures", extra={"job": "purge_pending_signatures"})
    return n


async def compact_dashboard_rollups(ctx: dict[str, Any]) -> int:
    """Daily: the dashboard rollups' shards of past hours folded into one row each (migration 0027)."""
    from sqlalchemy import text

    async with ctx["engine"].begin() as conn:
        n = int(await conn.scalar(text("SELECT gg_dashboard_rollups_compact(now() - interval '2 hours')")) or 0)
    log.info("compacted dashboard rollups", extra={"job": "compact_dashboard_rollups"})
    return n


async def deliver_webhook(ctx: dict[str, Any], organization_id: str, delivery_id: str) -> str:
    from app.integrations.delivery import deliver

    return await deliver(ctx, organization_id, delivery_id)


# Every job measured (app.core.metrics.timed_job keeps the name arq registers).
webhook_dispatch = timed_job(webhook_dispatch)
webhook_sweep = timed_job(webhook_sweep)
deliver_webhook = timed_job(deliver_webhook)
send_petition_confirmation = timed_job(send_petition_confirmation)
purge_pending_signatures = timed_job(purge_pending_signatures)
purge_expired_tokens = timed_job(purge_expired_tokens)
geocode_import_job = timed_job(geocode_import_job)
run_import_job = timed_job(run_import_job)
requeue_stale_imports = timed_job(requeue_stale_imports)
apply_contact_retention = timed_job(apply_contact_retention)
send_campaign_job = timed_job(send_campaign_job)
requeue_due_campaigns = timed_job(requeue_due_campaigns)

FUNCTIONS: list[Any] = [
    func(webhook_dispatch, keep_result=0),  # its job id is a fan-out window (app.integrations.events): reusable
    webhook_sweep,
    func(deliver_webhook, timeout=60, max_tries=3),
    func(send_petition_confirmation, timeout=120, max_tries=5),
    purge_pending_signatures,
    purge_expired_tokens,
    geocode_import_job,
    func(run_import_job, timeout=3600, max_tries=20),
    requeue_stale_imports,
    apply_contact_retention,
    func(send_campaign_job, timeout=24 * 3600, max_tries=5),
    requeue_due_campaigns,
    func(send_direct_message_job, timeout=120, max_tries=6),
    func(send_push_job, timeout=300, max_tries=3),
    remind_actions,
]


class WorkerSettings:
    functions = FUNCTIONS
    cron_jobs = [
        cron(purge_expired_tokens, hour={3}, minute={17}),
        cron(apply_contact_retention, hour={3}, minute={47}),
        cron(purge_pending_signatures, hour={4}, minute={7}),
        cron(compact_dashboard_rollups, hour={4}, minute={27}),
        cron(requeue_stale_imports, second={7}, run_at_startup=True),
        cron(requeue_due_campaigns, second={37}, run_at_startup=True),
        cron(remind_actions, second={52}),
        cron(webhook_sweep, second={2, 17, 32, 47}, run_at_startup=True),
    ]
    on_startup = startup
    on_shutdown = shutdown
    redis_settings = redis_settings()
    max_jobs = 4
    # How soon a queued job starts (arq's default is 0.5 s): webhooks go out within a second or two of their commit
    # after two hops (fan-out, delivery). A poll is one cheap Redis command.
    poll_delay = 0.05
    job_timeout = 3600
    keep_result = 3600
    allow_abort_jobs = True


REDIS_DOWN = (RedisError, OSError, asyncio.TimeoutError)


async def _close(worker: Any) -> None:
    """Close a worker whose Redis may be gone: cancel its jobs (they are safe to run again) and dispose of the
    engine even if arq cannot tidy up in Redis."""
    with contextlib.suppress(*REDIS_DOWN, asyncio.CancelledError):
        await worker.close()
    if "engine" in worker.ctx:
        await worker.ctx["engine"].dispose()


async def run_worker(stop: asyncio.Event, *, first_delay_s: float = 1.0, max_delay_s: float = 30.0) -> None:
    """Run the arq worker until `stop`; while Redis is unreachable, wait and reconnect with backoff instead of
    exiting (arq's own loop dies on the first connection error). Any other error is raised: a real crash,
    which the supervisor of `groundgame up` restarts."""
    delay = first_delay_s
    while not stop.is_set():
        worker = create_worker(dict(vars(WorkerSettings)), handle_signals=False)
        started = time.monotonic()
        run = asyncio.create_task(worker.async_run())
        stopping = asyncio.create_task(stop.wait())
        await asyncio.wait({run, stopping}, return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        if not run.done():  # asked to stop
            run.cancel()
            with contextlib.suppress(asyncio.CancelledError, *REDIS_DOWN):
                await run
            await _close(worker)
            return
        error = run.exception()
        await _close(worker)
        if error is None:
            return
        if not isinstance(error, REDIS_DOWN):
            raise error
        if time.monotonic() - started > 60:
            delay = first_delay_s
        log.warning("redis unavailable (%s); worker reconnecting in %.1f s", type(error).__name__, delay)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=delay)
        delay = min(delay * 2, max_delay_s)


def main() -> None:
    configure_logging(get_settings().log_level)

    async def go() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await run_worker(stop)

    asyncio.run(go())


if __name__ == "__main__":
    main()

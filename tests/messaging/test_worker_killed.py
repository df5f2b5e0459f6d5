"""A campaign killed mid-send (a real arq worker process, SIGKILL) resumes in another worker without sending
anyone a second message: what the dead run had claimed is failed as "interrupted", the rest is sent once."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from collections import Counter
from typing import Any

from aiosmtpd.controller import Controller
from arq import create_pool
from arq.connections import RedisSettings
from httpx import AsyncClient
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import set_tenant
from app.core.embedded import free_port
from app.models import Campaign, CampaignMessage
from tests.conftest import ServicesUnderTest
from tests.messaging.conftest import Inbox, add_contact, live_manager
from tests.messaging.test_campaigns import _campaign, _template

RECIPIENTS = 40


class SlowInbox(Inbox):
    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        await asyncio.sleep(0.08)
        return await super().handle_DATA(server, session, envelope)


def _own_redis_db(url: str) -> str:
    """The workers here use their own Redis database: the in-process test worker never takes their jobs."""
    base = url.rsplit("/", 1)[0] if url.count("/") > 2 else url
    return base + "/7"


def _worker(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "app.worker"],
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def test_a_campaign_killed_mid_send_resumes_without_sending_anyone_a_second_message(
    live_client: AsyncClient, live_db: AsyncSession, services: ServicesUnderTest
) -> None:
    inbox = SlowInbox()
    port = free_port()
    ctl = Controller(inbox, hostname="127.0.0.1", port=port)
    ctl.start()
    redis_url = _own_redis_db(services.redis_url)
    env = os.environ | {
        "REDIS_URL": redis_url,
        "MESSAGING__SMTP_HOST": "127.0.0.1",
        "MESSAGING__SMTP_PORT": str(port),
        "MESSAGING__BATCH_SIZE": "5",
    }
    procs: list[subprocess.Popen[bytes]] = []
    try:
        m = await live_manager(live_db)
        org_id = m.org.id
        for i in range(RECIPIENTS):
            await add_contact(live_db, org_id, email=f"p{i:02d}@example.org", consent_email="granted")
        await live_db.commit()
        tid = await _template(live_client, m, channel="email", subject="Hi", body_text="x")
        cid = uuid.UUID(await _campaign(live_client, m, tid, {}))
        # Queued as the send endpoint does, but on the workers' own queue (below), not the test process's.
        await set_tenant(live_db, org_id)
        await live_db.execute(update(Campaign).where(Campaign.id == cid).values(status="sending", run=1))
        await live_db.commit()
        pool = await create_pool(RedisSettings.from_dsn(redis_url))
        await pool.enqueue_job("send_campaign_job", str(org_id), str(cid), _job_id=f"campaign:{cid}:1")

        procs.append(_worker(env))
        for _ in range(400):
            if len(inbox.messages) >= 10:
                break
            await asyncio.sleep(0.05)
        assert 10 <= len(inbox.messages) < RECIPIENTS, "the campaign was not caught mid-send"
        os.killpg(procs[0].pid, signal.SIGKILL)
        procs[0].wait()
        before = len(inbox.messages)

        procs.append(_worker(env))
        status = "sending"
        for attempt in range(120):  # the re-run (the sweeper's job); "busy" until PostgreSQL drops the dead session
            await pool.enqueue_job("send_campaign_job", str(org_id), str(cid), _job_id=f"campaign:{cid}:re:{attempt}")
            await asyncio.sleep(0.5)
            await live_db.rollback()
            await set_tenant(live_db, org_id)
            status = str(await live_db.scalar(select(Campaign.status).where(Campaign.id == cid)))
            if status == "done":
                break
        assert status == "done"
        await pool.aclose()

        received = Counter(a for rcpts, _ in inbox.messages for a in rcpts)
        assert received and max(received.values()) == 1  # nobody twice
        assert len(inbox.messages) > before  # the second worker sent the rest
        rows = dict(
            (
                await live_db.execute(
                    select(CampaignMessage.address, CampaignMessage.status).where(CampaignMessage.campaign_id == cid)
                )
            )
            .tuples()
            .all()
        )
        assert len(rows) == RECIPIENTS
        assert set(rows.values()) <= {"sent", "failed"}
        sent = {a for a, s in rows.items() if s == "sent"}
        assert sent <= set(received)  # every message marked sent arrived, once
        interrupted = await live_db.scalar(
            select(func.count()).where(
                CampaignMessage.campaign_id == cid,
                CampaignMessage.status == "failed",
                CampaignMessage.error.like("interrupted%"),
            )
        )
        assert len(sent) + int(interrupted or 0) == RECIPIENTS
    finally:
        for p in procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
                p.wait(timeout=20)
        ctl.stop()

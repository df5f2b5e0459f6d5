"""Email campaign: SIZE/10 consented contacts (100,000 of the 1M base) rendered and delivered to a local SMTP sink
(a real aiosmtpd server in its own process that counts what it accepts and the addresses that got two), against
a bare aiosmtplib loop sending the same pre-rendered messages over the same number of connections (one: a campaign
is sent by one run at a time, app/messaging/delivery.py), same run.

Ours: the campaign is created and started through the API; the real arq worker process (`python -m app.worker`,
as `make run` starts it) sends it; measured from the send request to the last message the sink accepted; the
worker's peak RSS (VmHWM) is read from /proc. Selection: our recipient statement (audience.materialize) vs the
hand-written SQL of the same set (consent current for email, no do-not-contact, one row per address), both as
INSERT … SELECT into campaign_messages on the app role (row-level security applies to both, as in production),
rolled back, alternated, medians.

Setup (set-based, undone at the end): exactly SIZE/10 contacts with an email have email consent (those who
have it in the base first, so few rows change), the other consents granted in the base are set to unknown, so
the audience of the whole base is that many.

    python -m bench.run --smoke --only campaign
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import statistics
import sys
import time
import uuid
from types import SimpleNamespace
from typing import Any

import aiosmtplib

from bench.context import Ctx, has_route
from bench.report import Row, unavailable

API = "/api/v1/messaging"
MAIL_FROM = "Bench HQ <hq@bench.groundgame.org>"
SUBJECT = "Mulțumim, {{ contact.first_name }}!"
HTML = (
    "<p>Dragă {{ contact.first_name }} {{ contact.last_name }},</p>\n"
    "<p>Îți mulțumim că ne-ai primit în {{ contact.city }}. Ne vedem la următoarea întâlnire din cartier.</p>\n"
    "<p>Echipa</p>"
)
TEXT = (
    "Dragă {{ contact.first_name }} {{ contact.last_name }},\n\n"
    "Îți mulțumim că ne-ai primit în {{ contact.city }}. Ne vedem la următoarea întâlnire din cartier.\n\nEchipa"
)
SAVED = "bench_campaign_saved_consent"


# The sink: its own process (python -m bench.wl_campaign sink), an SMTP port and a control port (one JSON line).


class SinkHandler:
    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.seen: dict[str, int] = {}
        self.accepted = 0
        self.twice = 0
        self.first_at = 0.0
        self.last_at = 0.0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        now = time.time()
        for a in envelope.rcpt_tos:
            k = a.lower()
            n = self.seen.get(k, 0)
            if n:
                self.twice += 1
            self.seen[k] = n + 1
            self.accepted += 1
        self.first_at = self.first_at or now
        self.last_at = now
        return "250 OK"

    def stats(self) -> dict[str, Any]:
        return {
            "accepted": self.accepted,
            "addresses": len(self.seen),
            "twice": self.twice,
            "first_at": self.first_at,
            "last_at": self.last_at,
        }


async def _sink_main(smtp_port: int, control_port: int) -> None:
    from aiosmtpd.smtp import SMTP

    handler = SinkHandler()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(handler, hostname="sink.bench", data_size_limit=1 << 20), "127.0.0.1", smtp_port
    )

    async def control(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while line := (await reader.readline()).strip():
            if line == b"reset":
                handler.reset()
            writer.write(json.dumps(handler.stats()).encode() + b"\n")
            await writer.drain()
        writer.close()

    ctl = await asyncio.start_server(control, "127.0.0.1", control_port)
    print("ready", flush=True)
    async with server, ctl:
        await asyncio.Event().wait()


class Sink:
    def __init__(self) -> None:
        from app.core.embedded import free_port

        self.port, self.control_port = free_port(), free_port()
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench.wl_campaign",
            "sink",
            str(self.port),
            str(self.control_port),
            stdout=asyncio.subprocess.PIPE,
            start_new_session=True,
        )
        assert self.proc.stdout is not None
        line = await asyncio.wait_for(self.proc.stdout.readline(), 30)
        assert line.strip() == b"ready", line

    async def ask(self, command: str = "stats") -> dict[str, Any]:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.control_port)
        writer.write(command.encode() + b"\n")
        await writer.drain()
        out: dict[str, Any] = json.loads(await reader.readline())
        writer.close()
        return out

    async def until(self, n: int, timeout_s: float) -> dict[str, Any]:
        """Wait for n accepted messages (or no progress for 30 s, or the timeout), then a moment for late dups."""
        deadline = time.monotonic() + timeout_s
        last, moved = -1, time.monotonic()
        while True:
            s = await self.ask()
            if s["accepted"] != last:
                last, moved = s["accepted"], time.monotonic()
            if s["accepted"] >= n or time.monotonic() > deadline or time.monotonic() - moved > 30:
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.5)
        return await self.ask()

    async def stop(self) -> None:
        if self.proc is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.proc.wait(), 10)


# Setup: exactly n contacts reachable by email, undone at the end.


async def give_consent(ctx: Ctx, n: int) -> int:
    conn = await ctx.su()
    try:
        async with conn.transaction():
            await conn.execute(f"DROP TABLE IF EXISTS {SAVED}")
            await conn.execute(
                f"""
                CREATE TABLE {SAVED} AS
                WITH chosen AS (
                    SELECT id FROM contacts
                    WHERE organization_id = $1 AND email IS NOT NULL AND NOT dnc_email AND NOT email_invalid
                    ORDER BY consent_email IS DISTINCT FROM 'granted', md5(id::text) LIMIT {int(n)}
                )
                SELECT c.id, c.consent_email AS old, (ch.id IS NOT NULL) AS chosen
                FROM contacts c LEFT JOIN chosen ch ON ch.id = c.id
                WHERE c.organization_id = $1
                  AND (ch.id IS NOT NULL) IS DISTINCT FROM (c.consent_email IS NOT DISTINCT FROM 'granted')
                """.replace("$1", f"'{uuid.UUID(ctx.org_id)}'")
            )
            await conn.execute(
                f"""UPDATE contacts c SET consent_email = CASE WHEN s.chosen THEN 'granted' END
                    FROM {SAVED} s WHERE c.organization_id = $1 AND c.id = s.id""",
                ctx.org_id,
            )
            got: int = await conn.fetchval(
                """SELECT count(DISTINCT lower(email)) FROM contacts WHERE organization_id = $1
                   AND consent_email = 'granted' AND NOT dnc_email AND email IS NOT NULL AND NOT email_invalid""",
                ctx.org_id,
            )
        await conn.execute("ANALYZE contacts")
    finally:
        await conn.close()
    return got


async def restore_consent(ctx: Ctx) -> None:
    conn = await ctx.su()
    try:
        async with conn.transaction():
            await conn.execute(
                f"""UPDATE contacts c SET consent_email = s.old FROM {SAVED} s
                    WHERE c.organization_id = $1 AND c.id = s.id""",
                ctx.org_id,
            )
            await conn.execute(f"DROP TABLE {SAVED}")
    finally:
        await conn.close()


# Selection: ours vs the bare SQL, same set.

BARE_SELECTION = """
    INSERT INTO campaign_messages (organization_id, campaign_id, contact_id, address)
    SELECT DISTINCT ON (lower(email)) organization_id, $2, id, lower(email)
    FROM contacts
    WHERE organization_id = $1 AND consent_email = 'granted' AND NOT dnc_email
      AND email IS NOT NULL AND NOT email_invalid
    ORDER BY lower(email), created_at, id
    RETURNING contact_id
"""


async def time_selection(ctx: Ctx, campaign_id: uuid.UUID, reps: int) -> dict[str, Any]:
    from sqlalchemy import select
    from sqlalchemy.ext.asyncio import create_async_engine

    from app.core.db import make_sessionmaker, set_tenant
    from app.messaging import audience
    from app.models import Campaign, CampaignMessage

    org = uuid.UUID(ctx.org_id)
    engine = create_async_engine(ctx.services.sa_url(ctx.db, superuser=False))
    maker = make_sessionmaker(engine)
    conn = await ctx.app_conn()  # the same role as ours: RLS weighs on both (owner-side SQL would skip it)
    ours_s: list[float] = []
    bare_s: list[float] = []
    ours_set: set[uuid.UUID] = set()
    bare_set: set[uuid.UUID] = set()

    async def ours() -> None:
        nonlocal ours_set
        async with maker() as session:
            await set_tenant(session, org)
            c = await session.get(Campaign, (org, campaign_id))
            assert c is not None
            t = time.perf_counter()
            await audience.materialize(session, c)
            ours_s.append(time.perf_counter() - t)
            ours_set = set(
                await session.scalars(
                    select(CampaignMessage.contact_id).where(
                        CampaignMessage.organization_id == org, CampaignMessage.campaign_id == campaign_id
                    )
                )
            )
            await session.rollback()

    async def bare() -> None:
        nonlocal bare_set
        tr = conn.transaction()
        await tr.start()
        try:
            await conn.execute("SELECT set_config('app.organization_id', $1, true)", str(org))
            t = time.perf_counter()
            rows = await conn.fetch(BARE_SELECTION, org, campaign_id)
            bare_s.append(time.perf_counter() - t)
            bare_set = {r["contact_id"] for r in rows}
        finally:
            await tr.rollback()

    try:
        for i in range(reps):  # alternated: neither always runs on the other's warm cache
            for go in (ours, bare) if i % 2 == 0 else (bare, ours):
                await go()
    finally:
        await conn.close()
        await engine.dispose()
    return {
        "ours_ms": statistics.median(ours_s) * 1000,
        "bare_ms": statistics.median(bare_s) * 1000,
        "ours_all_ms": [round(x * 1000, 1) for x in ours_s],
        "bare_all_ms": [round(x * 1000, 1) for x in bare_s],
        "same_set": ours_set == bare_set,
        "n": len(bare_set),
    }


# Bare: one aiosmtplib connection, the same messages rendered beforehand.


async def prerender(ctx: Ctx, campaign_id: uuid.UUID) -> list[tuple[str, bytes]]:
    from app.messaging import unsubscribe
    from app.messaging.render import compile_parts, contact_fields
    from app.messaging.senders import build_email

    settings = ctx.services.settings(ctx.db, messaging={"mail_from": MAIL_FROM})
    secret = settings.secret_key.get_secret_value()
    org = uuid.UUID(ctx.org_id)
    compiled = compile_parts({"subject": SUBJECT, "body_html": HTML, "body_text": TEXT})
    conn = await ctx.su()
    try:
        rows = await conn.fetch(
            """SELECT DISTINCT ON (lower(email)) id AS contact_id, lower(email) AS address, first_name, last_name,
                      city, street, postal_code, country, language
               FROM contacts
               WHERE organization_id = $1 AND consent_email = 'granted' AND NOT dnc_email
                 AND email IS NOT NULL AND NOT email_invalid
               ORDER BY lower(email), created_at, id""",
            org,
        )
    finally:
        await conn.close()
    out = []
    for r in rows:
        rendered = compiled.render(contact_fields(SimpleNamespace(**dict(r))))
        url = unsubscribe.url(
            settings.messaging.public_url, unsubscribe.token(secret, org, r["contact_id"], campaign_id)
        )
        msg = build_email(
            settings.messaging,
            to=r["address"],
            subject=rendered["subject"],
            html=rendered["body_html"],
            text=rendered["body_text"],
            unsubscribe_url=url,
            organization_id=org,
        )
        out.append((r["address"], msg.as_bytes()))
    return out


async def bare_send(sink: Sink, messages: list[tuple[str, bytes]]) -> float:
    await sink.ask("reset")
    smtp = aiosmtplib.SMTP(hostname="127.0.0.1", port=sink.port, timeout=30)
    t = time.perf_counter()
    await smtp.connect()
    sender = MAIL_FROM.rsplit("<", 1)[-1].strip(">")
    for to, data in messages:
        await smtp.sendmail(sender, [to], data)
    await smtp.quit()
    return time.perf_counter() - t


def peak_rss_mb(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


async def run(ctx: Ctx) -> list[Row]:
    from bench.wl_webhooks import _stop, _workers

    n = max(20, ctx.size // 10)
    metric = f"campaign: email to {n:,} consented contacts, 1 SMTP connection, 1 worker"
    bar = ">= 0.7x the bare aiosmtplib loop; worker peak RSS <= 300 MB; selection <= 1.2x the bare SQL"
    async with ctx.asgi_client() as (app, client):
        if not has_route(app, f"{API}/campaigns"):
            return [unavailable("campaign", metric, f"POST {API}/campaigns does not exist", bar=bar)]
    reachable = await give_consent(ctx, n)
    sink = Sink()
    await sink.start()
    workers: list[asyncio.subprocess.Process] = []
    try:
        env = {
            **ctx.services.env(ctx.db),
            "MESSAGING__SMTP_HOST": "127.0.0.1",
            "MESSAGING__SMTP_PORT": str(sink.port),
            "MESSAGING__MAIL_FROM": MAIL_FROM,
            "MESSAGING__EMAIL_PER_SECOND": "0",
        }
        workers = await _workers(env, 1)  # as `make run`: one worker process
        async with ctx.asgi_client() as (_app, client):
            r = await client.post(
                f"{API}/templates",
                json={
                    "name": f"bench {uuid.uuid4().hex[:8]}",
                    "channel": "email",
                    "subject": SUBJECT,
                    "body_html": HTML,
                    "body_text": TEXT,
                },
            )
            assert r.status_code == 201, r.text
            r = await client.post(f"{API}/campaigns", json={"name": "bench campaign", "template_id": r.json()["id"]})
            assert r.status_code == 201, r.text
            cid = uuid.UUID(r.json()["id"])
            sel = await time_selection(ctx, cid, ctx.reps(5, 1))
            messages = await prerender(ctx, cid)
            bare_before = await bare_send(sink, messages)
            bare = await sink.ask()
            await sink.ask("reset")
            t_start = time.time()
            r = await client.post(f"{API}/campaigns/{cid}/send", json={})
            assert r.status_code == 200, r.text
            got = await sink.until(n, timeout_s=max(120.0, n / 50))
            ours_s = (got["last_at"] - t_start) if got["accepted"] else None
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                c = (await client.get(f"{API}/campaigns/{cid}")).json()
                if c["status"] == "done":
                    break
                await asyncio.sleep(0.2)
        rss = peak_rss_mb(workers[0].pid)
        # The reference again after ours, the same messages: the mean of the two runs bracketing ours, so a
        # load that drifts during the run (a shared machine) weighs on both sides alike.
        bare_after = await bare_send(sink, messages)
        bare_again = await sink.ask()
        del messages
        bare_s = (bare_before + bare_after) / 2
    finally:
        await _stop(workers)
        await sink.stop()
        await restore_consent(ctx)
    bare_tput = n / bare_s if bare_s else None
    ours_tput = got["accepted"] / ours_s if ours_s else None
    counts = c.get("counts", {})
    correct = bool(
        got["accepted"] == n
        and got["addresses"] == n
        and got["twice"] == 0
        and bare["accepted"] == n
        and bare_again["accepted"] == n
        and counts.get("sent") == n
        and c["status"] == "done"
        and sel["same_set"]
        and sel["n"] == n == reachable
    )
    ratio = ours_tput / bare_tput if ours_tput and bare_tput else None
    sel_ratio = sel["ours_ms"] / sel["bare_ms"] if sel["bare_ms"] else None
    why = (
        ""
        if correct
        else f"sink accepted {got['accepted']} ({got['addresses']} addresses, {got['twice']} twice) of {n}; "
        f"bare {bare['accepted']}; campaign {c['status']} {counts}; same set {sel['same_set']} ({sel['n']})"
    )
    return [
        Row(
            "campaign",
            f"{metric}: throughput",
            ours_tput,
            bare_tput,
            "msg/s",
            ratio,
            ">= 0.7x bare aiosmtplib, same connections",
            bool(correct and ratio is not None and ratio >= 0.7),
            why
            or f"ours {ours_s:.1f}s from the send request to the last accepted (the first after "
            f"{got['first_at'] - t_start:.1f}s); bare {bare_before:.1f}s before, {bare_after:.1f}s after",
            {
                "ours_s": ours_s,
                "bare_s": [bare_before, bare_after],
                "sink": got,
                "bare_sink": bare,
                "counts": counts,
            },
            correct=correct,
        ),
        Row(
            "campaign",
            f"{metric}: worker peak RSS",
            rss,
            300,
            "MB",
            rss / 300 if rss else None,
            "<= 300 MB",
            rss is not None and rss <= 300,
            "VmHWM of the worker process",
            correct=rss is not None,
        ),
        Row(
            "campaign",
            f"campaign: selecting {n:,} recipients of {ctx.size:,}",
            sel["ours_ms"],
            sel["bare_ms"],
            "ms",
            sel_ratio,
            "<= 1.2x the bare SQL",
            bool(sel["same_set"] and sel_ratio is not None and sel_ratio <= 1.2),
            f"same set: {sel['same_set']}; ours {sel['ours_all_ms']} ms, bare {sel['bare_all_ms']} ms",
            sel,
            correct=sel["same_set"],
        ),
    ]


if __name__ == "__main__" and len(sys.argv) == 4 and sys.argv[1] == "sink":
    asyncio.run(_sink_main(int(sys.argv[2]), int(sys.argv[3])))

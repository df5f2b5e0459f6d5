"""The bus reads each event once per process and encodes its SSE frame once: every client of the process gets the
same entry (no per-client parsing, encoding or query), and a burst reaches a client in one chunk."""

from __future__ import annotations

import asyncio
import json
import uuid

from app.dashboard.audience import Audience
from app.dashboard.bus import BATCH_MAX_S, BATCH_MIN_S, WRITES_PER_S, Bus, Entry, Subscription, batch_wait
from app.dashboard.stream import _events
from tests.conftest import ServicesUnderTest


async def _entries(sub: Subscription, n: int) -> list[Entry]:
    out: list[Entry] = []
    while len(out) < n:
        item = await asyncio.wait_for(sub.queue.get(), 5)
        if isinstance(item, Entry):  # a Status (live/not live) may come first
            out.append(item)
    return out


async def test_every_client_of_a_process_shares_one_parsed_and_encoded_entry(services: ServicesUnderTest) -> None:
    b = Bus(services.redis_url)
    try:
        subs = [b.subscribe() for _ in range(50)]
        assert (await b.state(5)).live
        org = str(uuid.uuid4())
        await asyncio.sleep(0.2)  # the reader has anchored on the stream's newest entry
        await b.publish([{"type": "report", "organization_id": org, "report_id": str(i)} for i in range(3)])
        got = [await _entries(s, 3) for s in subs]
        first = got[0]
        for other in got[1:]:
            assert all(a is e for a, e in zip(first, other, strict=True))  # one object: read and encoded once
        e = first[0]
        assert e.wire.decode().startswith(f"id: {e.id}\r\nevent: report\r\ndata: ")
        assert json.loads(e.wire.decode().split("data: ", 1)[1].strip()) == e.event
    finally:
        await b.close()


async def test_a_burst_queued_for_a_client_goes_out_in_one_chunk_of_what_it_may_see(
    services: ServicesUnderTest,
) -> None:
    import app.dashboard.bus as bus_module

    org = str(uuid.uuid4())
    b = Bus(services.redis_url)
    previous = bus_module._bus
    bus_module._bus = b
    try:
        aud = Audience(org, str(uuid.uuid4()), everything=True, members=frozenset(), team_ids=frozenset())
        frames = _events(aud, None)
        status = await anext(frames)
        assert b'"live": true' in status
        await asyncio.sleep(0.2)
        events = [{"type": "report", "organization_id": org, "report_id": str(i)} for i in range(5)]
        events.insert(2, {"type": "report", "organization_id": str(uuid.uuid4()), "report_id": "other-org"})
        await b.publish(events)
        await asyncio.sleep(0.5)  # all six are queued before the client writes
        chunk = (await asyncio.wait_for(anext(frames), 5)).decode()
        ids = [json.loads(line[6:])["report_id"] for line in chunk.splitlines() if line.startswith("data: ")]
        assert ids == ["0", "1", "2", "3", "4"]
        await frames.aclose()
    finally:
        bus_module._bus = previous
        await b.close()


async def test_events_committed_a_few_ms_apart_reach_a_client_in_few_writes(services: ServicesUnderTest) -> None:
    import app.dashboard.bus as bus_module

    org = str(uuid.uuid4())
    b = Bus(services.redis_url)
    previous = bus_module._bus
    bus_module._bus = b
    try:
        aud = Audience(org, str(uuid.uuid4()), everything=True, members=frozenset(), team_ids=frozenset())
        frames = _events(aud, None)
        await anext(frames)
        chunks: list[str] = []
        ids: list[str] = []

        async def client() -> None:  # writes as soon as something is queued for it, like a connected client
            while len(ids) < 8:
                chunk = (await anext(frames)).decode()
                chunks.append(chunk)
                ids.extend(json.loads(x[6:])["report_id"] for x in chunk.splitlines() if x.startswith("data: "))

        reading = asyncio.create_task(client())
        await asyncio.sleep(0.2)
        for i in range(8):  # eight reports committed 5 ms apart: one write each without batching
            await b.publish([{"type": "report", "organization_id": org, "report_id": str(i)}])
            await asyncio.sleep(0.005)
        await asyncio.wait_for(reading, 5)
        assert ids == [str(i) for i in range(8)]
        assert len(chunks) <= 4, chunks
        await frames.aclose()
    finally:
        bus_module._bus = previous
        await b.close()


def test_the_readers_wait_keeps_a_busy_process_within_its_write_budget_and_the_push_bar() -> None:
    """A client gets at most one write per wait: a few viewers get events within the short wait; hundreds share
    the process's write budget, and never wait more than half the push bar (1 s)."""
    assert batch_wait(1) == BATCH_MIN_S == 0.2
    assert batch_wait(125) == BATCH_MAX_S == 0.5
    for clients in (50, 100, 125, 1000):
        assert batch_wait(clients) <= 0.5
    for clients in (50, 100, 125):
        assert clients / batch_wait(clients) <= WRITES_PER_S

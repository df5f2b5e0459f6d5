"""The live bus: events are appended to one capped Redis stream after their transaction commits (so every web
worker sees them, and a rolled-back write publishes nothing); each API process runs ONE reader that fans them out
in memory to its SSE clients. Stream entry ids are the SSE event ids, so a client that reconnects with
`Last-Event-ID` gets exactly what it missed (within the stream's cap). If Redis is down, publishing is skipped
(logged) and subscribers are told the stream is not live; the rest of the app does not depend on it."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError
from sse_starlette import ServerSentEvent

from app.config import get_settings

log = logging.getLogger("groundgame.live")

STREAM_KEY = "gg:live"
STREAM_MAXLEN = 100_000  # ~ the last hour of a busy campaign day: what a reconnecting client can resume
BACKLOG_MAX = 5_000
QUEUE_MAX = 2_000
# After a read, the reader waits before the next one: what was committed meanwhile comes in one read and goes to
# each client in one write, so a client costs at most one write per wait however busy the campaign. The wait grows
# with this process's clients, to keep them within WRITES_PER_S writes a second in all (each ~70 µs, measured
# with sse-starlette and uvicorn), between BATCH_MIN_S (a few viewers: events within ~0.2 s) and BATCH_MAX_S
# (hundreds of viewers: within ~0.5 s, half the push bar, for two-fifths of the writes of a fixed 0.2 s).
BATCH_MIN_S, BATCH_MAX_S = 0.2, 0.5
WRITES_PER_S = 250


def batch_wait(clients: int) -> float:
    return min(BATCH_MAX_S, max(BATCH_MIN_S, clients / WRITES_PER_S))


@dataclass(frozen=True)
class Status:
    live: bool
    reason: str | None = None


def id_key(event_id: str) -> tuple[int, int]:
    ms, _, seq = event_id.partition("-")
    return int(ms), int(seq or 0)


@dataclass(frozen=True, slots=True)
class Entry:
    """One event as every client of this process gets it: read, parsed and encoded once, whatever the number of
    clients (each client only checks whether it may see it and writes `wire`)."""

    id: str
    key: tuple[int, int]
    event: dict[str, Any]
    wire: bytes  # the SSE frame: id, event type, the JSON as published

    @classmethod
    def of(cls, raw_id: bytes, raw: bytes) -> Entry:
        event_id, ev = raw_id.decode(), json.loads(raw)
        frame = ServerSentEvent(id=event_id, event=str(ev.get("type", "message")), data=raw.decode()).encode()
        return cls(event_id, id_key(event_id), ev, frame)


@dataclass(eq=False)
class Subscription:
    queue: asyncio.Queue[Entry | Status] = field(default_factory=lambda: asyncio.Queue(QUEUE_MAX))
    overflowed: bool = False

    def offer(self, item: Entry | Status) -> None:
        try:
            self.queue.put_nowait(item)
        except asyncio.QueueFull:  # a stuck client: it is closed and resumes with Last-Event-ID
            self.overflowed = True


class Bus:
    def __init__(self, redis_url: str) -> None:
        self.redis = Redis.from_url(redis_url or "redis://127.0.0.1:1", socket_timeout=5, socket_connect_timeout=1)
        self.subscribers: set[Subscription] = set()
        self.live = False
        self.known = asyncio.Event()  # set once the reader has found Redis up or down
        self._reader: asyncio.Task[None] | None = None
        self.loop = asyncio.get_running_loop()

    async def publish(self, events: Sequence[dict[str, Any]]) -> None:
        if not events:
            return
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                for e in events:
                    pipe.xadd(STREAM_KEY, {"e": json.dumps(e, default=str)}, maxlen=STREAM_MAXLEN, approximate=True)
                await pipe.execute()
        except (RedisError, OSError) as exc:
            log.warning("live events not published (redis unavailable): %d dropped (%s)", len(events), exc)

    def subscribe(self) -> Subscription:
        sub = Subscription()
        self.subscribers.add(sub)
        if self._reader is None or self._reader.done():
            self._reader = asyncio.create_task(self._read(), name="live-bus-reader")
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        self.subscribers.discard(sub)

    async def state(self, wait: float = 2.0) -> Status:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.known.wait(), wait)
        return Status(self.live, None if self.live else "redis_unavailable")

    def _set_live(self, live: bool, reason: str | None = None) -> None:
        first = not self.known.is_set()
        self.known.set()
        if live != self.live or (first and not live):
            self.live = live
            for s in list(self.subscribers):
                s.offer(Status(live, reason))

    async def _read(self) -> None:
        last = "$"
        while self.subscribers:
            try:
                if last == "$":  # anchor on the newest entry so nothing between two reads is skipped
                    newest = await self.redis.xrevrange(STREAM_KEY, count=1)
                    last = newest[0][0].decode() if newest else "0-0"
                self._set_live(True)
                got = await self.redis.xread({STREAM_KEY: last}, block=1000, count=1000)
            except (RedisError, OSError) as exc:
                self._set_live(False, "redis_unavailable")
                log.warning("live bus reader: redis unavailable (%s)", exc)
                last = "$"  # after an outage, resuming is the clients' business (Last-Event-ID)
                await asyncio.sleep(1)
                continue
            for _, entries in got or []:
                for raw_id, fields in entries:
                    entry = Entry.of(raw_id, fields[b"e"])
                    last = entry.id
                    for s in list(self.subscribers):
                        s.offer(entry)
            if got:
                await asyncio.sleep(batch_wait(len(self.subscribers)))
        self._reader = None

    async def backlog(self, after: str) -> list[Entry]:
        """Entries after `after` (exclusive), oldest first, at most BACKLOG_MAX."""
        rows = await self.redis.xrange(STREAM_KEY, min=f"({after}", max="+", count=BACKLOG_MAX)
        return [Entry.of(i, f[b"e"]) for i, f in rows]

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader
        await self.redis.aclose()


_bus: Bus | None = None


def bus() -> Bus:
    """This process's bus (one per event loop: the reader and connections belong to it)."""
    global _bus
    loop = asyncio.get_running_loop()
    if _bus is None or _bus.loop is not loop:
        _bus = Bus(get_settings().redis_url)
    return _bus


async def publish(events: Sequence[dict[str, Any]]) -> None:
    await bus().publish(events)

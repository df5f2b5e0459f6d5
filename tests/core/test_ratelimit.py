"""Rate limits hold while Redis is down (a per-process window) and go back to Redis once it is there again."""

from __future__ import annotations

import time

import pytest
from redis.asyncio import Redis

from app.core import ratelimit
from app.core.embedded import EmbeddedRedis, free_port
from app.core.errors import TooManyRequests
from tests.conftest import ServicesUnderTest


async def test_limits_hold_with_redis_down_and_move_back_to_redis_when_it_returns(
    services: ServicesUnderTest, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ratelimit, "RETRY_REDIS_AFTER_S", 0.0)
    rd = EmbeddedRedis(services.tmp / "rl-redis", free_port())
    client = Redis.from_url(rd.url, socket_timeout=1, socket_connect_timeout=1)
    limiter = ratelimit.RateLimiter(client)
    try:
        for _ in range(3):  # nothing listening yet
            await limiter.check("k", limit=3)
        with pytest.raises(TooManyRequests):
            await limiter.check("k", limit=3)
        rd.start()
        await limiter.check("k2", limit=3)
        assert [k.decode() async for k in client.scan_iter("rl:k2:*")], "the hit did not go to Redis"
    finally:
        await client.aclose()
        rd.stop()


async def test_a_hit_counts_in_its_window_with_an_expiry_and_the_previous_window_weighs_in(
    services: ServicesUnderTest, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = Redis.from_url(services.redis_url)
    limiter = ratelimit.RateLimiter(client)
    now = 1_000_000 * 60 + 30.0  # half-way through a window
    monkeypatch.setattr(time, "time", lambda: now)
    try:
        await client.set("rl:ttl:999999", 4)  # the previous window: 4 hits, half of which still count
        counts = [(await limiter.hit("ttl"))[0] for _ in range(3)]
        assert counts == [3.0, 4.0, 5.0]
        assert int(await client.get("rl:ttl:1000000")) == 3
        assert 0 < await client.ttl("rl:ttl:1000000") <= 121
    finally:
        await client.delete("rl:ttl:999999", "rl:ttl:1000000")
        await client.aclose()

"""Sliding-window rate limits in Redis. If Redis is down we fall back to a per-process window, so the
calling workflow keeps working (and limits still hold, per process)."""

from __future__ import annotations

import logging
import time

from redis.asyncio import Redis
from redis.exceptions import RedisError

from app.core.errors import TooManyRequests

log = logging.getLogger("groundgame.ratelimit")


RETRY_REDIS_AFTER_S = 2.0  # while Redis is down, try it again this often (not on every request)

# One command (atomic, one reply to parse): count the hit in this window's key, give it its expiry, and return
# it with the previous window's count.
_HIT = """
local n = redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], ARGV[1])
return {n, redis.call('GET', KEYS[2]) or 0}
"""


class RateLimiter:
    def __init__(self, redis: Redis | None) -> None:
        self.redis = redis
        self._local: dict[str, tuple[int, int]] = {}
        self._redis_down_until = 0.0
        self._hit = redis.register_script(_HIT) if redis is not None else None

    async def hit(self, key: str, *, window_s: int = 60) -> tuple[float, int]:
        """Count one hit; returns (hits in the rolling window, seconds until a slot frees up).

        Sliding-window counter: this window's count plus the previous window's, weighted by how much of it
        still overlaps the rolling window, so a burst cannot double up across a window boundary."""
        now = time.time()
        bucket = int(now // window_s)
        frac = (now % window_s) / window_s
        reset = max(1, int(window_s - (now % window_s)))
        cur, prev = f"rl:{key}:{bucket}", f"rl:{key}:{bucket - 1}"
        if self._hit is not None and time.monotonic() >= self._redis_down_until:
            try:
                count, before = await self._hit(keys=[cur, prev], args=[window_s * 2 + 1])
                if self._redis_down_until:
                    log.info("redis is back for rate limiting")
                    self._redis_down_until = 0.0
                return int(count) + int(before or 0) * (1 - frac), reset
            except (RedisError, OSError):
                if not self._redis_down_until:
                    log.warning("redis unavailable for rate limiting; using the local window")
                self._redis_down_until = time.monotonic() + RETRY_REDIS_AFTER_S
        count = self._local.get(cur, (0, 0))[0] + 1
        self._local[cur] = (count, bucket)
        before = self._local.get(prev, (0, 0))[0]
        if len(self._local) > 10_000:
            self._local = {k: v for k, v in self._local.items() if v[1] >= bucket - 1}
        return count + before * (1 - frac), reset

    async def check(self, key: str, *, limit: int, window_s: int = 60, message: str | None = None) -> None:
        count, reset = await self.hit(key, window_s=window_s)
        if count > limit:
            raise TooManyRequests(reset, message)

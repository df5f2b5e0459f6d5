"""Fixed-window rate limits in Redis. If Redis is down we fall back to a per-process window, so the
calling workflow keeps working (and limits still hold, per process)."""

from __future__ import annotations

import logging
import time

from redis.asyncio import Redis
from redis.exceptions import RedisError

from app.core.errors import TooManyRequests

log = logging.getLogger("groundgame.ratelimit")


class RateLimiter:
    def __init__(self, redis: Redis | None) -> None:
        self.redis = redis
        self._local: dict[str, tuple[int, int]] = {}

    async def hit(self, key: str, *, limit: int, window_s: int = 60) -> tuple[int, int]:
        """Count one hit; returns (count in window, seconds until the window resets)."""
        now = int(time.time())
        bucket = now // window_s
        reset = (bucket + 1) * window_s - now
        full = f"rl:{key}:{bucket}"
        if self.redis is not None:
            try:
                pipe = self.redis.pipeline()
                pipe.incr(full)
                pipe.expire(full, window_s + 1)
                count, _ = await pipe.execute()
                return int(count), reset
            except (RedisError, OSError):
                log.warning("redis unavailable for rate limiting; using the local window")
        prev = self._local.get(full, (0, 0))
        count = prev[0] + 1
        self._local[full] = (count, bucket)
        if len(self._local) > 10_000:
            self._local = {k: v for k, v in self._local.items() if v[1] >= bucket}
        return count, reset

    async def check(self, key: str, *, limit: int, window_s: int = 60, message: str | None = None) -> None:
        count, reset = await self.hit(key, limit=limit, window_s=window_s)
        if count > limit:
            raise TooManyRequests(reset, message)

    async def peek(self, key: str, *, window_s: int = 60) -> int:
        bucket = int(time.time()) // window_s
        full = f"rl:{key}:{bucket}"
        if self.redis is not None:
            try:
                v = await self.redis.get(full)
                return int(v or 0)
            except (RedisError, OSError):
                pass
        return self._local.get(full, (0, 0))[0]

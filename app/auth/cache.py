"""Authenticated session tokens remembered for a few seconds per process, so a request whose token was seen a
moment ago does not look it up again (the calling hot path makes three requests per step).

Revocation stays prompt:
- every change that can alter what a token grants (a token revoked or deleted, a membership's role changed or
  removed, team membership, a user deactivated) sends `NOTIFY gg_auth` from a trigger (migration 0019), which
  PostgreSQL delivers only once it commits; each process listens on its own connection and forgets everything;
- a request of this process that made such a change (logout, a role change…) forgets everything as soon as it
  has committed, before its response goes out (`changed`), so the same process never serves the old grant;
- a lookup that raced with a change is not remembered (the generation it started from is gone);
- while the listener is not connected, nothing is remembered (so the TTL is the upper bound only in the window
  between a commit and its notification reaching a process).
API keys are not cached (each of their requests is audited anyway)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from dataclasses import dataclass

import asyncpg
from sqlalchemy.ext.asyncio import AsyncSession

log = logging.getLogger("groundgame.auth")

CHANNEL = "gg_auth"
MAX_ENTRIES = 100_000
PING_S = 5.0


@dataclass(frozen=True)
class AuthRow:
    token_id: uuid.UUID
    organization_id: uuid.UUID
    needs_2fa_setup: bool
    user_id: uuid.UUID
    email: str
    full_name: str
    role: str
    team_ids: tuple[uuid.UUID, ...]


class PrincipalCache:
    def __init__(self, ttl_s: float) -> None:
        self.ttl_s = ttl_s
        self.generation = 0
        self.listening = False
        self._rows: dict[str, tuple[float, AuthRow]] = {}

    @property
    def enabled(self) -> bool:
        return self.ttl_s > 0 and self.listening

    def get(self, token_hash: str) -> AuthRow | None:
        if not self.enabled:
            return None
        hit = self._rows.get(token_hash)
        if hit is None or hit[0] < time.monotonic():
            return None
        return hit[1]

    def put(self, token_hash: str, row: AuthRow, generation: int) -> None:
        """Remember `row`, read after `generation` was current, unless something changed since."""
        if not self.enabled or generation != self.generation:
            return
        if len(self._rows) >= MAX_ENTRIES:
            self._rows.clear()
        self._rows[token_hash] = (time.monotonic() + self.ttl_s, row)

    def forget_all(self) -> None:
        self.generation += 1
        self._rows.clear()


def changed(session: AsyncSession) -> None:
    """This request changes what some token grants: this process forgets its cached tokens once it commits
    (app/core/db.py `get_session`)."""
    session.info["auth_changed"] = True


async def listen(cache: PrincipalCache, dsn: str) -> None:
    """Forget everything on each `gg_auth` notification; reconnect when the connection is lost (forgetting
    everything, as notifications may have been missed). Runs for the life of the process."""
    while True:
        conn: asyncpg.Connection | None = None
        try:
            conn = await asyncpg.connect(dsn, timeout=5)
            await conn.add_listener(CHANNEL, lambda *_: cache.forget_all())
            cache.forget_all()
            cache.listening = True
            while True:
                await asyncio.sleep(PING_S)
                await conn.fetchval("SELECT 1", timeout=5)  # a connection that died silently ends caching
        except asyncio.CancelledError:
            raise
        except Exception as e:  # PostgreSQL restarting, network: no caching until we listen again
            if cache.listening:
                log.warning("auth cache off: change listener lost (%s)", e.__class__.__name__)
        finally:
            cache.listening = False
            cache.forget_all()
            if conn is not None:
                with contextlib.suppress(Exception):
                    await asyncio.shield(conn.close(timeout=2))
        await asyncio.sleep(1.0)

"""R3/R4 through `groundgame up` itself (a real subprocess on free ports with its embedded PostgreSQL and Redis):
Redis stopped mid-use, then the worker, the web server and PostgreSQL killed with SIGKILL. Calling keeps working
the whole time, every acknowledged report is stored exactly once (a client-side ledger), a job enqueued while
Redis was down runs once it is back, and the supervisor brings every dead part back by itself."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from app.core.embedded import free_port, port_open
from app.seed import DEMO_PASSWORD
from tests.conftest import ServicesUnderTest

RESTART_DELAY_S = 8.0  # three logins, three calls and an upload while Redis is down, on a loaded machine


@dataclass
class Up:
    proc: subprocess.Popen[bytes]
    data_dir: Path
    log: Path
    port: int
    pg_port: int
    redis_port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def child(self, marker: str) -> int:
        """The pid of the supervisor's child whose command line holds `marker`."""
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except (OSError, IndexError, ValueError):
                continue
            if ppid == self.proc.pid and marker in cmd:
                return int(entry.name)
        raise LookupError(marker)


@pytest.fixture
def up(services: ServicesUnderTest) -> Iterator[Up]:
    data_dir = services.tmp / f"up-{uuid.uuid4().hex[:6]}"
    data_dir.mkdir(parents=True)
    port, pg_port, redis_port = free_port(), free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "MIGRATION_DATABASE_URL", "REDIS_URL"}}
    env.update(
        DATA_DIR=str(data_dir),
        PORT=str(port),
        EMBEDDED_PG_PORT=str(pg_port),
        EMBEDDED_REDIS_PORT=str(redis_port),
        RESTART_DELAY_S=str(RESTART_DELAY_S),
        PWA_DIST=str(data_dir / "no-pwa"),
    )
    log = data_dir / "up.log"
    with log.open("wb") as out:
        argv = [sys.executable, "-m", "app.cli", "up"]
        proc = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    u = Up(proc, data_dir, log, port, pg_port, redis_port)
    try:
        deadline = time.monotonic() + 120
        while not _healthy(u.url):
            assert proc.poll() is None, u.output()[-3000:]
            assert time.monotonic() < deadline, u.output()[-3000:]
            time.sleep(0.3)
        yield u
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=40)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


@dataclass
class Ledger:
    """Every report the server acknowledged (200), by its client id."""

    acknowledged: list[str] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)


async def _send(c: httpx.AsyncClient, method: str, path: str, ledger: Ledger, **kw: object) -> httpx.Response:
    """Like a phone: retry the same request (same ids) on a dropped connection or a 503 until it is answered."""
    deadline = time.monotonic() + 60
    while True:
        try:
            r = await c.request(method, path, **kw)  # type: ignore[arg-type]
            ledger.statuses.append(r.status_code)
            if r.status_code != 503:
                return r
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, f"{method} {path} unanswered for 60 s"
        await asyncio.sleep(0.2)


async def _login(c: httpx.AsyncClient, email: str, ledger: Ledger) -> dict[str, str]:
    r = await _send(c, "POST", "/api/v1/auth/login", ledger, json={"email": email, "password": DEMO_PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


async def _call_once(c: httpx.AsyncClient, h: dict[str, str], action_id: str, ledger: Ledger) -> None:
    nxt = await _send(c, "POST", f"/api/v1/actions/{action_id}/calls/next", ledger, headers=h)
    assert nxt.status_code == 200, nxt.text
    tid = nxt.json()["id"]
    start = await _send(c, "POST", f"/api/v1/calls/{tid}/start", ledger, headers=h)
    assert start.status_code == 200, start.text
    report = {"id": str(uuid.uuid4()), "outcome": "refused"}
    rep = await _send(c, "POST", f"/api/v1/calls/{tid}/report", ledger, headers=h, json=report)
    assert rep.status_code == 200, rep.text
    ledger.acknowledged.append(report["id"])


async def _upload(c: httpx.AsyncClient, h: dict[str, str], ledger: Ledger) -> str:
    body = "first_name,mobile\n" + "".join(f"P{i},07{uuid.uuid4().int % 10**8:08d}\n" for i in range(3))
    r = await _send(
        c,
        "POST",
        "/api/v1/imports",
        ledger,
        headers=h,
        files={"file": ("drill.csv", body.encode())},
        data={"mapping": json.dumps({"first_name": "first_name", "mobile": "mobile"})},
    )
    assert r.status_code == 202, r.text
    return str(r.json()["id"])


async def _import_done(c: httpx.AsyncClient, h: dict[str, str], iid: str, ledger: Ledger, up: Up) -> None:
    deadline = time.monotonic() + 40
    status = "?"
    while time.monotonic() < deadline:
        status = (await _send(c, "GET", f"/api/v1/imports/{iid}", ledger, headers=h)).json()["status"]
        if status == "done":
            return
        await asyncio.sleep(0.3)
    raise AssertionError(f"import still {status}:\n{up.output()[-3000:]}")


async def _wait_new_child(up: Up, marker: str, old: int) -> int:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            pid = up.child(marker)
            if pid != old:
                return pid
        except LookupError:
            pass
        await asyncio.sleep(0.2)
    raise AssertionError(f"{marker} not restarted:\n{up.output()[-3000:]}")


@pytest.fixture
async def api(up: Up) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=up.url, timeout=20) as c:
        yield c


async def test_redis_stopped_then_worker_web_and_postgres_killed_under_groundgame_up_lose_nothing(
    up: Up, api: httpx.AsyncClient
) -> None:
    ledger = Ledger()
    vols = [f"volunteer{i}@demo.groundgame.org" for i in (1, 2, 3)]
    heads = [await _login(api, v, ledger) for v in vols]
    manager = await _login(api, "manager@demo.groundgame.org", ledger)
    actions = (await _send(api, "GET", "/api/v1/actions", ledger, headers=heads[0])).json()["items"]
    action_id = next(a["id"] for a in actions if a["type"] == "call")
    for h in heads:
        await _call_once(api, h, action_id, ledger)

    # Redis stopped: calling (login, next, start, report) goes on, an upload is accepted and queued.
    web, worker = up.child("uvicorn"), up.child("app.worker")
    redis_pid = int((up.data_dir / "redis" / "redis.pid").read_text())
    os.kill(redis_pid, signal.SIGTERM)
    while port_open(up.redis_port):  # noqa: ASYNC110  (another process's state)
        await asyncio.sleep(0.05)
    heads = [await _login(api, v, ledger) for v in vols]
    await asyncio.gather(*(_call_once(api, h, action_id, ledger) for h in heads))
    iid = await _upload(api, manager, ledger)
    assert not port_open(up.redis_port), "Redis came back before the drill was done; raise RESTART_DELAY_S"
    # The supervisor starts Redis again; the worker reconnects; the kept job is sent and runs.
    await _import_done(api, manager, iid, ledger, up)
    out = up.output()
    assert "Redis is down; starting it again" in out
    assert "worker reconnecting" in out
    assert (up.child("uvicorn"), up.child("app.worker")) == (web, worker), "web or worker died with Redis"

    # The worker SIGKILLed: started again, and it runs jobs.
    os.kill(worker, signal.SIGKILL)
    await _wait_new_child(up, "app.worker", worker)
    await _import_done(api, manager, await _upload(api, manager, ledger), ledger, up)

    # The web server SIGKILLed: started again; the phones retry and every report lands once.
    os.kill(web, signal.SIGKILL)
    await asyncio.gather(*(_call_once(api, h, action_id, ledger) for h in heads))
    assert await _wait_new_child(up, "uvicorn", web)

    # The embedded PostgreSQL SIGKILLed: 503s meanwhile (retried), started again, crash recovery, calls go on.
    os.kill(int((up.data_dir / "pg" / "postmaster.pid").read_text().split()[0]), signal.SIGKILL)
    await asyncio.gather(*(_call_once(api, h, action_id, ledger) for h in heads))
    out = up.output()
    assert "worker exited with code -9; starting it again" in out
    assert "web exited with code -9; starting it again" in out
    assert "PostgreSQL is down; starting it again" in out

    assert 500 not in ledger.statuses
    assert len(ledger.acknowledged) == 12
    engine = create_async_engine(f"postgresql+asyncpg://postgres@127.0.0.1:{up.pg_port}/groundgame")
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                text("SELECT id::text, count(*) FROM field_reports WHERE id = ANY(CAST(:ids AS uuid[])) GROUP BY id"),
                {"ids": ledger.acknowledged},
            )
        ).all()
    await engine.dispose()
    assert dict(rows) == dict.fromkeys(ledger.acknowledged, 1)
    assert up.proc.poll() is None, "groundgame up stopped"

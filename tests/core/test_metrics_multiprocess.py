"""/metrics across processes (prometheus-client multiprocess mode, as `groundgame up` runs it) and its guard:
a token when one is set, else only this machine."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from httpx import ASGITransport, AsyncClient
from pydantic import SecretStr

from app.config import ROOT, Settings
from app.core.metrics import MULTIPROC_ENV, prepare_multiprocess_dir

WRITER = """
import sys
from app.core.metrics import DB_POOL, MESSAGES_SENT
MESSAGES_SENT.labels("email").inc(int(sys.argv[1]))
DB_POOL.labels("checked_out").set(int(sys.argv[1]))
"""
READER = "from app.core.metrics import render; print(render()[0].decode())"


def _run(code: str, d: Path, *args: str) -> str:
    env = {"PATH": "/usr/bin:/bin", MULTIPROC_ENV: str(d), "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", code, *args], env=env, cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_the_counters_of_two_processes_both_appear_in_one_scrape(tmp_path: Path) -> None:
    d = prepare_multiprocess_dir(tmp_path)
    (d / "counter_999999.db").write_bytes(b"stale")  # a dead run's file
    d = prepare_multiprocess_dir(tmp_path)
    assert list(d.iterdir()) == []  # emptied at start
    _run(WRITER, d, "2")
    _run(WRITER, d, "3")
    text = _run(READER, d)
    m = re.search(r'^groundgame_messages_sent_total\{channel="email"\} (\S+)$', text, re.M)
    assert m and float(m.group(1)) == 5.0
    pids = set(re.findall(r'groundgame_db_pool_connections\{pid="(\d+)",state="checked_out"\}', text))
    assert len(pids) == 2  # each web process's pool, by pid


@pytest.mark.parametrize("peer", ["127.0.0.1", "10.1.2.3"])
async def test_metrics_need_the_token_when_one_is_set(
    app: Any, settings: Settings, monkeypatch: pytest.MonkeyPatch, peer: str
) -> None:
    monkeypatch.setattr(settings, "metrics_token", SecretStr("s3cret-metrics"))
    async with AsyncClient(transport=ASGITransport(app=app, client=(peer, 5000)), base_url="http://t") as c:
        assert (await c.get("/metrics")).status_code == 401
        assert (await c.get("/metrics", headers={"authorization": "Bearer wrong"})).status_code == 401
        res = await c.get("/metrics", headers={"authorization": "Bearer s3cret-metrics"})
        assert res.status_code == 200 and "groundgame_db_pool_connections" in res.text


async def test_without_a_token_metrics_are_only_for_this_machine(app: Any) -> None:
    async with AsyncClient(transport=ASGITransport(app=app, client=("10.1.2.3", 5000)), base_url="http://t") as c:
        assert (await c.get("/metrics")).status_code == 404
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://t") as c:
        res = await c.get("/metrics")
        assert res.status_code == 200 and "groundgame_job_queue_depth" in res.text


async def test_a_measured_job_records_its_duration_and_its_failures() -> None:
    from app.core.metrics import JOB_DURATION, JOB_FAILURES, timed_job

    async def bench_probe_job(ctx: dict[str, Any], fail: bool) -> str:
        if fail:
            raise RuntimeError("boom")
        return "done"

    job = timed_job(bench_probe_job)
    assert job.__name__ == "bench_probe_job"  # the name arq registers
    before = JOB_FAILURES.labels("bench_probe_job")._value.get()
    assert await job({}, False) == "done"
    with pytest.raises(RuntimeError):
        await job({}, True)
    assert JOB_FAILURES.labels("bench_probe_job")._value.get() == before + 1
    ok = JOB_DURATION.labels("bench_probe_job", "ok")._sum.get()
    assert ok >= 0 and JOB_DURATION.labels("bench_probe_job", "error")._sum.get() >= 0

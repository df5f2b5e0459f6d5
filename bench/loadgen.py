"""A server under uvicorn with several workers (a subprocess group we own), and simulated volunteers looping
next → start → report against it."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from app.config import ROOT
from app.core.embedded import free_port
from bench.report import percentile


@dataclass
class Server:
    target: str  # "app.main:create_app" (factory) or "bench.bare_app:app"
    env: dict[str, str]
    workers: int
    factory: bool = False
    port: int = 0
    proc: asyncio.subprocess.Process | None = None
    log_path: str = ""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self, wait_s: float = 60) -> None:
        self.port = self.port or free_port()
        args = [
            sys.executable,
            "-m",
            "uvicorn",
            self.target,
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--workers",
            str(self.workers),
            "--log-level",
            "warning",
            "--no-access-log",
            "--backlog",
            "2048",
            "--timeout-keep-alive",
            "30",
        ]
        if self.factory:
            args.append("--factory")
        log_dir = ROOT / ".data" / "bench"  # this checkout's, even when the bench cluster is another's
        log_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = str(log_dir / f"uvicorn-{self.target.split(':')[0]}.log")
        logf = open(self.log_path, "wb")  # noqa: SIM115 (handed to the child)
        self.proc = await asyncio.create_subprocess_exec(
            *args, env=self.env, cwd=str(ROOT), stdout=logf, stderr=logf, start_new_session=True
        )
        logf.close()
        deadline = time.monotonic() + wait_s
        async with httpx.AsyncClient() as c:
            while time.monotonic() < deadline:
                if self.proc.returncode is not None:
                    tail = Path(self.log_path).read_text(errors="replace")[-1500:]
                    raise RuntimeError(f"{self.target} exited: {tail}")
                with contextlib.suppress(httpx.HTTPError):
                    if (await c.get(self.url + "/healthz", timeout=1)).status_code == 200:
                        # every worker up: a few more probes
                        await asyncio.sleep(0.25 * self.workers)
                        return
                await asyncio.sleep(0.2)
        raise RuntimeError(f"{self.target} did not answer /healthz in {wait_s}s")

    async def stop(self) -> None:
        if self.proc is None or self.proc.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)  # the group we started: uvicorn and its workers
        try:
            await asyncio.wait_for(self.proc.wait(), 20)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            await self.proc.wait()


@dataclass
class LoadResult:
    steps: int = 0
    seconds: float = 0.0
    latencies: dict[str, list[float]] = field(default_factory=lambda: {"next": [], "start": [], "report": []})
    errors: list[str] = field(default_factory=list)
    exhausted: int = 0

    @property
    def requests(self) -> int:
        return sum(len(v) for v in self.latencies.values())

    @property
    def all_ms(self) -> list[float]:
        return [x for v in self.latencies.values() for x in v]

    def summary(self) -> dict[str, Any]:
        allv = self.all_ms
        return {
            "steps": self.steps,
            "seconds": round(self.seconds, 2),
            "requests": self.requests,
            "steps_per_s": self.steps / self.seconds if self.seconds else 0.0,
            "req_per_s": self.requests / self.seconds if self.seconds else 0.0,
            "p50_ms": percentile(allv, 50),
            "p99_ms": percentile(allv, 99),
            "per_call": {
                k: {"n": len(v), "p50_ms": percentile(v, 50), "p99_ms": percentile(v, 99)}
                for k, v in self.latencies.items()
            },
            "errors": len(self.errors),
            "error_samples": self.errors[:5],
            "volunteers_out_of_targets": self.exhausted,
        }


def _target_id(data: dict[str, Any]) -> str | None:
    for k in ("target_id", "id"):
        if isinstance(data.get(k), str):
            return str(data[k])
    t = data.get("target")
    if isinstance(t, dict) and isinstance(t.get("id"), str):
        return str(t["id"])
    return None


OUTCOMES = [("answered", 45), ("absent", 30), ("refused", 12), ("callback", 5), ("wrong_number", 3), ("other", 5)]
COMMENTS = [
    "A vorbit despre pensii și transportul în comun.",
    "Nu era acasă, a răspuns fiica.",
    "Interesat de voluntariat în Sectorul 3.",
    "Vrea un afiș pentru balcon.",
    "Sună înapoi după ora 18.",
]


def report_body(rng: random.Random, survey: dict[str, Any] | None, opp_type: str | None) -> dict[str, Any]:
    outcome = rng.choices([o for o, _ in OUTCOMES], weights=[w for _, w in OUTCOMES])[0]
    if outcome == "callback":
        outcome = "absent"  # a callback needs a time in the future; keep the loop simple and stateless
    body: dict[str, Any] = {"id": str(uuid.uuid4()), "outcome": outcome}
    if outcome == "other":
        body["outcome_text"] = "Număr de firmă"
    if outcome == "answered":
        body.update(
            {
                "comment": rng.choice(COMMENTS),
                "quality": rng.randint(1, 5),
                "mobilized": rng.random() < 0.3,
                "consent_given": True,
            }
        )
        if survey:
            body["survey_version"] = 1
            body["survey_answers"] = [
                {"question_id": "q1", "value": rng.choice(["da", "nu", "nu_stiu"])},
                {"question_id": "q2", "value": rng.randint(1, 5)},
            ]
        if opp_type and rng.random() < 0.2:
            body["opportunities"] = [{"type_id": opp_type, "note": "Vrea să fie voluntar"}]
    return body


async def run_load(
    base_url: str,
    tokens: list[str],
    action_id: str,
    seconds: float,
    *,
    survey: dict[str, Any] | None = None,
    opp_type: str | None = None,
    body_fn: Any = None,
    seed: int = 1,
) -> LoadResult:
    """len(tokens) volunteers, each looping next → start → report until `seconds` elapse or targets run out."""
    res = LoadResult()
    limits = httpx.Limits(max_connections=len(tokens) + 10, max_keepalive_connections=len(tokens) + 10)
    make_body = body_fn or report_body
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=30) as client:
        t_start = time.perf_counter()
        deadline = t_start + seconds

        async def call(kind: str, url: str, headers: dict[str, str], **kw: Any) -> httpx.Response | None:
            t = time.perf_counter()
            try:
                r = await client.post(url, headers=headers, **kw)
            except httpx.HTTPError as e:
                res.errors.append(f"{kind}: {e.__class__.__name__}: {e}")
                return None
            res.latencies[kind].append((time.perf_counter() - t) * 1000)
            return r

        async def volunteer(i: int, token: str) -> None:
            rng = random.Random(seed * 100_003 + i)
            h = {"Authorization": f"Bearer {token}"}
            await asyncio.sleep(rng.random() * 0.2)  # people do not all press the button in the same millisecond
            errors_before = len(res.errors)
            while time.perf_counter() < deadline:
                if len(res.errors) - errors_before > 20:
                    return  # this volunteer gives up; the errors are counted
                r = await call("next", f"/api/v1/actions/{action_id}/calls/next", h)
                if r is None:
                    continue
                if r.status_code in (204, 404) or (r.status_code == 200 and not r.content.strip(b"{} null")):
                    res.exhausted += 1
                    return
                if r.status_code >= 300:
                    res.errors.append(f"next {r.status_code}: {r.text[:200]}")
                    continue
                tid = _target_id(r.json())
                if tid is None:
                    res.errors.append(f"next: no target id in {r.text[:200]}")
                    return
                r = await call("start", f"/api/v1/calls/{tid}/start", h)
                if r is None or r.status_code >= 300:
                    res.errors.append(f"start {r.status_code if r else '-'}: {r.text[:200] if r else ''}")
                    continue
                r = await call("report", f"/api/v1/calls/{tid}/report", h, json=make_body(rng, survey, opp_type))
                if r is None or r.status_code >= 300:
                    res.errors.append(f"report {r.status_code if r else '-'}: {r.text[:200] if r else ''}")
                    continue
                res.steps += 1

        await asyncio.gather(*(volunteer(i, t) for i, t in enumerate(tokens)))
        res.seconds = time.perf_counter() - t_start
    return res

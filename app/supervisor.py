"""`groundgame up`'s supervisor: keeps the web server, the worker and the embedded PostgreSQL and Redis running.

A child that exits is started again after a backoff (first delay, doubled after each quick failure up to a
cap, reset once it has run a while), with a log line; one crash never takes the others down. Only a signal
(Ctrl-C, SIGTERM) stops everything."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

STABLE_S = 30.0  # a child that ran this long before failing starts again after the first delay


class Service(Protocol):
    """An embedded PostgreSQL or Redis: started by us, checked for life, started again."""

    def start(self) -> None: ...
    def stop(self) -> None: ...
    def alive(self) -> bool: ...


def say(line: str) -> None:
    print(f"==> {line}", file=sys.stderr, flush=True)


@dataclass
class Backoff:
    first_s: float
    max_s: float
    failures: int = 0
    due: float = 0.0

    def failed(self, ran_s: float) -> float:
        self.failures = 1 if ran_s >= STABLE_S else self.failures + 1
        delay = min(self.first_s * 2.0 ** (self.failures - 1), self.max_s)
        self.due = time.monotonic() + delay
        return delay


@dataclass
class Child:
    name: str
    argv: list[str]
    env: dict[str, str]
    backoff: Backoff
    proc: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0

    def start(self) -> None:
        self.proc = subprocess.Popen(self.argv, env=self.env)
        self.started_at = time.monotonic()


@dataclass
class Watched:
    name: str
    service: Service
    backoff: Backoff
    up_since: float | None = field(default_factory=time.monotonic)  # None while down


@dataclass
class Supervisor:
    children: list[Child]
    services: list[Watched] = field(default_factory=list)
    tick_s: float = 0.3
    log: Callable[[str], None] = say
    stopping: bool = False

    def run(self) -> None:
        signal.signal(signal.SIGINT, self._stop)
        signal.signal(signal.SIGTERM, self._stop)
        for c in self.children:
            c.start()
        try:
            while not self.stopping:
                self.tick()
                time.sleep(self.tick_s)
        finally:
            self.shutdown()

    def _stop(self, *_: object) -> None:
        self.stopping = True

    def tick(self) -> None:
        now = time.monotonic()
        for w in self.services:
            if w.up_since is not None:
                if w.service.alive():
                    continue
                delay = w.backoff.failed(now - w.up_since)
                w.up_since = None
                self.log(f"{w.name} is down; starting it again in {delay:.1f} s")
            if now >= w.backoff.due:
                try:
                    w.service.start()
                    self.log(f"{w.name} started again")
                    w.up_since = time.monotonic()
                except Exception as e:  # still cannot start: try later, longer
                    delay = w.backoff.failed(0.0)
                    self.log(f"{w.name} did not start ({type(e).__name__}: {e}); next try in {delay:.1f} s")
        for c in self.children:
            if c.proc is None:
                if now >= c.backoff.due:
                    c.start()
                    self.log(f"{c.name} started again (pid {c.proc.pid if c.proc else '?'})")
                continue
            code = c.proc.poll()
            if code is None:
                continue
            delay = c.backoff.failed(now - c.started_at)
            self.log(f"{c.name} exited with code {code}; starting it again in {delay:.1f} s")
            c.proc = None

    def shutdown(self) -> None:
        procs = [c.proc for c in self.children if c.proc is not None and c.proc.poll() is None]
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
        for w in reversed(self.services):
            w.service.stop()

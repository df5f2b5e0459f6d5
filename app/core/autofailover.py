"""A pg_auto_failover formation on loopback ports under a data directory: a monitor and two PostgreSQL nodes
(a primary and a synchronous secondary), each node run by its `pg_autoctl` keeper. The monitor promotes the
secondary when the primary fails and the old primary rejoins as a secondary. Used by the failover drill in
tests/faults; production runs the same commands on separate machines (docs/deployment.md)."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from app.core.embedded import PG_BIN, _as_pg_user

PG_AUTOCTL = shutil.which("pg_autoctl") or "/usr/bin/pg_autoctl"


def available() -> bool:
    return (
        Path(PG_AUTOCTL).exists() and (Path("/usr/share/postgresql/15/extension") / "pgautofailover.control").exists()
    )


@dataclass
class Formation:
    base: Path
    monitor_port: int
    node_ports: tuple[int, int]
    database: str = "groundgame"
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def _env(self) -> dict[str, str]:
        return {**os.environ, "PATH": f"{PG_BIN}:{os.environ.get('PATH', '')}"}

    def _run(self, *args: str, log: str) -> subprocess.Popen[bytes]:
        out = (self.base / log).open("ab")
        cmd = _as_pg_user(["env", f"PATH={PG_BIN}:/usr/bin:/bin", PG_AUTOCTL, *args])
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=self._env())
        self.procs.append(proc)
        return proc

    @property
    def monitor_uri(self) -> str:
        return f"postgres://autoctl_node@127.0.0.1:{self.monitor_port}/pg_auto_failover?sslmode=disable"

    def node_dir(self, i: int) -> Path:
        return self.base / f"node{i}"

    def start(self, timeout: float = 120) -> None:
        self.base.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.base, "postgres", "postgres")
        common = ("--hostname", "127.0.0.1", "--auth", "trust", "--no-ssl")
        self._run(
            "create",
            "monitor",
            "--pgdata",
            str(self.base / "monitor"),
            "--pgport",
            str(self.monitor_port),
            *common,
            "--run",
            log="monitor.log",
        )
        self._wait(lambda: self._monitor_up(), timeout, "the monitor did not start")
        for i, port in enumerate(self.node_ports, 1):
            self._run(
                "create",
                "postgres",
                "--pgdata",
                str(self.node_dir(i)),
                "--pgport",
                str(port),
                "--name",
                f"node{i}",
                "--dbname",
                self.database,
                "--monitor",
                self.monitor_uri,
                *common,
                "--run",
                log=f"node{i}.log",
            )
            # One at a time: the first becomes the primary, the second its secondary.
            self._wait(functools.partial(self._joined, i), timeout, f"node{i} did not join")

    def _joined(self, n: int) -> bool:
        states = self.states()
        want = {"single"} if n == 1 else {"primary", "secondary"}
        return len(states) == n and set(states.values()) >= want

    def _monitor_up(self) -> bool:
        r = subprocess.run(["pg_isready", "-h", "127.0.0.1", "-p", str(self.monitor_port)], capture_output=True)
        return r.returncode == 0

    def states(self) -> dict[str, str]:
        """node name → its current state as the monitor assigned and the node reported it (both must agree)."""
        r = subprocess.run(
            _as_pg_user(
                [
                    "env",
                    f"PATH={PG_BIN}:/usr/bin:/bin",
                    PG_AUTOCTL,
                    "show",
                    "state",
                    "--json",
                    "--monitor",
                    self.monitor_uri,
                ]
            ),
            capture_output=True,
            text=True,
            check=False,
        )
        try:
            nodes = json.loads(r.stdout or "[]")
        except json.JSONDecodeError:
            return {}
        return {
            n["nodename"]: n["current_group_state"]
            for n in nodes
            if n.get("current_group_state") == n.get("assigned_group_state")
        }

    def primary_port(self) -> int | None:
        for i, port in enumerate(self.node_ports, 1):
            if self.states().get(f"node{i}") in ("single", "primary", "wait_primary"):
                return port
        return None

    def postmaster_pid(self, port: int) -> int:
        i = self.node_ports.index(port) + 1
        return int((self.node_dir(i) / "postmaster.pid").read_text().split()[0])

    def app_url(self, role: str, password: str) -> str:
        hosts = "&".join(f"host=127.0.0.1:{p}" for p in self.node_ports)
        return f"postgresql+asyncpg://{role}:{password}@/{self.database}?{hosts}&target_session_attrs=read-write"

    def superuser_url(self, port: int) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{port}/{self.database}"

    @staticmethod
    def _wait(ok: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not ok():
            if time.monotonic() > deadline:
                raise RuntimeError(what)
            time.sleep(0.5)

    def stop(self) -> None:
        for d in [self.node_dir(2), self.node_dir(1), self.base / "monitor"]:
            subprocess.run(
                _as_pg_user(
                    ["env", f"PATH={PG_BIN}:/usr/bin:/bin", PG_AUTOCTL, "stop", "--pgdata", str(d), "--immediate"]
                ),
                capture_output=True,
                check=False,
            )
        for p in self.procs:
            with contextlib.suppress(Exception):
                p.wait(15)
            if p.poll() is None:
                p.kill()

"""A pg_auto_failover formation on loopback ports under a data directory: a monitor and PostgreSQL nodes (a
primary and synchronous secondaries), each node run by its `pg_autoctl` keeper. The monitor promotes a secondary
when the primary fails and the old primary rejoins as a secondary. Used by `groundgame up --replicas N --failover`
(under .data/pgaf), the failover drill in tests/faults and the bench; production runs the same commands on
separate machines (docs/deployment.md).

The first start creates each part (`pg_autoctl create … --run`, a marker file once it has joined); later starts
run the existing ones (`pg_autoctl run`)."""

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
    node_ports: tuple[int, ...]
    database: str = "groundgame"
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def _env(self) -> dict[str, str]:
        return {**os.environ, "PATH": f"{PG_BIN}:{os.environ.get('PATH', '')}"}

    def _autoctl(self, *args: str) -> list[str]:
        """pg_autoctl as the postgres user, its configuration, state and pid files under the base directory
        (not the user's ~/.config, ~/.local/share and /tmp, where those of a deleted formation at the same path
        would be taken for this one's)."""
        d = self.base / "autoctl"
        env = [f"XDG_CONFIG_HOME={d / 'config'}", f"XDG_DATA_HOME={d / 'data'}", f"XDG_RUNTIME_DIR={d / 'run'}"]
        return _as_pg_user(["env", f"PATH={PG_BIN}:/usr/bin:/bin", *env, PG_AUTOCTL, *args])

    def _run(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        out = (self.base / f"{name}.log").open("ab")
        cmd = self._autoctl(*args)
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=self._env(), start_new_session=True)
        self.procs[name] = proc
        return proc

    @property
    def monitor_uri(self) -> str:
        return f"postgres://autoctl_node@127.0.0.1:{self.monitor_port}/pg_auto_failover?sslmode=disable"

    def node_dir(self, i: int) -> Path:
        return self.base / f"node{i}"

    def _created(self, name: str) -> Path:
        return self.base / f"{name}.created"

    def _keep(self, name: str, pgdata: Path, create: tuple[str, ...]) -> None:
        """Run the keeper of one part unless it runs: `create … --run` the first time, `run` afterwards."""
        proc = self.procs.get(name)
        if proc is not None and proc.poll() is None:
            return
        if self._created(name).exists():
            self._run(name, "run", "--pgdata", str(pgdata))
        else:
            self._run(name, *create, "--pgdata", str(pgdata), "--run")

    def start(self, timeout: float = 120) -> None:
        for d in (self.base, *(self.base / "autoctl" / x for x in ("", "config", "data", "run"))):
            d.mkdir(parents=True, exist_ok=True)
            if os.geteuid() == 0:
                shutil.chown(d, "postgres", "postgres")
        common = ("--hostname", "127.0.0.1", "--auth", "trust", "--no-ssl")
        self._keep("monitor", self.base / "monitor", ("create", "monitor", "--pgport", str(self.monitor_port), *common))
        self._wait(lambda: self._monitor_up(), timeout, "the monitor did not start")
        self._created("monitor").touch()
        for i, port in enumerate(self.node_ports, 1):
            create = ("create", "postgres", "--pgport", str(port), "--name", f"node{i}", "--dbname", self.database)
            self._keep(f"node{i}", self.node_dir(i), (*create, "--monitor", self.monitor_uri, *common))
            # One at a time: the first becomes the primary, the next ones its secondaries.
            self._wait(functools.partial(self._joined_soon, i), timeout, f"node{i} did not join")
            self._created(f"node{i}").touch()

    def alive(self) -> bool:
        """Every keeper runs (each one restarts its own PostgreSQL; the monitor handles a dead primary)."""
        names = ["monitor", *(f"node{i}" for i in range(1, len(self.node_ports) + 1))]
        return all(n in self.procs and self.procs[n].poll() is None for n in names)

    def _joined(self, n: int) -> bool:
        """The first n nodes are in the formation, each in a stable state, one of them the primary (after a
        restart of an existing formation the first node may well be a secondary)."""
        states = self.states()
        if not all(f"node{i}" in states for i in range(1, n + 1)):
            return False
        want = {"single"} if n == 1 and len(states) == 1 else {"primary", "secondary"}
        # The monitor remembers the states of a formation that was stopped: each node must also answer.
        return set(states.values()) >= want and all(self._ready(p) for p in self.node_ports[:n])

    def _joined_soon(self, n: int) -> bool:
        """Joined; else a nudge: a new secondary's base backup waits for a checkpoint, which the primary spreads
        over most of checkpoint_timeout (minutes) unless one is asked for at once, so ask on the first node (the
        primary while the formation is being created)."""
        if self._joined(n):
            return True
        if n > 1:
            psql = ["psql", "-h", "127.0.0.1", "-p", str(self.node_ports[0]), "-U", "postgres", "-d", "postgres"]
            subprocess.run([*psql, "-tAc", "CHECKPOINT"], capture_output=True, check=False, timeout=60)
        return False

    def _monitor_up(self) -> bool:
        return self._ready(self.monitor_port)

    @staticmethod
    def _ready(port: int) -> bool:
        r = subprocess.run(["pg_isready", "-h", "127.0.0.1", "-p", str(port)], capture_output=True, check=False)
        return r.returncode == 0

    def states(self) -> dict[str, str]:
        """node name → its current state as the monitor assigned and the node reported it (both must agree)."""
        r = subprocess.run(
            self._autoctl("show", "state", "--json", "--monitor", self.monitor_uri),
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

    def app_url(self, role: str, password: str, attrs: str = "read-write") -> str:
        """Every node, in SQLAlchemy's form: asyncpg keeps the first that matches `attrs` (read-write: the
        primary wherever it now is)."""
        hosts = "&".join(f"host=127.0.0.1:{p}" for p in self.node_ports)
        return f"postgresql+asyncpg://{role}:{password}@/{self.database}?{hosts}&target_session_attrs={attrs}"

    def standby_urls(self, role: str, password: str) -> list[str]:
        """One URL per node that connects only while that node is a standby (target_session_attrs=standby): as
        read replicas, the current secondaries answer and the primary is skipped, whichever node it now is."""
        return [
            f"postgresql+asyncpg://{role}:{password}@127.0.0.1:{p}/{self.database}?target_session_attrs=standby"
            for p in self.node_ports
        ]

    def migration_url(self) -> str:
        return self.app_url("postgres", "", "read-write").replace("postgres:@", "postgres@", 1)

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
        for d in [*(self.node_dir(i) for i in range(len(self.node_ports), 0, -1)), self.base / "monitor"]:
            subprocess.run(
                self._autoctl("stop", "--pgdata", str(d), "--immediate"),
                capture_output=True,
                check=False,
            )
        for p in self.procs.values():
            with contextlib.suppress(Exception):
                p.wait(15)
            if p.poll() is None:
                p.kill()
        self.procs.clear()

"""Project-local PostgreSQL (+PostGIS) and Redis under a data directory.

Used by `groundgame up` (state under .data/) and by the test session (throwaway state).
PostgreSQL refuses to run as root, so as root the cluster runs as the `postgres` user.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

PG_BIN = Path(os.environ.get("GG_PG_BIN", "/usr/lib/postgresql/15/bin"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_pg_user(cmd: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.3)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _alive(pid: int) -> bool:
    """A process that exists and is not a zombie (PID 1 here may be slow to reap orphans)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in {"Z", "X"}


def _processes_in(directory: Path) -> list[int]:
    """Live processes whose working directory is `directory` (PostgreSQL's backends run in their data dir)."""
    found = []
    target = directory.resolve()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if Path(os.readlink(entry / "cwd")) == target and _alive(int(entry.name)):
                    found.append(int(entry.name))
    return found


def _wait_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listening on 127.0.0.1:{port} after {timeout}s")


def _ram_bytes() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        return 4 << 30


def default_shared_buffers_mb() -> int:
    """A quarter of the machine's memory, between 256 MB and 4 GB: the contacts table's ten indexes stay in
    PostgreSQL's own cache during a million-row import (measured: 75 s → 55 s for the bare insert)."""
    return max(256, min(4096, _ram_bytes() // 4 // (1 << 20)))


@dataclass
class EmbeddedPostgres:
    data_dir: Path
    port: int
    database: str = "groundgame"
    shared_buffers_mb: int | None = None  # None: sized to the machine (default_shared_buffers_mb)

    @property
    def superuser_url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{self.database}"

    def app_url(self, role: str, password: str) -> str:
        return f"postgresql+asyncpg://{role}:{password}@127.0.0.1:{self.port}/{self.database}"

    def _chown(self, path: Path) -> None:
        if os.geteuid() == 0:
            pw = pwd.getpwnam("postgres")
            os.chown(path, pw.pw_uid, pw.pw_gid)

    def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._chown(self.data_dir)
        self.data_dir.chmod(0o700)
        if not (self.data_dir / "PG_VERSION").exists():
            subprocess.run(
                _as_pg_user(
                    [
                        str(PG_BIN / "initdb"),
                        "-D",
                        str(self.data_dir),
                        "-A",
                        "trust",
                        "-U",
                        "postgres",
                        "-E",
                        "UTF8",
                        "--locale=C.UTF-8",
                    ]
                ),
                check=True,
                stdout=subprocess.DEVNULL,
            )
        if not self.running():
            self._clear_stale_lock()
            opts = (
                f"-p {self.port} -k {self.data_dir} -c listen_addresses=127.0.0.1 "
                f"-c max_connections=300 -c shared_buffers={self.shared_buffers_mb or default_shared_buffers_mb()}MB "
                "-c fsync=on -c max_wal_size=4GB -c checkpoint_timeout=15min -c work_mem=32MB "
                "-c maintenance_work_mem=512MB -c jit=off" + self._extra_options()
            )
            subprocess.run(
                _as_pg_user(
                    [
                        str(PG_BIN / "pg_ctl"),
                        "-D",
                        str(self.data_dir),
                        "-o",
                        opts,
                        "-l",
                        str(self.data_dir / "server.log"),
                        "-w",
                        "-t",
                        "60",
                        "start",
                    ]
                ),
                check=True,
                stdout=subprocess.DEVNULL,
            )
        _wait_port(self.port)
        self._ensure_database()

    def _extra_options(self) -> str:
        return ""

    def running(self) -> bool:
        pid = self._postmaster_pid()
        if pid is not None and not _alive(pid):
            return False  # killed: its lock file is stale (and pg_ctl counts an unreaped zombie as running)
        r = subprocess.run(
            _as_pg_user([str(PG_BIN / "pg_ctl"), "-D", str(self.data_dir), "status"]),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,
        )
        return r.returncode == 0

    def alive(self) -> bool:
        """Cheap check for the supervisor: the postmaster of the lock file is a live process."""
        pid = self._postmaster_pid()
        return pid is not None and _alive(pid)

    def _postmaster_pid(self) -> int | None:
        try:
            return int((self.data_dir / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def _clear_stale_lock(self, timeout: float = 30.0) -> None:
        """After a crash (postmaster SIGKILLed): once its orphaned backends have exited, remove the lock file a
        dead or zombie postmaster left, which would otherwise make the new one refuse to start."""
        pid = self._postmaster_pid()
        if pid is None or _alive(pid):
            return
        deadline = time.monotonic() + timeout
        while _processes_in(self.data_dir) and time.monotonic() < deadline:
            time.sleep(0.1)
        with contextlib.suppress(FileNotFoundError):
            (self.data_dir / "postmaster.pid").unlink()

    def psql(self, sql: str, database: str = "postgres") -> str:
        r = subprocess.run(
            [
                "psql",
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                "postgres",
                "-d",
                database,
                "-v",
                "ON_ERROR_STOP=1",
                "-tAc",
                sql,
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        return r.stdout.strip()

    def _ensure_database(self) -> None:
        if self.psql(f"SELECT 1 FROM pg_database WHERE datname = '{self.database}'") != "1":  # noqa: S608 - our own database name, no input
            self.psql(f'CREATE DATABASE "{self.database}"')

    def stop(self, mode: str = "fast") -> None:
        if self.data_dir.exists() and self.running():
            subprocess.run(
                _as_pg_user([str(PG_BIN / "pg_ctl"), "-D", str(self.data_dir), "-m", mode, "-w", "stop"]),
                check=False,
                stdout=subprocess.DEVNULL,
            )


@dataclass
class EmbeddedStandby(EmbeddedPostgres):
    """A hot standby of an embedded primary: a base backup streamed from it (`pg_basebackup -R` writes the
    connection to the primary), then started on its own port, read-only, replaying the primary's WAL."""

    primary_port: int = 0

    def start(self) -> None:
        if not (self.data_dir / "PG_VERSION").exists():
            self.data_dir.parent.mkdir(parents=True, exist_ok=True)
            self._chown(self.data_dir.parent)
            subprocess.run(
                _as_pg_user(
                    [
                        str(PG_BIN / "pg_basebackup"),
                        "-h",
                        "127.0.0.1",
                        "-p",
                        str(self.primary_port),
                        "-U",
                        "postgres",
                        "-D",
                        str(self.data_dir),
                        "-R",  # standby.signal and primary_conninfo
                        "-X",
                        "stream",
                        "-c",
                        "fast",
                    ]
                ),
                check=True,
                stdout=subprocess.DEVNULL,
            )
            (self.data_dir / "postmaster.pid").unlink(missing_ok=True)
        super().start()

    def _extra_options(self) -> str:
        # Its readers' snapshots are reported to the primary, whose vacuum then keeps the rows they still see:
        # without this, replaying the vacuum of rows written by the calling load cancels HQ's reads there
        # ("terminating connection due to conflict with recovery", measured with an export streaming at 1M).
        return " -c hot_standby_feedback=on"

    def _ensure_database(self) -> None:
        """Read-only: the database comes from the primary."""


@dataclass
class EmbeddedRedis:
    data_dir: Path
    port: int

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if port_open(self.port):
            return
        exe = shutil.which("redis-server") or "/usr/bin/redis-server"
        subprocess.run(
            [
                exe,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.data_dir),
                "--daemonize",
                "yes",
                "--pidfile",
                str(self.data_dir / "redis.pid"),
                "--logfile",
                str(self.data_dir / "redis.log"),
                "--appendonly",
                "yes",
                "--save",
                "60 1",
                "--protected-mode",
                "yes",
            ],
            check=True,
        )
        _wait_port(self.port)

    def alive(self) -> bool:
        return port_open(self.port)

    def stop(self) -> None:
        pidfile = self.data_dir / "redis.pid"
        if pidfile.exists():
            with contextlib.suppress(ProcessLookupError, ValueError):
                pid = int(pidfile.read_text().strip())
                os.kill(pid, 15)
                for _ in range(50):
                    try:
                        os.kill(pid, 0)
                    except ProcessLookupError:
                        break
                    time.sleep(0.1)

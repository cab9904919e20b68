"""Throwaway PostgreSQL and Redis servers for the tests (and the benchmark) on loopback ports.

Each server runs from the system's binaries (Debian's ``postgresql`` and ``redis-server``
packages, which ``.ci/run`` installs) in a temporary folder that is removed when it stops.
Nothing is faked: the tests talk to the real servers over TCP.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path


class ServerUnavailable(RuntimeError):
    """The server's binaries are not installed here (the message names what is missing)."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for_port(port: int, timeout: float, process: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the server on port {port} exited with status {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"no server answered on port {port} within {timeout:.0f} s")


def postgres_bin_dir() -> Path:
    """The folder holding ``initdb`` and ``pg_ctl`` (Debian keeps them off the PATH)."""
    # Debian installs each major version under /usr/lib/postgresql/<n>/bin: take the newest.
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parent.parent.name))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    if initdb is not None:
        return Path(initdb).resolve().parent
    raise ServerUnavailable("PostgreSQL is not installed (no initdb; apt-get install postgresql)")


def _as_postgres_user(argv: list[str]) -> list[str]:
    # initdb and postgres refuse to run as root: drop to the `postgres` system user.
    if os.geteuid() != 0:
        return argv
    runuser = shutil.which("runuser")
    if runuser is None:
        raise ServerUnavailable("running as root without runuser: cannot start PostgreSQL as another user")
    return [runuser, "-u", "postgres", "--", *argv]


@dataclass
class PostgresServer:
    """A PostgreSQL cluster in a temporary folder, listening on 127.0.0.1:``port``."""

    port: int = 0
    folder: Path = field(default_factory=Path)
    bin_dir: Path = field(default_factory=Path)

    @property
    def url(self) -> str:
        """The URL of the ``postgres`` database (user ``postgres``, trust authentication)."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def url_for(self, database: str) -> str:
        """The URL of another database on this server."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    @classmethod
    def start(cls) -> PostgresServer:
        """initdb a fresh cluster and start it (fsync off: the data is thrown away)."""
        bin_dir = postgres_bin_dir()
        folder = Path(tempfile.mkdtemp(prefix="workbench-pg-"))
        if os.geteuid() == 0:
            shutil.chown(folder, "postgres", "postgres")
        server = cls(port=free_port(), folder=folder, bin_dir=bin_dir)
        data = folder / "data"
        try:
            subprocess.run(
                _as_postgres_user(
                    [str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8"]
                ),
                check=True,
                capture_output=True,
                cwd=folder,
            )
            options = (
                f"-p {server.port} -h 127.0.0.1 -k {folder} -c fsync=off "
                "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
            )
            subprocess.run(
                _as_postgres_user(
                    [str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(folder / "log"), "-o", options, "-w", "start"]
                ),
                check=True,
                capture_output=True,
                cwd=folder,
                timeout=120,
            )
            _wait_for_port(server.port, 30)
        except BaseException:
            server.stop()
            raise
        return server

    def stop(self) -> None:
        """Stop the server (immediately: nothing needs to be kept) and remove its folder."""
        data = self.folder / "data"
        if (data / "postmaster.pid").exists():
            subprocess.run(
                _as_postgres_user([str(self.bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"]),
                capture_output=True,
                cwd=self.folder,
                timeout=60,
            )
        shutil.rmtree(self.folder, ignore_errors=True)


@dataclass
class RedisServer:
    """A redis-server with no persistence, listening on 127.0.0.1:``port``."""

    port: int
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        """The server's URL."""
        return f"redis://127.0.0.1:{self.port}/0"

    @classmethod
    def start(cls) -> RedisServer:
        """Start redis-server on a free port, saving nothing to disk."""
        binary = shutil.which("redis-server")
        if binary is None:
            raise ServerUnavailable("Redis is not installed (no redis-server; apt-get install redis-server)")
        port = free_port()
        argv = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        process = subprocess.Popen(
            argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tempfile.gettempdir()
        )
        server = cls(port=port, process=process)
        try:
            _wait_for_port(port, 30, process)
        except BaseException:
            server.stop()
            raise
        return server

    def stop(self) -> None:
        """Stop the server and wait for it to exit."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

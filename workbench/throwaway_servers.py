"""Throwaway PostgreSQL and Redis servers on loopback ports, for tests and benchmarks.

Each server lives in a temporary folder, listens on a free port of 127.0.0.1 and is
stopped (and its folder removed) when its context manager exits. The tests' session
fixtures and ``benchmarks/scaling_out.py`` both start their servers through here.

PostgreSQL's ``initdb`` refuses to run as root, so when this process is root the
cluster is created and run as the ``postgres`` system user (``runuser -u postgres``),
in a folder that user owns.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


class ServerUnavailable(RuntimeError):
    """The server's binaries are not installed here, or the server did not start."""


@dataclass(frozen=True)
class RunningServer:
    """A started server: where to reach it."""

    url: str
    port: int
    folder: Path


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def postgres_bin_dir() -> Path | None:
    """Return the folder holding ``initdb`` and ``postgres`` (newest version first), or None."""
    on_path = shutil.which("initdb")
    if on_path and shutil.which("postgres"):
        return Path(on_path).resolve().parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_version_key, reverse=True)
    for folder in candidates:
        if (Path(folder) / "initdb").exists() and (Path(folder) / "postgres").exists():
            return Path(folder)
    return None


def _version_key(folder: str) -> int:
    part = Path(folder).parent.name
    return int(part) if part.isdigit() else 0


def redis_server_binary() -> str | None:
    """Return the path of ``redis-server``, or None when it is not installed."""
    return shutil.which("redis-server")


def _as_server_user() -> list[str]:
    if os.geteuid() != 0:
        return []
    runuser = shutil.which("runuser")
    if runuser is None:
        raise ServerUnavailable("running as root and runuser is missing: cannot start PostgreSQL as 'postgres'")
    return [runuser, "-u", "postgres", "--"]


def _wait_for_port(port: int, process: subprocess.Popen[bytes], what: str, log: Path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ServerUnavailable(f"{what} exited at startup: {_tail(log)}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.05)
    process.kill()
    raise ServerUnavailable(f"{what} did not listen on port {port} within {timeout:.0f} s: {_tail(log)}")


def _wait_until_accepting(bin_dir: Path, port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    # The port opens while the server is still starting up ("the database system is starting
    # up" refuses connections): wait until pg_isready says it accepts them.
    deadline = time.monotonic() + 60.0
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ServerUnavailable(f"postgres exited at startup: {_tail(log)}")
        ready = subprocess.run(
            [str(bin_dir / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres"], check=False
        )
        if ready.returncode == 0:
            return
        time.sleep(0.05)
    raise ServerUnavailable(f"postgres on port {port} did not accept connections within 60 s: {_tail(log)}")


def _tail(log: Path) -> str:
    try:
        return " | ".join(log.read_text(errors="replace").strip().splitlines()[-3:])
    except OSError:
        return "(no log)"


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)


@contextlib.contextmanager
def running_postgres() -> Iterator[RunningServer]:
    """Start a fresh PostgreSQL cluster on a free loopback port; yield it; stop and delete it.

    The URL names the superuser ``postgres`` (trust authentication on loopback) and the
    ``postgres`` database.

    Raises:
        ServerUnavailable: PostgreSQL is not installed or did not start.
    """
    bin_dir = postgres_bin_dir()
    if bin_dir is None:
        raise ServerUnavailable("PostgreSQL is not installed (no initdb/postgres; apt-get install postgresql)")
    prefix = _as_server_user()
    folder = Path(tempfile.mkdtemp(prefix="workbench-pg-"))
    data = folder / "data"
    log = folder / "server.log"
    if prefix:
        shutil.chown(folder, user="postgres", group="postgres")
    init = subprocess.run(
        [*prefix, str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8"],
        capture_output=True,
        text=True,
        check=False,
    )
    if init.returncode != 0:
        shutil.rmtree(folder, ignore_errors=True)
        raise ServerUnavailable(f"initdb failed: {init.stderr.strip().splitlines()[-1:]}")
    port = free_port()
    settings = [
        "-p", str(port), "-h", "127.0.0.1", "-k", str(folder),
        "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
        "-c", "max_connections=200", "-c", "shared_buffers=32MB",
    ]  # fmt: skip
    with open(log, "wb") as log_file:
        process = subprocess.Popen(
            [*prefix, str(bin_dir / "postgres"), "-D", str(data), *settings],
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait_for_port(port, process, "postgres", log)
        _wait_until_accepting(bin_dir, port, process, log)
        yield RunningServer(url=f"postgresql://postgres@127.0.0.1:{port}/postgres", port=port, folder=folder)
    finally:
        _stop(process)
        shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def running_redis() -> Iterator[RunningServer]:
    """Start a redis-server without persistence on a free loopback port; yield it; stop it.

    Raises:
        ServerUnavailable: redis-server is not installed or did not start.
    """
    binary = redis_server_binary()
    if binary is None:
        raise ServerUnavailable("redis-server is not installed (apt-get install redis-server)")
    folder = Path(tempfile.mkdtemp(prefix="workbench-redis-"))
    log = folder / "server.log"
    port = free_port()
    with open(log, "wb") as log_file:
        process = subprocess.Popen(
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(folder)],
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    try:
        _wait_for_port(port, process, "redis-server", log)
        yield RunningServer(url=f"redis://127.0.0.1:{port}/0", port=port, folder=folder)
    finally:
        _stop(process)
        shutil.rmtree(folder, ignore_errors=True)

"""The single-writer lock of a store folder (an advisory ``flock`` on ``LOCK``)."""

from __future__ import annotations

import fcntl
import mmap
import os
import time
from pathlib import Path

from workbench.core.exceptions import StoreError, StoreLockedError

COUNTER = "COMMITS"


class LockCounter:
    """How many times any process took a store's lock: 8 bytes in ``COMMITS``, shared through a memory map.

    Every holder adds one while it holds the lock (before it writes anything), so a
    process that finds the count where it left it knows that nobody touched the store
    since its own last commit and can skip looking at the journal: the common case of
    one busy writer costs a memory read instead of a ``stat``. Without the file (a
    read-only folder, no mmap) :meth:`bump` answers False and callers look as before.
    """

    def __init__(self, path: Path) -> None:
        self._map: mmap.mmap | None = None
        self._count: memoryview | None = None
        self._last: int | None = None
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                if os.fstat(fd).st_size < 8:
                    os.ftruncate(fd, 8)  # zeros; growing it twice (two processes at once) is harmless
                self._map = mmap.mmap(fd, 8)
            finally:
                os.close(fd)
            self._count = memoryview(self._map).cast("Q")
        except (OSError, ValueError):
            self._map = self._count = None

    def bump(self) -> bool:
        """Count this holding of the lock; True when nobody else held it since our last bump."""
        count = self._count
        if count is None:
            return False
        current = count[0]
        unchanged = current == self._last
        count[0] = self._last = (current + 1) & 0xFFFFFFFFFFFFFFFF
        return unchanged

    def close(self) -> None:
        if self._count is not None:
            self._count.release()
            self._count = None
        if self._map is not None:
            self._map.close()
            self._map = None


class WriterLock:
    """Held by the one process allowed to write a store; released on close or exit.

    The kernel drops a ``flock`` when its process dies, so a killed writer never leaves
    the store locked.
    """

    def __init__(self, path: Path, *, timeout: float) -> None:
        self.path = path
        try:
            self._fd: int | None = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise StoreError(f"cannot open the lock file {path}: {exc.strerror or exc}") from None
        deadline = time.monotonic() + max(timeout, 0.0)
        while True:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = self._holder()
                    os.close(self._fd)
                    self._fd = None
                    who = f"process {holder}" if holder else "another process"
                    raise StoreLockedError(
                        f"store {path.parent} is in use by {who}; waited {timeout:g}s "
                        "(set WORKBENCH_LOCK_TIMEOUT to wait longer)"
                    ) from None
                time.sleep(0.05)
        # Whatever this holder changes, the processes between commits must look again.
        counter = LockCounter(path.parent / COUNTER)
        counter.bump()
        counter.close()
        try:
            os.ftruncate(self._fd, 0)
            os.pwrite(self._fd, f"{os.getpid()}\n".encode(), 0)
        except OSError as exc:
            # Disk full or a read-only mount: give the lock back before saying so.
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
            raise StoreError(f"cannot write the lock file {path}: {exc.strerror or exc}") from None

    def _holder(self) -> str:
        try:
            return self.path.read_text().strip()
        except OSError:
            return ""

    def release(self) -> None:
        """Give the lock up (idempotent)."""
        if self._fd is not None:
            try:
                os.ftruncate(self._fd, 0)
            except OSError:
                pass  # the pid is only informative; the flock is what matters
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


class CommitLock:
    """The store's writer lock, taken for one commit at a time.

    Several processes write one store: each holds the ``flock`` only while it catches
    up with the journal, checks versions and appends, so none waits longer than the
    others' commits take. The file stays open between commits, so taking the lock is one
    system call; who holds it is asked of the kernel (``/proc/locks``) only when a
    wait times out.
    """

    def __init__(self, path: Path, *, timeout: float) -> None:
        self.path = path
        self.timeout = timeout
        self._fd: int | None = None
        self.held = False
        self._counter: LockCounter | None = None
        self.unchanged = False  # set by acquire(): nobody else held the lock since our last hold

    def acquire(self) -> None:
        """Wait (up to the timeout) until no other process holds the lock, then take it.

        Raises:
            StoreLockedError: another process held it for the whole timeout.
            StoreError: the lock file cannot be opened.
        """
        fd = self._fd
        if fd is None:
            try:
                fd = self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as exc:
                raise StoreError(f"cannot open the lock file {self.path}: {exc.strerror or exc}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._wait(fd)
        self.held = True
        if self._counter is None:
            self._counter = LockCounter(self.path.parent / COUNTER)
        self.unchanged = self._counter.bump()

    def _wait(self, fd: int) -> None:
        deadline = time.monotonic() + max(self.timeout, 0.0)
        delay = 0.0002
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = lock_holder(fd)
                    who = f"process {holder}" if holder else "another process"
                    raise StoreLockedError(
                        f"store {self.path.parent} is in use by {who}, which held its lock for "
                        f"{self.timeout:g}s (set WORKBENCH_LOCK_TIMEOUT to wait longer)"
                    ) from None
                time.sleep(delay)
                # Short naps: a busy writer releases the lock between its commits for
                # microseconds only, so a long nap could miss many of those chances.
                delay = min(delay * 2, 0.002)

    def release(self) -> None:
        """Let other processes commit (idempotent)."""
        if self._fd is not None and self.held:
            self.held = False
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    def close(self) -> None:
        """Release and close the lock file (idempotent)."""
        self.release()
        if self._counter is not None:
            self._counter.close()
            self._counter = None
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def is_held(path: Path) -> bool:
    """Whether some process (this one included) holds the writer lock at ``path`` now.

    Reads only: the lock file is opened read-only and never created.
    """
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False  # no lock file: nobody has written yet
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        os.close(fd)  # drops the shared lock too
    return False


def lock_holder(fd: int) -> str:
    """The pid holding a ``flock`` on the open file ``fd``, as the kernel reports it ("" if unknown)."""
    try:
        stat = os.fstat(fd)
        with open("/proc/locks") as locks:
            lines = locks.read().splitlines()
    except OSError:
        return ""
    wanted = f"{os.major(stat.st_dev):02x}:{os.minor(stat.st_dev):02x}:{stat.st_ino}"
    for line in lines:
        fields = line.split()
        # "1: FLOCK  ADVISORY  WRITE 4242 08:01:123 0 EOF"; "->" marks a waiter.
        if len(fields) >= 6 and fields[1] == "FLOCK" and "->" not in fields and fields[5] == wanted:
            return fields[4] if fields[4] != str(os.getpid()) else ""
    return ""

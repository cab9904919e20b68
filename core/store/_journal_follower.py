"""Following other processes' commits: reading the journal's new tail, or a new journal after a compaction.

Part of :class:`~workbench.core.store.json_file.JsonFilePersistence`, kept apart because
it is the one concern the single-process store never had: another process may append
to the journal, or replace it, between two of ours.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import BinaryIO

from workbench.core.exceptions import StoreCorruptError, StoreError
from workbench.core.store import journal, snapshot
from workbench.core.store._files import file_id as _file_id
from workbench.core.store._lock import CommitLock
from workbench.core.store.durability import LoadReport
from workbench.core.store.state import StoreState

JOURNAL = "journal.jsonl"
SNAPSHOT = "snapshot.json"

log = logging.getLogger("workbench.store")


class JournalFollower:
    """Catch-up for a journal-and-snapshot persistence (mixed into it; see there for the fields)."""

    path: Path
    read_only: bool
    _lock: CommitLock | None
    _fd: int | None
    _journal_path: str
    _journal_id: tuple[int, int] | None
    # The journal file `_journal_id` names, kept open: while a descriptor holds it, the file
    # system cannot give its inode to a new journal, so "same (device, inode)" keeps
    # meaning "same file" after another process's compaction replaced it.
    _journal_pin: BinaryIO | None
    _journal_size: int
    _journal_version: int
    _snapshot_size: int

    def load(self, state: StoreState) -> LoadReport:  # pragma: no cover - the persistence defines it
        raise NotImplementedError

    def _ready_to_append(self, state: StoreState, path: Path) -> None:  # pragma: no cover - ditto
        raise NotImplementedError

    def _read_with_stat(self, path: Path) -> tuple[BinaryIO | None, os.stat_result | None, bytes | None]:
        """The open file, its identity and bytes, read through one descriptor (so they agree).

        The caller either follows the file (:meth:`_follow`) or closes it.
        """
        try:
            handle = open(path, "rb")  # noqa: SIM115 - kept open by _follow
        except FileNotFoundError:
            return None, None, None
        except OSError as exc:
            raise StoreError(f"cannot read {path}: {exc.strerror or exc}") from None
        try:
            return handle, os.fstat(handle.fileno()), handle.read()
        except OSError as exc:
            handle.close()
            raise StoreError(f"cannot read {path}: {exc.strerror or exc}") from None

    def _follow(self, handle: BinaryIO | None) -> None:
        """From now on ``handle`` (or no file) is the journal this process has read."""
        previous, self._journal_pin = self._journal_pin, handle
        self._journal_id = _file_id(os.fstat(handle.fileno())) if handle is not None else None
        if previous is not None and previous is not handle:
            previous.close()

    def catch_up(self, state: StoreState, *, locked: bool) -> StoreState:
        """Bring ``state`` up to date with what other processes committed since it was read.

        Appended commits are read from the journal's tail; after another process compacted
        (the journal is a new file), the lines after ``state``'s last commit are read from
        the new journal, or the whole store again when that journal starts later. With
        ``locked`` (the writer lock held) the journal is also made ready to append to.

        Returns:
            ``state`` itself, or a fresh state when the store had to be read again.
        """
        try:
            current = os.stat(self._journal_path)
        except FileNotFoundError:
            current = None
        except OSError:
            current = None
        if (
            current is not None
            and (self._fd is not None or not locked)
            and current.st_size == self._journal_size
            and (current.st_dev, current.st_ino) == self._journal_id
        ):
            return state  # the common case: nobody else committed since our last look
        path = self.path / JOURNAL
        try:
            current = os.stat(path)
        except FileNotFoundError:
            current = None
        except OSError as exc:
            raise StoreError(f"cannot read {path}: {exc.strerror or exc}") from None
        if current is not None and _file_id(current) == self._journal_id:
            if current.st_size != self._journal_size:
                self._read_tail(state, path, locked=locked)
        elif current is not None and current.st_size > 0:
            state = self._read_replaced_journal(state, path)
            # Now the journal is the one read: pick up (or, locked, cut) what follows.
            return self.catch_up(state, locked=locked)
        if locked:
            self._ready_to_append(state, path)
        return state

    def _read_tail(self, state: StoreState, path: Path, *, locked: bool) -> None:
        try:
            if self._journal_pin is not None:
                # The file read so far, not whatever the path names by now.
                self._journal_pin.seek(self._journal_size)
                tail = self._journal_pin.read()
            else:
                with open(path, "rb") as handle:
                    handle.seek(self._journal_size)
                    tail = handle.read()
        except OSError as exc:
            raise StoreError(f"cannot read {path}: {exc.strerror or exc}") from None
        base = self._journal_size
        end = journal.ScanEnd()
        header = journal.Header(self._journal_version, state.seq, 0)
        self._apply_lines(state, path, tail, header, end, offset=base)
        self._journal_size = base + end.good_end
        if end.torn_bytes and locked:
            self._cut(path, self._journal_size, end.torn_bytes)

    def _read_replaced_journal(self, state: StoreState, path: Path) -> StoreState:
        if self._fd is not None:
            # Our append descriptor points at the replaced file.
            os.close(self._fd)
            self._fd = None
        handle, stat, raw = self._read_with_stat(path)
        if handle is None or raw is None or stat is None or not raw.strip():
            # No journal to append to: a locked catch-up writes a fresh header.
            if handle is not None:
                handle.close()
            self._follow(None)
            self._journal_size = 0
            return state
        header = journal.read_header(raw)
        if header is None or header.version not in journal.READABLE_FORMATS or header.base_seq > state.seq:
            # Commits we never saw went into a snapshot (or the file is not one we can
            # append to): read the store again, as opening it would.
            handle.close()
            fresh = StoreState()
            self.load_without_lock(fresh)
            self._snapshot_changed()
            return fresh
        end = journal.ScanEnd()
        self._journal_version = header.version
        try:
            self._apply_lines(state, path, raw, header, end, offset=0)
        except BaseException:
            handle.close()
            raise
        if end.last_seq < state.seq:
            # The journal ends before commits we hold (`store repair --drop-after` dropped
            # them): what is on disk wins, so read the store again.
            handle.close()
            fresh = StoreState()
            self.load_without_lock(fresh)
            self._snapshot_changed()
            return fresh
        self._journal_size = end.good_end
        self._follow(handle)
        self._snapshot_changed()
        return state

    def load_without_lock(self, state: StoreState) -> LoadReport:
        """Fill an empty ``state`` from disk, taking no lock and repairing nothing."""
        lock, self._lock = self._lock, None
        try:
            return self.load(state)
        finally:
            self._lock = lock

    def _snapshot_changed(self) -> None:
        """Another process compacted: what a rewrite would cost us now is its table files' size."""
        size = 0
        try:
            size = os.stat(self.path / SNAPSHOT).st_size
            with os.scandir(self.path / snapshot.TABLES) as entries:
                size += sum(entry.stat().st_size for entry in entries if entry.name.endswith(".json"))
        except OSError:
            pass
        self._snapshot_size = size

    def _apply_lines(
        self, state: StoreState, path: Path, raw: bytes, header: journal.Header, end: journal.ScanEnd, *, offset: int
    ) -> None:
        try:
            for seq, ops, _line_end in journal.scan(raw, header, end):
                if seq > state.seq:
                    state.apply(ops)
                    state.seq = seq
        except journal.JournalDamaged as damaged:
            damaged.damage.offset += offset
            raise StoreCorruptError(
                f"{damaged.damage.describe(path)}; `workbench store check` shows the details"
            ) from None

    def _cut(self, path: Path, good_end: int, torn_bytes: int) -> None:
        """Cut an incomplete last line: with the lock held, no write is in progress, so it
        was left by a process killed mid-write."""
        log.warning(
            "journal %s: ignored an incomplete last commit (%d bytes at byte %d), left by an interrupted write; cut",
            path,
            torn_bytes,
            good_end,
        )
        try:
            with open(path, "r+b") as handle:
                handle.truncate(good_end)
                os.fsync(handle.fileno())
        except OSError as exc:
            raise StoreError(f"cannot repair {path}: {exc.strerror or exc}") from None


"""The embedded store on disk: an append-only JSON journal plus a TinyDB-format snapshot.

Layout of a store folder::

    journal.jsonl   header line, then one line per commit:
                    {"seq":N,"crc":C,"ops":[...]}   (C = CRC-32 of N's digits and the ops
                    bytes; see :mod:`workbench.core.store.journal`)
    snapshot.json   written by compaction, in TinyDB's format: {table: {doc_id: doc}}
                    plus a "_meta" table with the format and the last seq it holds
    LOCK            the writer lock, taken for one commit at a time

Why not TinyDB's own storage: its insert rewrites the whole table and its JSONStorage
rewrites the file in place, so neither is O(1) nor crash-safe. Here a commit is one
``write()`` of one line (whole, or torn without its newline and then cut), and
compaction writes a temp file, fsyncs and renames, so a crash at any point leaves
either the old or the new snapshot. Lines at or below the snapshot's seq are skipped
on replay, which makes the snapshot/journal switch safe at every step.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import orjson
from workbench.core.exceptions import StoreCorruptError, StoreError, StoreFormatError
from workbench.core.store import journal, snapshot
from workbench.core.store._files import write_atomically as _write_atomically
from workbench.core.store._journal_follower import JournalFollower
from workbench.core.store._lock import CommitLock, is_held
from workbench.core.store.durability import LoadReport
from workbench.core.store.journal import JOURNAL_FORMAT
from workbench.core.store.snapshot import missing_commits
from workbench.core.store.state import Op, StoreState
from workbench.core.store.storable import unstorable_value

JOURNAL = "journal.jsonl"
SNAPSHOT = "snapshot.json"

log = logging.getLogger("workbench.store")


class JsonFilePersistence(JournalFollower):
    """Journal-and-snapshot persistence in one folder.

    Args:
        path: the store folder (created on first write).
        read_only: open without the writer lock; never writes or repairs anything.
        fsync: ``fsync`` every commit (power-loss durability) rather than only handing
            it to the OS (process-crash durability).
        lock_timeout: seconds to wait for another writer to finish.
        compact_min_bytes: the journal never triggers compaction below this size.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        read_only: bool = False,
        fsync: bool = False,
        lock_timeout: float = 5.0,
        compact_min_bytes: int = 32 * 1024 * 1024,
    ) -> None:
        self.path = Path(path)
        self.location = str(self.path)
        self.read_only = read_only
        self.fsync = fsync
        self.compact_min_bytes = compact_min_bytes
        self._lock: CommitLock | None = None
        self._fd: int | None = None
        # Which journal file (device, inode) this process has read, and up to which byte:
        # another process's compaction replaces the file, a commit makes it longer.
        self._journal_id: tuple[int, int] | None = None
        self._journal_pin = None  # the journal read (see JournalFollower)
        self._journal_size = 0
        self._strays_checked = False
        self._journal_path = str(self.path / JOURNAL)
        self._snapshot_size = 0
        self._journal_version = JOURNAL_FORMAT
        self._old_snapshot = False  # a format-1 snapshot was read: the first writer rewrites it
        if self.path.exists() and not self.path.is_dir():
            raise StoreError(f"store path {self.path} exists and is not a folder")
        if not read_only:
            try:
                self.path.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(f"cannot create store folder {self.path}: {exc.strerror or exc}") from None
            self._lock = CommitLock(self.path / "LOCK", timeout=lock_timeout)

    # -- loading ----------------------------------------------------------------------

    def load(self, state: StoreState) -> LoadReport:
        """Read the snapshot, then replay the journal lines after it."""
        previous: tuple[int, int] | None = None
        missing: Path | None = None
        while True:
            report = LoadReport()
            try:
                snapshot_seq = self._load_snapshot(state, report)
            except snapshot.SnapshotMoved as moved:
                # Another process compacted between our reading snapshot.json and its files
                # (its new snapshot names other files), unless the same file is missing again.
                if moved.path == missing:
                    raise
                missing = moved.path
                state.__init__()  # type: ignore[misc]
                continue
            behind = self._replay_journal(state, report, snapshot_seq)
            if behind is None:
                break
            if behind == previous:
                # Read twice with nothing moving: not a compaction in progress, a missing snapshot.
                raise StoreCorruptError(f"store {self.path}: {missing_commits(*behind)}; the store was left untouched")
            # A writer compacted between our two reads: start over.
            previous = behind
            state.__init__()  # type: ignore[misc]
        if self._lock is not None:
            # Repairs (cutting a torn tail, a missing header, an old format) need the lock,
            # so a writer settles them now rather than at its first commit.
            self.lock()
            try:
                current = self.catch_up(state, locked=True)
            finally:
                self.unlock()
            if current is not state:
                # Another process compacted past what we read meanwhile: keep what was read again.
                state.__dict__.update(current.__dict__)
        return report

    def _read(self, path: Path) -> bytes | None:
        try:
            return path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StoreError(f"cannot read {path}: {exc.strerror or exc}") from None

    def _load_snapshot(self, state: StoreState, report: LoadReport) -> int:
        raw = self._read(self.path / SNAPSHOT)
        if raw is None:
            return 0
        opened = snapshot.load(self.path, raw, state)
        self._snapshot_size, self._old_snapshot = opened.table_bytes, opened.old_format
        report.snapshot_seq = opened.seq
        return opened.seq

    def _replay_journal(self, state: StoreState, report: LoadReport, snapshot_seq: int) -> tuple[int, int] | None:
        """Apply the journal; returns ``(snapshot_seq, base_seq)`` when a read-only open
        found the journal ahead of the snapshot (maybe a compaction in progress)."""
        path = self.path / JOURNAL
        handle, _stat, raw = self._read_with_stat(path)
        try:
            behind = self._replay_lines(state, report, snapshot_seq, path, raw)
        except BaseException:
            if handle is not None:
                handle.close()
            raise
        if behind is not None or raw is None or not raw.strip():
            if handle is not None:
                handle.close()
            if behind is None:
                self._follow(None)
            return behind
        self._follow(handle)
        return None

    def _replay_lines(
        self, state: StoreState, report: LoadReport, snapshot_seq: int, path: Path, raw: bytes | None
    ) -> tuple[int, int] | None:
        self._journal_version = JOURNAL_FORMAT
        if raw is None or not raw.strip():
            self._journal_size = 0
            return None
        header = journal.read_header(raw)
        if header is None:
            raise StoreCorruptError(f"journal {path} has a damaged header; the store was left untouched")
        if not isinstance(header.version, int) or header.version not in journal.READABLE_FORMATS:
            raise StoreFormatError(
                f"store {self.path} has format {header.version!r}, newer than this workbench "
                f"understands ({JOURNAL_FORMAT}); upgrade workbench to open it"
            )
        self._journal_version = header.version
        if header.base_seq > snapshot_seq:
            # Maybe another process compacted between our two reads: the caller reads again.
            return snapshot_seq, header.base_seq
        end = journal.ScanEnd()
        try:
            for seq, ops, _line_end in journal.scan(raw, header, end):
                if seq > snapshot_seq:
                    try:
                        state.apply(ops)
                    except (KeyError, TypeError, IndexError, ValueError) as exc:
                        what = (
                            f"without {exc.args[0]!r}" if isinstance(exc, KeyError) else f"of the wrong shape ({exc})"
                        )
                        raise StoreCorruptError(
                            f"journal {path}: commit seq {seq} has an op {what}; the store was left untouched"
                        ) from None
                    state.seq = seq
                    report.replayed_commits += 1
        except journal.JournalDamaged as damaged:
            raise StoreCorruptError(
                f"{damaged.damage.describe(path)}; the store was left untouched. "
                f"`workbench store check` shows the details; `workbench store repair --drop-after "
                f"{damaged.damage.after_seq}` drops the damaged commit and everything after it "
                "(keeping a backup)"
            ) from None
        if end.torn_bytes and not is_held(self.path / "LOCK"):
            # With the lock held elsewhere, the bytes are a commit being written right now
            # (a reader may see half of a line); the writer finishes it, or the next one cuts it.
            note = (
                f"journal {path}: ignored an incomplete last commit "
                f"({end.torn_bytes} bytes at byte {end.good_end}), left by an interrupted write"
                + ("" if self.read_only else "; cut")
            )
            report.notes.append(note)
            log.warning(note)
        self._journal_size = end.good_end
        return None

    # -- several processes ------------------------------------------------------------

    def lock(self) -> None:
        """Take the store's writer lock for one commit (or compaction).

        Raises:
            StoreError: the store is open read-only.
            StoreLockedError: another process held the lock for the whole timeout.
        """
        if self._lock is None:
            raise StoreError(f"store {self.path} is open read-only")
        self._lock.acquire()

    def unlock(self) -> None:
        """Let other processes commit."""
        if self._lock is not None:
            self._lock.release()

    def begin_commit(self, state: StoreState) -> StoreState:
        """Take the lock and catch up: what a commit does first (see :meth:`catch_up`)."""
        lock = self._lock
        if lock is None:
            raise StoreError(f"store {self.path} is open read-only")
        lock.acquire()
        try:
            # This runs for every commit: the usual case (nobody else took the lock since
            # our last commit) is answered by the lock's counter, then by one stat.
            if lock.unchanged and self._fd is not None:
                return state
            if self._fd is not None:
                try:
                    current = os.stat(self._journal_path)
                except OSError:
                    return self.catch_up(state, locked=True)  # says what is wrong
                if current.st_size == self._journal_size and (current.st_dev, current.st_ino) == self._journal_id:
                    return state
            return self.catch_up(state, locked=True)
        except BaseException:
            lock.release()
            raise

    def _ready_to_append(self, state: StoreState, path: Path) -> None:
        try:
            if not self._strays_checked:
                for stray in (SNAPSHOT, JOURNAL):
                    # Left by a compaction that failed (disk full) or was killed: never read.
                    (self.path / (stray + ".tmp")).unlink(missing_ok=True)
                self._strays_checked = True
            if self._journal_id is None:
                _write_atomically(path, journal.header_line(state.seq))
                self._journal_size = len(journal.header_line(state.seq))
                self._journal_version = JOURNAL_FORMAT
                self._follow(open(path, "rb"))  # noqa: SIM115 - kept open: see _follow
            if self._journal_version < JOURNAL_FORMAT or self._old_snapshot:
                # Lines are appended in the current format, and a format-1 snapshot is read
                # whole at every open: rewrite both once, now.
                self._write_snapshot_and_journal(state)
            if self._fd is None:
                self._fd = os.open(path, os.O_WRONLY | os.O_APPEND)
        except OSError as exc:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
            raise StoreError(f"cannot open {path} for writing: {exc.strerror or exc}") from None

    # -- writing ----------------------------------------------------------------------

    def append(self, seq: int, ops: list[Op]) -> None:
        """Write one commit as one line; undo a partial write so no garbage stays behind."""
        if self._fd is None:
            raise StoreError(f"store {self.path} is open read-only")
        try:
            ops_bytes = orjson.dumps(ops)
        except orjson.JSONEncodeError as exc:
            raise unstorable_value(ops, exc) from None
        line = journal.encode_line(seq, ops_bytes)
        size = len(line)
        try:
            written = os.write(self._fd, line)
            while written < size:
                written += os.write(self._fd, line[written:])
            if self.fsync:
                os.fdatasync(self._fd)
        except OSError as exc:
            try:
                os.ftruncate(self._fd, self._journal_size)
            except OSError:
                pass
            raise StoreError(f"could not write to store {self.path}: {exc.strerror or exc}") from exc
        self._journal_size += size

    def wants_compaction(self, *, closing: bool) -> bool:
        """While writing: when the journal is twice the snapshot, so that rewriting stays
        O(1) per commit (each byte is rewritten about once more on average). At close:
        already when the journal is an eighth of the snapshot, so the next open reads one
        snapshot instead of replaying many commits."""
        if closing:
            return self._journal_size > 1_048_576 and self._journal_size * 8 > self._snapshot_size
        return self._journal_size > self.compact_min_bytes and self._journal_size > 2 * self._snapshot_size

    def compact(self, state: StoreState) -> None:
        """Write a fresh snapshot, then start an empty journal after it.

        Raises:
            OSError: the disk refused (the commits stay safe in the old journal).
        """
        if self._fd is None:
            raise StoreError(f"store {self.path} is open read-only")
        self._write_snapshot_and_journal(state)

    def _write_snapshot_and_journal(self, state: StoreState) -> None:
        self._snapshot_size = snapshot.write(self.path, state)
        self._old_snapshot = False
        header = journal.header_line(state.seq)
        _write_atomically(self.path / JOURNAL, header)
        self._journal_size = len(header)
        self._journal_version = JOURNAL_FORMAT
        self._follow(open(self.path / JOURNAL, "rb"))  # noqa: SIM115 - kept open: see _follow
        if self._fd is not None:
            os.close(self._fd)
        self._fd = os.open(self.path / JOURNAL, os.O_WRONLY | os.O_APPEND)

    def close(self) -> None:
        """Close the journal and release the writer lock."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        self._follow(None)
        if self._lock is not None:
            self._lock.close()
            self._lock = None

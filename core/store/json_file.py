"""The embedded store on disk: an append-only JSON journal plus a TinyDB-format snapshot.

Layout of a store folder::

    journal.jsonl   header line, then one line per commit:
                    {"seq":N,"crc":C,"ops":[...]}   (C = CRC-32 of the ops bytes)
    snapshot.json   written by compaction, in TinyDB's format: {table: {doc_id: doc}}
                    plus a "_meta" table with the format and the last seq it holds
    LOCK            the single-writer lock

Why not TinyDB's own storage: its insert rewrites the whole table and its JSONStorage
rewrites the file in place, so neither is O(1) nor crash-safe. Here a commit is one
``write()`` of one line (whole or torn, and a torn line is detected by its CRC), and
compaction writes a temp file, fsyncs and renames, so a crash at any point leaves
either the old or the new snapshot. Lines at or below the snapshot's seq are skipped
on replay, which makes the snapshot/journal switch safe at every step.
"""

from __future__ import annotations

import logging
import os
import re
import zlib
from pathlib import Path
from typing import Any

import orjson
from workbench.core.exceptions import StoreCorruptError, StoreError, StoreFormatError
from workbench.core.store._lock import WriterLock
from workbench.core.store.port import LoadReport
from workbench.core.store.state import Op, StoreState

FORMAT_VERSION = 1
JOURNAL = "journal.jsonl"
SNAPSHOT = "snapshot.json"
_LINE = re.compile(rb'\{"seq":(\d+),"crc":(\d+),"ops":(.*)\}\n\Z', re.DOTALL)
_EVENTS_TABLE = "events"
_META_TABLE = "_meta"

log = logging.getLogger("workbench.store")


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_atomically(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def _header(base_seq: int) -> bytes:
    return orjson.dumps({"workbench_store": FORMAT_VERSION, "base_seq": base_seq}) + b"\n"


def tinydb_document(state: StoreState) -> dict[str, Any]:
    """The whole state in TinyDB's storage format: ``{table: {doc_id: document}}``.

    Events are the ``events`` table (doc_id = global position); the ``_meta`` table
    records the format and the last commit it holds.
    """
    data: dict[str, Any] = {
        _META_TABLE: {"1": {"format": FORMAT_VERSION, "seq": state.seq, "tables": state.key_fields}},
        _EVENTS_TABLE: {str(i + 1): record for i, record in enumerate(state.events)},
    }
    for table, rows in state.tables.items():
        data[table] = {str(i + 1): doc for i, doc in enumerate(rows.values())}
    return data


class JsonFilePersistence:
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
        self._lock: WriterLock | None = None
        self._fd: int | None = None
        self._journal_size = 0
        self._snapshot_size = 0
        if not read_only:
            if self.path.exists() and not self.path.is_dir():
                raise StoreError(f"store path {self.path} exists and is not a folder")
            self.path.mkdir(parents=True, exist_ok=True)
            self._lock = WriterLock(self.path / "LOCK", timeout=lock_timeout)

    # -- loading ----------------------------------------------------------------------

    def load(self, state: StoreState) -> LoadReport:
        """Read the snapshot, then replay the journal lines after it."""
        for _attempt in range(20):
            report = LoadReport()
            snapshot_seq = self._load_snapshot(state, report)
            retry = self._replay_journal(state, report, snapshot_seq)
            if not retry:
                break
            # A writer compacted between our two reads (read-only opens only): start over.
            state.__init__()  # type: ignore[misc]
        else:
            raise StoreError(f"store {self.path} keeps changing under a reader; try again")
        if not self.read_only:
            self._open_for_append(state.seq)
        return report

    def _load_snapshot(self, state: StoreState, report: LoadReport) -> int:
        path = self.path / SNAPSHOT
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return 0
        try:
            data = orjson.loads(raw)
            meta = data[_META_TABLE]["1"]
            version = meta["format"]
        except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
            raise StoreCorruptError(f"snapshot {path} is damaged ({exc}); the store was left untouched") from None
        if not isinstance(version, int) or version > FORMAT_VERSION:
            raise StoreFormatError(
                f"store {self.path} has format {version!r}, newer than this workbench "
                f"understands ({FORMAT_VERSION}); upgrade workbench to open it"
            )
        key_fields: dict[str, str] = meta.get("tables", {})
        state.load_events(list(data.get(_EVENTS_TABLE, {}).values()))
        for table, docs in data.items():
            if table in (_META_TABLE, _EVENTS_TABLE):
                continue
            key_field = key_fields.get(table)
            if key_field is None:
                raise StoreCorruptError(f"snapshot {path} has table {table!r} without a key field")
            for doc in docs.values():
                state._put(table, key_field, doc)
        state.seq = meta["seq"]
        report.snapshot_seq = meta["seq"]
        self._snapshot_size = len(raw)
        return int(meta["seq"])

    def _replay_journal(self, state: StoreState, report: LoadReport, snapshot_seq: int) -> bool:
        path = self.path / JOURNAL
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            self._journal_size = 0
            return False
        header_end = raw.find(b"\n") + 1
        try:
            header = orjson.loads(raw[:header_end]) if header_end else None
            version = header["workbench_store"]  # type: ignore[index]
            base_seq = int(header["base_seq"])  # type: ignore[index]
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            if not raw.strip():
                self._journal_size = 0
                return False
            raise StoreCorruptError(f"journal {path} has a damaged header; the store was left untouched") from None
        if not isinstance(version, int) or version > FORMAT_VERSION:
            raise StoreFormatError(
                f"store {self.path} has format {version!r}, newer than this workbench "
                f"understands ({FORMAT_VERSION}); upgrade workbench to open it"
            )
        if base_seq > snapshot_seq:
            if self.read_only:
                return True
            raise StoreCorruptError(
                f"journal {path} starts after seq {base_seq} but the snapshot holds only "
                f"{snapshot_seq}; commits are missing, the store was left untouched"
            )
        offset = header_end
        good_end = header_end
        expected_seq = None
        size = len(raw)
        while offset < size:
            end = raw.find(b"\n", offset)
            line = raw[offset:] if end < 0 else raw[offset : end + 1]
            parsed = self._parse_line(line)
            if parsed is None:
                if end >= 0 and self._has_valid_line_after(raw, end + 1):
                    raise StoreCorruptError(
                        f"journal {path} is damaged at byte {offset} with intact commits "
                        "after it; the store was left untouched"
                    )
                note = (
                    f"journal {path}: ignored an incomplete last commit "
                    f"({len(raw) - offset} bytes at byte {offset}), left by an interrupted write"
                )
                report.notes.append(note)
                if not self.read_only:
                    log.warning(note)
                break
            seq, ops = parsed
            if expected_seq is not None and seq != expected_seq:
                raise StoreCorruptError(
                    f"journal {path} jumps from seq {expected_seq - 1} to {seq}; the store was left untouched"
                )
            expected_seq = seq + 1
            if seq > snapshot_seq:
                state.apply(ops)
                state.seq = seq
                report.replayed_commits += 1
            offset = good_end = offset + len(line)
        if good_end < size and not self.read_only:
            # Cut the torn tail so the next commit does not land behind garbage.
            with open(path, "r+b") as handle:
                handle.truncate(good_end)
                os.fsync(handle.fileno())
        self._journal_size = good_end
        return False

    @staticmethod
    def _parse_line(line: bytes) -> tuple[int, list[Op]] | None:
        match = _LINE.match(line)
        if match is None:
            return None
        ops_bytes = match.group(3)
        if zlib.crc32(ops_bytes) != int(match.group(2)):
            return None
        try:
            return int(match.group(1)), orjson.loads(ops_bytes)
        except orjson.JSONDecodeError:
            return None

    def _has_valid_line_after(self, raw: bytes, offset: int) -> bool:
        while offset < len(raw):
            end = raw.find(b"\n", offset)
            if end < 0:
                return False
            if self._parse_line(raw[offset : end + 1]) is not None:
                return True
            offset = end + 1
        return False

    # -- writing ----------------------------------------------------------------------

    def _open_for_append(self, seq: int) -> None:
        path = self.path / JOURNAL
        if not path.exists() or self._journal_size == 0:
            _write_atomically(path, _header(seq))
            self._journal_size = len(_header(seq))
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND)

    def append(self, seq: int, ops: list[Op]) -> None:
        """Write one commit as one line; undo a partial write so no garbage stays behind."""
        if self._fd is None:
            raise StoreError(f"store {self.path} is open read-only")
        ops_bytes = orjson.dumps(ops)
        line = b"".join(
            (
                b'{"seq":',
                str(seq).encode(),
                b',"crc":',
                str(zlib.crc32(ops_bytes)).encode(),
                b',"ops":',
                ops_bytes,
                b"}\n",
            )
        )
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
            raise StoreError(f"could not write to store {self.path}: {exc}") from exc
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
        """Write a fresh snapshot, then start an empty journal after it."""
        if self._fd is None:
            raise StoreError(f"store {self.path} is open read-only")
        raw = orjson.dumps(tinydb_document(state))
        _write_atomically(self.path / SNAPSHOT, raw)
        self._snapshot_size = len(raw)
        header = _header(state.seq)
        _write_atomically(self.path / JOURNAL, header)
        os.close(self._fd)
        self._fd = os.open(self.path / JOURNAL, os.O_WRONLY | os.O_APPEND)
        self._journal_size = len(header)

    def close(self) -> None:
        """Close the journal and release the writer lock."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if self._lock is not None:
            self._lock.release()
            self._lock = None

"""Checking and repairing a store folder (``workbench store check`` / ``store repair``).

A store refuses to open when an acknowledged commit is damaged, because guessing would
lose data silently. These two functions are the documented way out: ``check`` says what
is wrong and where, ``repair --drop-after SEQ`` keeps the commits up to ``SEQ`` and drops
the rest of the journal, after copying the journal to a backup file.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from workbench.core.exceptions import StoreError
from workbench.core.store import journal, segments
from workbench.core.store._files import write_atomically
from workbench.core.store._lock import WriterLock
from workbench.core.store.durability import LoadReport
from workbench.core.store.json_file import JOURNAL, SNAPSHOT, JsonFilePersistence
from workbench.core.store.snapshot import missing_commits
from workbench.core.store.state import StoreState


@dataclass
class StoreCheck:
    """What ``check_store`` found."""

    path: str
    snapshot_seq: int = 0
    journal_format: Any = None
    base_seq: int = 0
    last_good_seq: int = 0
    commits: int = 0
    torn_bytes: int = 0
    damage: dict[str, Any] | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when the store opens without losing or refusing anything."""
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        """Plain data for the JSON envelope."""
        return {**self.__dict__, "ok": self.ok}


def check_store(path: str | os.PathLike[str]) -> StoreCheck:
    """Read a store folder without the lock and report every problem (writes nothing)."""
    folder = Path(path)
    report = StoreCheck(str(folder))
    if not folder.is_dir():
        raise StoreError(f"no store folder at {folder}")
    probe = JsonFilePersistence(folder, read_only=True)
    previous: tuple[int, int] | None = None
    while True:
        report.problems.clear()
        state = StoreState()
        try:
            report.snapshot_seq = probe._load_snapshot(state, LoadReport())
        except StoreError as exc:
            report.problems.append(str(exc))
        else:
            # Opening only checks the files' sizes; a check reads every byte it can.
            report.problems.extend(_compacted_file_problems(state))
        raw = probe._read(folder / JOURNAL)
        if raw is None or not raw.strip():
            return report
        header = journal.read_header(raw)
        if header is None:
            report.problems.append(f"journal {folder / JOURNAL} has a damaged header")
            return report
        report.journal_format, report.base_seq = header.version, header.base_seq
        if header.version not in journal.READABLE_FORMATS:
            report.problems.append(f"journal format {header.version!r} is not one this workbench reads")
            return report
        behind = (report.snapshot_seq, header.base_seq)
        if header.base_seq <= report.snapshot_seq:
            break
        if behind == previous:
            # Read twice with nothing moving: a missing snapshot, not a compaction in progress.
            report.problems.append(missing_commits(*behind))
            break
        # A writer may have compacted between reading the snapshot and the journal: read again.
        previous = behind
    end = journal.ScanEnd()
    try:
        for _seq, _ops, _end in journal.scan(raw, header, end):
            report.commits += 1
    except journal.JournalDamaged as damaged:
        report.damage = damaged.damage.__dict__
        report.problems.append(
            f"{damaged.damage.describe(folder / JOURNAL)}; to keep the commits up to seq "
            f"{damaged.damage.after_seq}: workbench store repair --drop-after {damaged.damage.after_seq}"
        )
    report.last_good_seq = end.last_seq
    report.torn_bytes = end.torn_bytes
    return report


def _compacted_file_problems(state: StoreState) -> list[str]:
    """What is wrong in the table and event files the snapshot names (each a line naming the file)."""
    problems: list[str] = []
    for table in list(state.lazy_tables):
        try:
            state.rows(table)
        except StoreError as exc:
            problems.append(str(exc).removesuffix("; the store was left untouched"))
    base = state.base
    if base is None:
        return problems
    folder = base.folder
    expected = {segments.OFFSETS: 8 * base.count, segments.STREAM_NO: 4 * base.count}
    for name, size in expected.items():
        if base.sizes.get(name, 0) != size:
            problems.append(f"{folder / name} records {base.sizes.get(name, 0)} bytes for {base.count} events")
    for name in (segments.IDS, segments.CORRELATIONS):
        lines = base._read(name).count(b"\n")
        if lines != base.count + 1:
            problems.append(f"{folder / name} holds {max(lines - 1, 0)} entries for {base.count} events")
    if problems:
        return problems
    try:
        problems.extend(_index_problems(base))
    except StoreError as exc:
        problems.append(str(exc))
    except (ValueError, TypeError) as exc:  # orjson's decode error is a ValueError
        problems.append(f"{folder / segments.STREAMS} is damaged ({exc})")
    return problems


def _index_problems(base: segments.Segments) -> list[str]:
    """Each event line parsed and compared with its entry in every index file (first mismatch per file)."""
    folder = base.folder

    def entries(name: str) -> list[bytes]:
        return base._read(name)[1:].split(b"\n")[:-1]

    ids, correlations = entries(segments.IDS), entries(segments.CORRELATIONS)
    streams, stream_no = base.stream_list(), base.stream_numbers_column()
    wrong: dict[str, str] = {}
    categories: dict[str, list[int]] = {}
    for index, record in enumerate(base.records(range(base.count))):
        where = f"event {index + 1} in {folder / segments.LOG}"
        if not isinstance(record, dict) or any(key not in record for key in ("id", "stream_name", "stream_category")):
            return [f"{where} is damaged (not an event record)"]
        stream = (record["stream_name"], record["stream_category"])
        checks = {
            segments.IDS: ids[index] == orjson.dumps(record["id"]),
            segments.CORRELATIONS: correlations[index]
            == orjson.dumps((record.get("metadata") or {}).get("correlation_id")),
            segments.STREAM_NO: stream_no[index] < len(streams) and tuple(streams[stream_no[index]]) == stream,
        }
        for name, ok in checks.items():
            if not ok and name not in wrong:
                wrong[name] = f"{folder / name} is damaged (entry {index + 1} does not match {where})"
        categories.setdefault(record["stream_category"], []).append(index)
    for category, indexes in categories.items():
        entry = base.summary.get(category)
        if entry is None or list(base.category_indexes(category)) != indexes:
            name = segments.category_file(entry["file"]) if entry else "snapshot.json"
            wrong[name] = f"{folder / name} is damaged (category {category!r} does not match {folder / segments.LOG})"
    return list(wrong.values())


@dataclass
class RepairResult:
    """What ``repair_store`` did."""

    kept_up_to: int
    dropped_commits: int
    dropped_bytes: int
    backup: str

    def to_dict(self) -> dict[str, Any]:
        """Plain data for the JSON envelope."""
        return dict(self.__dict__)


def repair_store(path: str | os.PathLike[str], *, drop_after: int, lock_timeout: float = 5.0) -> RepairResult:
    """Keep the journal's commits up to ``drop_after``, drop everything after it.

    The commits kept must all be intact, and the snapshot must not hold a later seq. The
    old journal is copied to ``journal.jsonl.<UTC time>.bak`` first; the new one replaces
    it atomically, under the writer lock.

    Raises:
        StoreError: nothing to repair this way, or the commits up to ``drop_after`` are not intact.
    """
    folder = Path(path)
    if not folder.is_dir():
        raise StoreError(f"no store folder at {folder}")
    lock = WriterLock(folder / "LOCK", timeout=lock_timeout)
    try:
        probe = JsonFilePersistence(folder, read_only=True)
        snapshot_seq = probe._load_snapshot(StoreState(), LoadReport())
        if drop_after < snapshot_seq:
            raise StoreError(f"the snapshot already holds seq {snapshot_seq}; --drop-after must be at least that")
        target = folder / JOURNAL
        raw = probe._read(target)
        header = journal.read_header(raw or b"")
        if raw is None or header is None:
            raise StoreError(f"journal {target} is missing or has a damaged header; repair cannot rebuild it")
        if drop_after < header.base_seq:
            raise StoreError(f"the journal starts after seq {header.base_seq}; --drop-after must be at least that")
        keep_end = header.end
        end = journal.ScanEnd()
        try:
            for seq, _ops, line_end in journal.scan(raw, header, end):
                if seq > drop_after:
                    break
                keep_end = line_end
        except journal.JournalDamaged as damaged:
            if damaged.damage.after_seq < drop_after:
                raise StoreError(
                    f"commit {damaged.damage.after_seq + 1} is damaged, so the commits up to {drop_after} "
                    f"are not intact; use --drop-after {damaged.damage.after_seq} or lower"
                ) from None
        if end.last_seq < drop_after:
            raise StoreError(f"the journal ends at seq {end.last_seq}; there is no seq {drop_after} to keep")
        if keep_end == len(raw):
            raise StoreError(f"nothing after seq {drop_after} to drop")
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        backup = target.with_name(f"{JOURNAL}.{stamp}.bak")
        shutil.copyfile(target, backup)
        dropped = sum(1 for line in raw[keep_end:].split(b"\n") if line.startswith(b'{"seq":'))
        write_atomically(target, raw[:keep_end])
        (folder / (SNAPSHOT + ".tmp")).unlink(missing_ok=True)
        return RepairResult(drop_after, dropped, len(raw) - keep_end, str(backup))
    except OSError as exc:
        raise StoreError(f"cannot repair {folder}: {exc.strerror or exc}") from None
    finally:
        lock.release()

"""Compacted events on disk, read on demand: a JSON-lines segment plus index files.

Compaction moves the journal's events here; a store opens without reading them. Files in
``<store>/events/``, each only ever appended to (under the writer lock)::

    log.jsonl          one event record per line, in global order (plain JSON)
    offsets.q          int64 per event: where its line starts in log.jsonl
    ids.txt            "\\n", then one JSON-encoded event id per line
    correlations.txt   "\\n", then one JSON-encoded correlation id (or null) per line
    streams.txt        "\\n", then one ``[stream, category]`` per stream, first seen first
    stream_no.i        uint32 per event: the line number of its stream in streams.txt
    category-<k>.q     int64 event indexes of the k-th category

The manifest (``snapshot.json``'s ``_meta``) records how many events and how many bytes
of each file are committed; bytes beyond that were left by a compaction that never
finished and are cut by the next one. Lookups are byte searches over the index files
(``bytes.find`` runs in C at memory speed), so a command that reads one stream, one
event or one correlation of a million-event store reads a few megabytes and parses only
the lines it prints. A long-running writer builds dictionaries from the same files on
first heavy use.
"""

from __future__ import annotations

import os
from array import array
from bisect import bisect_left
from collections import Counter
from collections.abc import Iterable, Iterator
from itertools import accumulate
from pathlib import Path
from typing import Any

import orjson
from workbench.core.exceptions import StoreCorruptError, StoreError
from workbench.core.store._files import dumps_kept

FOLDER = "events"
LOG, OFFSETS, IDS, CORRELATIONS, STREAMS, STREAM_NO = (
    "log.jsonl",
    "offsets.q",
    "ids.txt",
    "correlations.txt",
    "streams.txt",
    "stream_no.i",
)
_LISTS = (IDS, CORRELATIONS, STREAMS)  # text files that start with a newline
# A long-running process switches from byte searches to dictionaries after this many lookups.
_SEARCHES_BEFORE_INDEXING = 32
_BLOCK = 1 << 20


def empty_manifest() -> dict[str, Any]:
    """The manifest section of a store with no compacted events."""
    return {"count": 0, "streams": 0, "sizes": {}, "categories": {}, "types": {}}


def category_file(number: int) -> str:
    return f"category-{number}.q"


def _encoded(value: Any) -> bytes | None:
    """``value`` as the index files spell it, or None when JSON cannot spell it (a lone
    surrogate, as a name typed in a terminal that is not UTF-8 arrives): nothing stored has it."""
    try:
        return orjson.dumps(value)
    except orjson.JSONEncodeError:
        return None


class Segments:
    """The first ``count`` events of a store, read from the files of one manifest.

    Immutable: a later compaction appends beyond the sizes this instance was opened
    with, which it never reads.
    """

    def __init__(self, folder: Path, manifest: dict[str, Any]) -> None:
        self.folder = folder
        self.manifest = manifest
        self.count: int = manifest["count"]
        self.sizes: dict[str, int] = manifest["sizes"]
        self.summary: dict[str, dict[str, int]] = manifest["categories"]
        self.types: dict[str, int] = manifest["types"]
        self.stream_total: int = manifest["streams"]
        self._bytes: dict[str, bytes] = {}
        self._fd: int | None = None
        self._offsets: array[int] | None = None
        self._stream_no: array[int] | None = None
        self._categories: dict[str, array[int]] = {}
        self._stream_numbers: dict[str, int] | None = None
        self._stream_counts: array[int] | None = None
        self._searches = 0
        self._stream_cache: dict[str, list[int]] = {}

    # -- files ------------------------------------------------------------------------

    def _read(self, name: str) -> bytes:
        raw = self._bytes.get(name)
        if raw is None:
            size = self.sizes.get(name, 0)
            path = self.folder / name
            try:
                with open(path, "rb") as handle:
                    raw = handle.read(size)
            except FileNotFoundError:
                raw = b""
            except OSError as exc:
                raise StoreError(f"cannot read {path}: {exc.strerror or exc}") from None
            if len(raw) != size:
                raise StoreCorruptError(
                    f"{path} holds {len(raw)} bytes where the snapshot records {size}; the store was left untouched"
                )
            self._bytes[name] = raw
        return raw

    def _ints(self, name: str, code: str) -> array[int]:
        values = array(code)
        values.frombytes(self._read(name))
        return values

    def _log_fd(self) -> int:
        if self._fd is None:
            path = self.folder / LOG
            try:
                self._fd = os.open(path, os.O_RDONLY)
            except OSError as exc:
                raise StoreCorruptError(
                    f"cannot read {path}: {exc.strerror or exc}; the store was left untouched"
                ) from None
        return self._fd

    def offsets(self) -> array[int]:
        if self._offsets is None:
            self._offsets = self._ints(OFFSETS, "q")
        return self._offsets

    def stream_numbers_column(self) -> array[int]:
        if self._stream_no is None:
            self._stream_no = self._ints(STREAM_NO, "I")
        return self._stream_no

    # -- records ----------------------------------------------------------------------

    def _span(self, index: int) -> tuple[int, int]:
        offsets = self.offsets()
        end = offsets[index + 1] if index + 1 < self.count else self.sizes[LOG]
        return offsets[index], end

    def _parse(self, line: bytes, index: int) -> dict[str, Any]:
        try:
            record: dict[str, Any] = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            raise StoreCorruptError(f"event {index + 1} in {self.folder / LOG} is damaged ({exc})") from None
        return record

    def record(self, index: int) -> dict[str, Any]:
        """The event record at ``index`` (0-based global order), parsed from its line."""
        # pread rather than a memory map: a long replay would otherwise count every page
        # of the log it has passed in its resident memory.
        start, end = self._span(index)
        return self._parse(os.pread(self._log_fd(), end - start, start), index)

    def records(self, indexes: Iterable[int]) -> Iterator[dict[str, Any]]:
        """The records at ``indexes`` (ascending), read in blocks of about a megabyte."""
        fd = self._log_fd()
        block, block_start, block_end = b"", 0, 0
        for index in indexes:
            start, end = self._span(index)
            if start < block_start or end > block_end:
                block_start = start
                block = os.pread(fd, max(end - start, _BLOCK), start)
                block_end = start + len(block)
            yield self._parse(block[start - block_start : end - block_start], index)

    # -- lookups ----------------------------------------------------------------------

    def _lines_matching(self, name: str, needle: bytes, *, prefix: bool = False) -> Iterator[tuple[int, int]]:
        """``(line, offset)`` of the entries equal to (or starting with) ``needle``; lines count from 0
        after the leading newline, the offset is where the entry's text starts."""
        raw = self._read(name)
        pattern = b"\n" + needle if prefix else b"\n" + needle + b"\n"
        at, line, counted = raw.find(pattern), 0, 0
        while at >= 0:
            line += raw.count(b"\n", counted, at)
            counted = at
            yield line, at + 1
            at = raw.find(pattern, at + 1)

    def event_index(self, event_id: str) -> int | None:
        """The index of the event with this id, or None."""
        needle = _encoded(event_id)
        return None if needle is None else next((line for line, _at in self._lines_matching(IDS, needle)), None)

    def ids_with_prefix(self, prefix: str) -> Iterator[str]:
        """Ids starting with ``prefix``, in global order."""
        encoded = _encoded(prefix)
        if encoded is None:
            return
        needle = encoded[:-1]  # the opening quote and the escaped prefix
        raw = self._read(IDS)
        for _line, at in self._lines_matching(IDS, needle, prefix=True):
            yield orjson.loads(raw[at : raw.index(b"\n", at)])

    def correlation_indexes(self, correlation_id: str) -> list[int]:
        needle = _encoded(correlation_id)
        return [] if needle is None else [line for line, _at in self._lines_matching(CORRELATIONS, needle)]

    def stream_number(self, stream: str) -> int | None:
        """The number of ``stream`` (its line in streams.txt), or None when no compacted event has it."""
        if self._stream_numbers is not None:
            return self._stream_numbers.get(stream)
        self._searches += 1
        if self._searches > _SEARCHES_BEFORE_INDEXING:
            return self.stream_number_map().get(stream)
        encoded = _encoded(stream)
        if encoded is None:
            return None
        needle = b"[" + encoded + b","
        return next((line for line, _at in self._lines_matching(STREAMS, needle, prefix=True)), None)

    def stream_number_map(self) -> dict[str, int]:
        if self._stream_numbers is None:
            self._stream_numbers = {name: number for number, (name, _cat) in enumerate(self.stream_list())}
        return self._stream_numbers

    def stream_list(self) -> list[tuple[str, str]]:
        """Every compacted stream as ``(name, category)``, in order of first event."""
        raw = self._read(STREAMS)
        if not raw:
            return []
        return [tuple(pair) for pair in orjson.loads(b"[" + raw[1:-1].replace(b"\n", b",") + b"]")]

    def stream_counts_by_number(self) -> array[int]:
        if self._stream_counts is None:
            counts = array("q", bytes(8 * self.stream_total))
            for number, count in Counter(self.stream_numbers_column()).items():
                counts[number] = count
            self._stream_counts = counts
        return self._stream_counts

    def stream_indexes(self, stream: str) -> list[int]:
        """Indexes of the compacted events of ``stream``, oldest first."""
        cached = self._stream_cache.get(stream)
        if cached is not None:
            return cached
        number = self.stream_number(stream)
        found: list[int] = []
        if number is not None:
            data = self._read(STREAM_NO)
            pattern = array("I", (number,)).tobytes()
            at = data.find(pattern)
            while at >= 0:
                if at % 4 == 0:  # a match across two entries is not one
                    found.append(at // 4)
                    at = data.find(pattern, at + 4)
                else:
                    at = data.find(pattern, at + 1)
        if len(self._stream_cache) > 4096:
            self._stream_cache.clear()
        self._stream_cache[stream] = found
        return found

    def stream_length(self, stream: str) -> int:
        """How many compacted events ``stream`` holds."""
        number = self.stream_number(stream)
        if number is None:
            return 0
        if self._stream_numbers is not None:
            return self.stream_counts_by_number()[number]
        return len(self.stream_indexes(stream))

    def category_indexes(self, category: str) -> array[int]:
        positions = self._categories.get(category)
        if positions is None:
            entry = self.summary.get(category)
            positions = self._ints(category_file(entry["file"]), "q") if entry else array("q")
            self._categories[category] = positions
        return positions

    def first_index_at(self, category: str, start: int) -> int:
        return bisect_left(self.category_indexes(category), start)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __del__(self) -> None:
        self.close()


def append(
    folder: Path, manifest: dict[str, Any], records: list[dict[str, Any]], base: Segments | None
) -> dict[str, Any]:
    """Append ``records`` (the events after ``manifest['count']``, in order) to the files.

    Call with the writer lock held. Cuts what an unfinished compaction left beyond the
    recorded sizes first, fsyncs every file, and returns the manifest to publish; until
    it is published, readers go on reading only the old sizes.
    """
    if not records:
        return manifest
    sizes = dict(manifest["sizes"])
    summary = {name: dict(entry) for name, entry in manifest["categories"].items()}
    types = dict(manifest["types"])
    count = manifest["count"]
    stream_total = manifest["streams"]
    new_numbers: dict[str, int] = {}
    # Whole columns at once where possible: compaction runs this over every new event.
    lines = [dumps_kept(record) for record in records]
    log_size = sizes.get(LOG, 0)
    offsets = array("q", accumulate((len(line) + 1 for line in lines[:-1]), initial=log_size))
    ids = [dumps_kept(record["id"]) for record in records]
    correlations = [dumps_kept((r.get("metadata") or {}).get("correlation_id")) for r in records]
    streams: list[bytes] = []
    stream_no = array("I")
    per_category: dict[str, array[int]] = {}
    for index, record in enumerate(records, count):
        name, category = record["stream_name"], record["stream_category"]
        entry = summary.get(category)
        if entry is None:
            entry = summary[category] = {"file": len(summary), "events": 0, "streams": 0, "last": -1}
        number = new_numbers.get(name)
        if number is None and record.get("position") != 0 and base is not None:
            # Only a stream that began before this batch needs looking up.
            number = base.stream_number(name)
        if number is None:
            number = new_numbers[name] = stream_total
            stream_total += 1
            streams.append(dumps_kept([name, category]))
            entry["streams"] += 1
        stream_no.append(number)
        entry["events"] += 1
        entry["last"] = index
        positions = per_category.get(category)
        if positions is None:
            positions = per_category[category] = array("q")
        positions.append(index)
        types[record["type"]] = types.get(record["type"], 0) + 1
    folder.mkdir(exist_ok=True)
    writes: dict[str, bytes] = {
        LOG: b"\n".join(lines) + b"\n",
        OFFSETS: offsets.tobytes(),
        STREAM_NO: stream_no.tobytes(),
        IDS: b"\n".join(ids) + b"\n",
        CORRELATIONS: b"\n".join(correlations) + b"\n",
        STREAMS: b"\n".join(streams) + b"\n" if streams else b"",
    }
    for category, positions in per_category.items():
        writes[category_file(summary[category]["file"])] = positions.tobytes()
    for name, data in writes.items():
        sizes[name] = _append_file(folder / name, sizes.get(name, 0), data, starts_with_newline=name in _LISTS)
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    return {
        "count": count + len(records),
        "streams": stream_total,
        "sizes": sizes,
        "categories": summary,
        "types": types,
    }


def _append_file(path: Path, committed: int, data: bytes, *, starts_with_newline: bool) -> int:
    """Append ``data`` after the first ``committed`` bytes of ``path``; returns the new size."""
    if starts_with_newline and committed == 0:
        data = b"\n" + data
    with open(path, "ab+") as handle:
        handle.seek(0, os.SEEK_END)
        if handle.tell() != committed:
            handle.truncate(committed)  # what a compaction that never finished left
        handle.seek(committed)
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    return committed + len(data)

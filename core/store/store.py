"""The store: checked, atomic commits over in-memory state, made durable by a persistence adapter."""

from __future__ import annotations

import gc
import logging
import os
import threading
from bisect import bisect_left
from collections.abc import Iterator, Sequence
from typing import Any

from workbench.core.exceptions import ExpectedVersionError, StoreError
from workbench.core.store.durability import LoadReport, Persistence
from workbench.core.store.json_file import JsonFilePersistence
from workbench.core.store.memory import MemoryPersistence
from workbench.core.store.port import ALL, DocumentChange, EventRecord, adapter_for
from workbench.core.store.state import Op, StoreState
from workbench.core.store.storable import unusable_event_field, unusable_key

log = logging.getLogger("workbench.store")


Change = DocumentChange
"""The name the engine has always used for :class:`~workbench.core.store.port.DocumentChange`."""


class Store:
    """Tables and an event log with optimistic concurrency and all-or-nothing commits.

    Every commit is checked (versions, stream positions) before anything is written,
    persisted as one unit, and only then applied in memory, so readers never see a
    commit that is not durable.
    """

    def __init__(self, persistence: Persistence) -> None:
        self.persistence = persistence
        self.state = StoreState()
        self._lock = threading.RLock()
        # True while a commit is being written: a "stop now" signal waits for it.
        self.committing = False
        # Parsed JSON holds no reference cycles, so collecting while millions of fresh
        # objects are created is pure overhead (about 40% of opening a large store).
        gc_was_enabled = gc.isenabled()
        gc.disable()
        try:
            self.load_report: LoadReport = persistence.load(self.state)
        finally:
            if gc_was_enabled:
                gc.enable()
        self._closed = False

    @property
    def location(self) -> str:
        """Where the store lives (``:memory:`` or a folder)."""
        return self.persistence.location

    @property
    def read_only(self) -> bool:
        """True when this process may not write."""
        return self.persistence.read_only

    # -- writing ----------------------------------------------------------------------

    def commit(
        self, changes: Sequence[Change], events: Sequence[EventRecord] | Sequence[dict[str, Any]] | None = None
    ) -> None:
        """Check and write ``changes`` and append ``events`` as one atomic commit.

        Event records (typed, or the engine's plain dicts) get their ``position`` and
        ``global_position`` here.

        Raises:
            ExpectedVersionError: a document or stream moved on since it was read.
            StoreError: the store is read-only, closed, or the disk refused the write.
        """
        if not changes and not events:
            return
        records: list[dict[str, Any]]
        if events is None:
            records = []
        elif events and type(events[0]) is not dict:  # typed records (a list holds one kind or the other)
            typed: list[Any] = list(events)
            records = [r.as_dict() if isinstance(r, EventRecord) else r for r in typed]
            try:
                self.commit(changes, records)
            finally:
                for one, plain in zip(typed, records, strict=True):
                    if isinstance(one, EventRecord):
                        one.position, one.global_position = plain["position"], plain["global_position"]
            return
        else:
            records = events  # type: ignore[assignment]  # every one is a dict (checked above)
        with self._lock:
            if self._closed:
                raise StoreError(f"store {self.location} is closed")
            persistence = self.persistence
            # The writer lock covers one commit: other processes commit between ours, so
            # catch up on their commits before checking versions against them.
            self.state = persistence.begin_commit(self.state)
            try:
                self.committing = True
                try:
                    self._commit_locked(changes, records)
                except BaseException:
                    for record in records:
                        record["position"] = record["global_position"] = None
                    raise
                finally:
                    self.committing = False
                if persistence.wants_compaction(closing=False):
                    try:
                        persistence.compact(self.state)
                    except OSError as exc:
                        # The commit is already durable in the journal; compaction can wait.
                        log.warning("compaction of %s failed: %s", self.location, exc.strerror or exc)
            finally:
                persistence.unlock()

    def _commit_locked(self, changes: Sequence[Change], events: list[dict[str, Any]]) -> None:
        state = self.state
        ops: list[Op] = []
        for change in changes:
            # Refused before the journal line is written: a key the state cannot hold would
            # make the commit fail half-applied, and the journal unreadable at the next open.
            if type(change.key) is not str and (problem := unusable_key(change.key, change.label or change.table)):
                raise problem
            self._check_version(change)
            if change.doc is None:
                ops.append(["del", change.table, change.key])
            else:
                ops.append(["put", change.table, change.key_field, change.doc])
        next_global = state.event_count() + 1
        stream_heads: dict[str, int] = {}
        for record in events:
            if type(record["id"]) is not str or type(record["stream_name"]) is not str:
                raise unusable_event_field(record, "id" if type(record["id"]) is not str else "stream_name")
            if type(record["stream_category"]) is not str:
                raise unusable_event_field(record, "stream_category")  # the manifest is keyed by it
            stream = record["stream_name"]
            head = stream_heads.get(stream)
            if head is None:
                head = state.stream_last_position(stream)
            expected = record["metadata"].get("expected_version")
            if expected is not None and expected != head:
                raise ExpectedVersionError(
                    f"Wrong expected version: {expected} (Stream: {stream}, Stream Version: {head})"
                )
            stream_heads[stream] = head + 1
            record["position"] = head + 1
            record["global_position"] = next_global
            next_global += 1
            ops.append(["ev", record])
        seq = state.seq + 1
        self.persistence.append(seq, ops)
        state.apply(ops)
        state.seq = seq

    def _check_version(self, change: Change) -> None:
        expected = change.expected_version
        if expected is None:
            return
        current = self.state.get(change.table, change.key)
        current_version = -1 if current is None else current.get("_version", 0)
        if current_version != expected:
            raise ExpectedVersionError(
                f"Wrong expected version: {expected} "
                f"(Aggregate: {change.label or change.table}({change.key}), Version: {current_version})"
            )

    # -- reading ----------------------------------------------------------------------

    def get(self, table: str, key: Any) -> dict[str, Any] | None:
        """The document under ``key`` in ``table``, or None."""
        return self.state.get(table, key)

    def rows(self, table: str) -> dict[Any, dict[str, Any]]:
        """Every document of ``table`` by key (read-only view)."""
        return self.state.rows(table)

    def keys_where(self, table: str, field: str, value: Any) -> list[Any]:
        """Keys of documents whose ``field`` equals ``value`` (hash-indexed)."""
        return self.state.keys_where(table, field, value)

    def stream_last_position(self, stream: str) -> int:
        """Position of the last event of ``stream`` (-1 when empty)."""
        return self.state.stream_last_position(stream)

    def event_count(self) -> int:
        """How many events are stored."""
        return self.state.event_count()

    def iter_events(self, **kwargs: Any) -> Iterator[dict[str, Any]]:
        """All event records in global order (see :meth:`StoreState.iter_events`)."""
        return self.state.iter_events(None, **kwargs)

    # -- the storage port: events ------------------------------------------------------

    def read_stream(self, stream: str, *, position: int = 0, limit: int | None = None) -> list[EventRecord]:
        """Events of ``stream`` from stream position ``position`` on (see :class:`StoragePort`)."""
        return [EventRecord.from_dict(r) for r in self.stream_records(stream, position=position, limit=limit)]

    def read_category(self, category: str, *, position: int = 1, limit: int | None = None) -> list[EventRecord]:
        """Events of exactly ``category`` from global position ``position`` on."""
        return [EventRecord.from_dict(r) for r in self.category_records(category, position=position, limit=limit)]

    def read_all(self, *, position: int = 1, limit: int | None = None) -> list[EventRecord]:
        """Every event from global position ``position`` on."""
        return [EventRecord.from_dict(r) for r in self.category_records(ALL, position=position, limit=limit)]

    def get_event(self, event_id: str) -> EventRecord | None:
        """The event with this id, or None."""
        record = self.event_record(event_id)
        return EventRecord.from_dict(record) if record is not None else None

    def last_position(self) -> int:
        """The global position of the newest event (0 when empty)."""
        return self.state.event_count()

    def stream_version(self, stream: str) -> int:
        """The position of the last event of ``stream`` (-1 when empty)."""
        return self.state.stream_last_position(stream)

    def streams(self, category: str | None = None) -> dict[str, int]:
        """Every stream (of exactly ``category``, if given) with its event count."""
        return dict(self.state.stream_sizes(category))

    def categories(self) -> dict[str, int]:
        """Every category with its event count."""
        return self.state.category_counts()

    def stream_counts(self) -> dict[str, int]:
        """Every category with how many streams hold its events."""
        return self.state.streams_per_category()

    def count_events(self, category: str, *, position: int = 1) -> int:
        """How many events of exactly ``category`` (all of them for ``$all``) from ``position`` on."""
        state = self.state
        if category == ALL:
            return max(state.event_count() - max(position, 1) + 1, 0)
        positions = state.category_indexes(category)
        # Event index i has global position i + 1.
        return len(positions) - bisect_left(positions, max(position, 1) - 1)

    def last_in_category(self, category: str) -> EventRecord | None:
        """The newest event of exactly ``category``, or None."""
        index = self.state.last_index_in(category)
        return EventRecord.from_dict(self.state.record(index)) if index is not None else None

    def event_types(self) -> dict[str, int]:
        """Every stored event type with its event count."""
        return self.state.event_types()

    def read_correlation(self, correlation_id: str) -> list[EventRecord]:
        """Events of one correlation, in global order."""
        record = self.state.record
        return [EventRecord.from_dict(record(i)) for i in self.state.correlation_indexes(correlation_id)]

    def find_event_ids(self, prefix: str, *, limit: int | None = None) -> list[str]:
        """Ids of events starting with ``prefix``, in global order."""
        found: list[str] = []
        for event_id in self.state.event_ids_with_prefix(prefix):
            if str(event_id).startswith(prefix):
                found.append(event_id)
                if limit is not None and len(found) >= limit:
                    break
        return found

    # Plain-dict reads for the engine's hot paths (no typed copy per event).

    def stream_records(self, stream: str, *, position: int = 0, limit: int | None = None) -> Iterator[dict[str, Any]]:
        """Like :meth:`read_stream`, as the stored plain records, lazily."""
        state = self.state
        indexes = state.stream_indexes(stream)
        start = max(position, 0)
        stop = len(indexes) if limit is None else min(len(indexes), start + max(limit, 0))
        record = state.record
        return (record(indexes[i]) for i in range(start, stop))

    def category_records(
        self, category: str, *, position: int = 1, limit: int | None = None
    ) -> Iterator[dict[str, Any]]:
        """Like :meth:`read_category` (or :meth:`read_all` for ``$all``), as plain records, lazily."""
        state = self.state
        if limit is not None:
            limit = max(limit, 0)
        if category == ALL:
            return state.iter_events(None, start_global=max(position, 1), limit=limit)
        return state.iter_events(state.category_indexes(category), start_global=max(position, 1), limit=limit)

    def event_record(self, event_id: str) -> dict[str, Any] | None:
        """Like :meth:`get_event`, as the stored plain record."""
        index = self.state.event_index(event_id)
        return self.state.record(index) if index is not None else None

    # -- the storage port: documents ---------------------------------------------------

    def find(self, table: str, field: str, value: Any) -> list[dict[str, Any]]:
        """Documents of ``table`` whose ``field`` equals ``value`` (hash-indexed)."""
        rows = self.state.rows(table)
        return [rows[key] for key in self.state.keys_where(table, field, value)]

    def scan(self, table: str) -> Iterator[dict[str, Any]]:
        """Every document of ``table`` in insertion order."""
        return iter(list(self.state.rows(table).values()))

    def count(self, table: str) -> int:
        """How many documents ``table`` holds."""
        return self.state.count(table)

    def tables(self) -> list[str]:
        """Every table that holds (or held) documents."""
        return self.state.table_names()

    def commit_count(self) -> int:
        """How many commits the store holds (this embedded store numbers them)."""
        return self.state.seq

    def refresh(self) -> None:
        """Catch up on the commits other processes (or stores on the same data) made."""
        with self._lock:
            if not self._closed:
                self.state = self.persistence.catch_up(self.state, locked=False)

    def scratch_copy(self) -> Store:
        """An in-memory copy to try changes on (``replay --dry-run``); the original is untouched."""
        with self._lock:
            state = self.state.copy()
        twin = Store(MemoryPersistence(base_seq=state.seq))
        twin.state = state
        return twin

    # -- lifecycle --------------------------------------------------------------------

    def compact(self) -> None:
        """Rewrite the snapshot now (the journal restarts empty)."""
        with self._lock:
            self.persistence.lock()
            try:
                self.state = self.persistence.catch_up(self.state, locked=True)
                self.persistence.compact(self.state)
            finally:
                self.persistence.unlock()

    def close(self) -> None:
        """Compact a large journal, then release files and the writer lock (idempotent)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            try:
                if not self.read_only and self.persistence.wants_compaction(closing=True):
                    self.persistence.lock()
                    try:
                        # Another process may have committed since: the snapshot holds it too.
                        self.state = self.persistence.catch_up(self.state, locked=True)
                        self.persistence.compact(self.state)
                    finally:
                        self.persistence.unlock()
            except (OSError, StoreError) as exc:
                # Every commit is already durable in the journal: closing still succeeds.
                log.warning(
                    "compaction of %s at close failed (%s); the commits are safe in the journal",
                    self.location,
                    getattr(exc, "strerror", None) or exc,
                )
            finally:
                self.persistence.close()
                self.state.release_files()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Store {self.location} events={self.state.event_count()}>"


def open_store(
    path: str | os.PathLike[str] | None = None,
    *,
    read_only: bool = False,
    fsync: bool | None = None,
    lock_timeout: float | None = None,
) -> Store:
    """Open the store at ``path`` (a folder), an adapter's URL, or an in-memory store when ``path`` is None.

    Args:
        path: the store folder (created on first open for writing), or a URL whose scheme
            an adapter registered with :func:`~workbench.core.store.port.register_adapter`
            (e.g. ``postgresql://host/db``); the adapter gets ``read_only`` and the URL.
        read_only: read without taking the writer lock (another process may write).
        fsync: fsync each commit; defaults to ``WORKBENCH_FSYNC=1``.
        lock_timeout: seconds to wait for another writer; defaults to
            ``WORKBENCH_LOCK_TIMEOUT`` or 5.
    """
    if path is None:
        return Store(MemoryPersistence())
    factory = adapter_for(os.fspath(path))
    if factory is not None:
        return factory(os.fspath(path), read_only=read_only)  # type: ignore[return-value]
    if fsync is None:
        fsync = os.environ.get("WORKBENCH_FSYNC", "") in ("1", "true", "yes")
    if lock_timeout is None:
        raw = os.environ.get("WORKBENCH_LOCK_TIMEOUT", "5")
        try:
            lock_timeout = float(raw)
        except ValueError:
            raise StoreError(f"WORKBENCH_LOCK_TIMEOUT must be a number of seconds, not {raw!r}") from None
    persistence = JsonFilePersistence(path, read_only=read_only, fsync=fsync, lock_timeout=lock_timeout)
    try:
        return Store(persistence)
    except BaseException:
        persistence.close()
        raise

"""The store: checked, atomic commits over in-memory state, made durable by a persistence adapter."""

from __future__ import annotations

import gc
import logging
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from workbench.core.exceptions import ExpectedVersionError, StoreError
from workbench.core.store.json_file import JsonFilePersistence
from workbench.core.store.memory import MemoryPersistence
from workbench.core.store.port import LoadReport, Persistence
from workbench.core.store.state import Op, StoreState

log = logging.getLogger("workbench.store")


@dataclass(slots=True)
class Change:
    """One document write in a commit.

    Attributes:
        table: the table, e.g. ``aggregate:order``.
        key_field: the document field holding its key.
        key: the document's key.
        doc: the new document, or None to delete it.
        expected_version: the ``_version`` the stored document must have (-1: must not
            exist); None skips the check.
        label: how errors name the document, e.g. ``Order``.
    """

    table: str
    key_field: str
    key: Any
    doc: dict[str, Any] | None
    expected_version: int | None = None
    label: str = ""


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

    def commit(self, changes: list[Change], events: list[dict[str, Any]] | None = None) -> None:
        """Check and write ``changes`` and append ``events`` as one atomic commit.

        Event records get their ``position`` and ``global_position`` here.

        Raises:
            ExpectedVersionError: a document or stream moved on since it was read.
            StoreError: the store is read-only, closed, or the disk refused the write.
        """
        events = events or []
        if not changes and not events:
            return
        with self._lock:
            if self._closed:
                raise StoreError(f"store {self.location} is closed")
            self.committing = True
            try:
                self._commit_locked(changes, events)
            except BaseException:
                for record in events:
                    record["position"] = record["global_position"] = None
                raise
            finally:
                self.committing = False
            if self.persistence.wants_compaction(closing=False):
                try:
                    self.persistence.compact(self.state)
                except OSError as exc:
                    # The commit is already durable in the journal; compaction can wait.
                    log.warning("compaction of %s failed: %s", self.location, exc.strerror or exc)

    def _commit_locked(self, changes: list[Change], events: list[dict[str, Any]]) -> None:
        state = self.state
        ops: list[Op] = []
        for change in changes:
            self._check_version(change)
            if change.doc is None:
                ops.append(["del", change.table, change.key])
            else:
                ops.append(["put", change.table, change.key_field, change.doc])
        next_global = len(state.events) + 1
        stream_heads: dict[str, int] = {}
        for record in events:
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
        return len(self.state.events)

    def iter_events(self, **kwargs: Any) -> Iterator[dict[str, Any]]:
        """All event records in global order (see :meth:`StoreState.iter_events`)."""
        return self.state.iter_events(None, **kwargs)

    def scratch_copy(self) -> Store:
        """An in-memory copy to try changes on (``replay --dry-run``); the original is untouched."""
        twin = Store(MemoryPersistence())
        twin.state = self.state.copy()
        return twin

    # -- lifecycle --------------------------------------------------------------------

    def compact(self) -> None:
        """Rewrite the snapshot now (the journal restarts empty)."""
        with self._lock:
            self.persistence.compact(self.state)

    def close(self) -> None:
        """Compact a large journal, then release files and the writer lock (idempotent)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            try:
                if not self.read_only and self.persistence.wants_compaction(closing=True):
                    self.persistence.compact(self.state)
            except (OSError, StoreError) as exc:
                # Every commit is already durable in the journal: closing still succeeds.
                log.warning(
                    "compaction of %s at close failed (%s); the commits are safe in the journal",
                    self.location,
                    getattr(exc, "strerror", None) or exc,
                )
            finally:
                self.persistence.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Store {self.location} events={len(self.state.events)}>"


def open_store(
    path: str | os.PathLike[str] | None = None,
    *,
    read_only: bool = False,
    fsync: bool | None = None,
    lock_timeout: float | None = None,
) -> Store:
    """Open the store at ``path`` (a folder), or an in-memory store when ``path`` is None.

    Args:
        path: the store folder; created on first open for writing.
        read_only: read without taking the writer lock (another process may write).
        fsync: fsync each commit; defaults to ``WORKBENCH_FSYNC=1``.
        lock_timeout: seconds to wait for another writer; defaults to
            ``WORKBENCH_LOCK_TIMEOUT`` or 5.
    """
    if path is None:
        return Store(MemoryPersistence())
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

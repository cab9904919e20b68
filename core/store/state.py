"""The store's in-memory state: tables of documents, the event log and their indexes.

Every change arrives as a list of *ops* (the same list the journal persists), so
replaying a journal and committing live go through one code path:

* ``["put", table, key_field, doc]`` inserts or replaces ``doc`` under ``doc[key_field]``;
* ``["del", table, key]`` removes a document;
* ``["ev", record]`` appends an event record whose positions are already assigned.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Hashable, Iterator, Sequence
from typing import Any

Op = list[Any]
# JSON scalars: hashable without asking the (slow) Hashable ABC.
_ATOMIC = frozenset({str, int, float, bool, type(None)})


class StoreState:
    """Documents and events in memory, with O(1) lookups by key, stream and field value."""

    def __init__(self) -> None:
        self.tables: dict[str, dict[Any, dict[str, Any]]] = {}
        self.key_fields: dict[str, str] = {}
        self.events: list[dict[str, Any]] = []
        # stream -> its event indexes: an int while it holds one event (most streams of a
        # large store do, and an int costs a tenth of an array), then an int array.
        self.streams: dict[str, int | array[int]] = {}
        self.categories: dict[str, array[int]] = {}
        self.event_ids: dict[str, int] = {}
        # category -> how many streams hold its events (kept as streams appear).
        self.stream_counts: dict[str, int] = {}
        # (table, field) -> value -> {key: None}; built on first query, kept up to date.
        self._indexes: dict[tuple[str, str], dict[Any, dict[Any, None]]] = {}
        self._indexed_fields: dict[str, list[str]] = {}
        self.seq = 0

    # -- applying changes -------------------------------------------------------------

    def apply(self, ops: list[Op]) -> None:
        """Apply one commit's ops (already validated)."""
        for op in ops:
            kind = op[0]
            if kind == "ev":
                self._append_event(op[1])
            elif kind == "put":
                self._put(op[1], op[2], op[3])
            elif kind == "del":
                self._delete(op[1], op[2])
            else:  # pragma: no cover - guarded by the journal checksum
                raise ValueError(f"unknown store op {kind!r}")

    def _append_event(self, record: dict[str, Any]) -> None:
        index = len(self.events)
        self.events.append(record)
        self.event_ids[record["id"]] = index
        # Position lists are int arrays: unlike lists, the garbage collector never has to
        # walk them, and a store has one per stream.
        name = record["stream_name"]
        stream = self.streams.get(name)
        if stream is None:
            self.streams[name] = index
            counts = self.stream_counts
            counts[record["stream_category"]] = counts.get(record["stream_category"], 0) + 1
        elif type(stream) is int:
            self.streams[name] = array("q", (stream, index))
        else:
            stream.append(index)  # type: ignore[union-attr]
        category = self.categories.get(record["stream_category"])
        if category is None:
            self.categories[record["stream_category"]] = array("q", (index,))
        else:
            category.append(index)

    def load_events(self, records: list[dict[str, Any]]) -> None:
        """Append many records at once (opening a store): one pass, arrays built at the end."""
        base = len(self.events)
        self.events.extend(records)
        ids = self.event_ids
        streams: dict[str, Any] = {}  # name -> first index, or a list once it has two
        categories: dict[str, list[int]] = {}
        counts = self.stream_counts
        known = self.streams
        for index, record in enumerate(records, base):
            ids[record["id"]] = index
            name = record["stream_name"]
            stream = streams.get(name)
            if stream is None:
                streams[name] = index
                if name not in known:
                    counts[record["stream_category"]] = counts.get(record["stream_category"], 0) + 1
            elif type(stream) is int:
                streams[name] = [stream, index]
            else:
                stream.append(index)
            category = categories.get(record["stream_category"])
            if category is None:
                categories[record["stream_category"]] = [index]
            else:
                category.append(index)
        for name, positions in streams.items():
            current = known.get(name)
            if current is None:
                known[name] = positions if type(positions) is int else array("q", positions)
            else:
                known[name] = array("q", self.stream_indexes(name)) + array(
                    "q", (positions,) if type(positions) is int else positions
                )
        for name, positions in categories.items():
            current = self.categories.get(name)
            self.categories[name] = array("q", positions) if current is None else current + array("q", positions)

    def _put(self, table: str, key_field: str, doc: dict[str, Any]) -> None:
        rows = self.tables.get(table)
        if rows is None:
            rows = self.tables[table] = {}
            self.key_fields[table] = key_field
        key = doc[key_field]
        fields = self._indexed_fields.get(table)
        if fields:
            old = rows.get(key)
            for name in fields:
                index = self._indexes[(table, name)]
                if old is not None:
                    self._unindex(index, old.get(name), key)
                self._index(index, doc.get(name), key)
        rows[key] = doc

    def _delete(self, table: str, key: Any) -> None:
        rows = self.tables.get(table)
        if rows is None:
            return
        old = rows.pop(key, None)
        if old is not None:
            for name in self._indexed_fields.get(table, ()):
                self._unindex(self._indexes[(table, name)], old.get(name), key)

    @staticmethod
    def _index(index: dict[Any, dict[Any, None]], value: Any, key: Any) -> None:
        if type(value) in _ATOMIC or isinstance(value, Hashable):
            bucket = index.get(value)
            if bucket is None:
                index[value] = {key: None}
            else:
                bucket[key] = None

    @staticmethod
    def _unindex(index: dict[Any, dict[Any, None]], value: Any, key: Any) -> None:
        if type(value) in _ATOMIC or isinstance(value, Hashable):
            bucket = index.get(value)
            if bucket is not None:
                bucket.pop(key, None)
                if not bucket:
                    del index[value]

    def copy(self) -> StoreState:
        """An independent copy (documents and records are shared: commits never mutate
        stored ones, they replace them)."""
        twin = StoreState()
        twin.tables = {name: dict(rows) for name, rows in self.tables.items()}
        twin.key_fields = dict(self.key_fields)
        twin.events = list(self.events)
        twin.streams = {name: p if type(p) is int else array("q", p) for name, p in self.streams.items()}  # type: ignore[arg-type]
        twin.categories = {name: array("q", positions) for name, positions in self.categories.items()}
        twin.event_ids = dict(self.event_ids)
        twin.stream_counts = dict(self.stream_counts)
        twin.seq = self.seq
        return twin

    # -- documents --------------------------------------------------------------------

    def get(self, table: str, key: Any) -> dict[str, Any] | None:
        """The document stored under ``key``, or None."""
        rows = self.tables.get(table)
        return rows.get(key) if rows is not None else None

    def rows(self, table: str) -> dict[Any, dict[str, Any]]:
        """All documents of ``table`` by key (do not mutate)."""
        return self.tables.get(table, {})

    def keys_where(self, table: str, field: str, value: Any) -> list[Any]:
        """Keys of the documents whose ``field`` equals ``value``, through a hash index."""
        if type(value) not in _ATOMIC and not isinstance(value, Hashable):
            return [k for k, d in self.rows(table).items() if d.get(field) == value]
        index = self._indexes.get((table, field))
        if index is None:
            index = self._build_index(table, field)
        bucket = index.get(value)
        return list(bucket) if bucket else []

    def _build_index(self, table: str, field: str) -> dict[Any, dict[Any, None]]:
        index: dict[Any, dict[Any, None]] = {}
        for key, doc in self.rows(table).items():
            self._index(index, doc.get(field), key)
        self._indexes[(table, field)] = index
        self._indexed_fields.setdefault(table, []).append(field)
        return index

    # -- events -----------------------------------------------------------------------

    def stream_last_position(self, stream: str) -> int:
        """The position of the last event in ``stream`` (-1 when it is empty)."""
        positions = self.streams.get(stream)
        if positions is None:
            return -1
        return 0 if type(positions) is int else len(positions) - 1  # type: ignore[arg-type]

    def stream_indexes(self, stream: str) -> Sequence[int]:
        """The event indexes of ``stream``, oldest first (empty when it has none)."""
        positions = self.streams.get(stream)
        if positions is None:
            return ()
        return (positions,) if type(positions) is int else positions  # type: ignore[return-value]

    def stream_sizes(self) -> Iterator[tuple[str, int, int]]:
        """``(stream, event count, index of its first event)`` for every stream."""
        for name, positions in self.streams.items():
            if type(positions) is int:
                yield name, 1, positions  # type: ignore[misc]
            else:
                yield name, len(positions), positions[0]  # type: ignore[arg-type,index]

    def iter_events(
        self, indexes: Sequence[int] | None, *, start_global: int = 1, limit: int | None = None
    ) -> Iterator[dict[str, Any]]:
        """Event records of a category index list (or all) from a global position on."""
        events = self.events
        if indexes is None:
            stop = len(events) if limit is None else min(len(events), start_global - 1 + limit)
            for i in range(max(start_global - 1, 0), stop):
                yield events[i]
            return
        first = bisect_left(indexes, start_global - 1)
        stop = len(indexes) if limit is None else min(len(indexes), first + limit)
        for i in range(first, stop):
            yield events[indexes[i]]

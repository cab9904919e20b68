"""The store's in-memory state: tables of documents, the event log and their indexes.

Every change arrives as a list of *ops* (the same list the journal persists), so
replaying a journal and committing live go through one code path:

* ``["put", table, key_field, doc]`` inserts or replaces ``doc`` under ``doc[key_field]``;
* ``["del", table, key]`` removes a document;
* ``["ev", record]`` appends an event record whose positions are already assigned.

Events compacted to disk (:class:`~workbench.core.store.segments.Segments`) are the
``base``: read on demand, never held here. ``events`` and the indexes below hold the
events committed after it (the *tail*), with global indexes. Tables written by
compaction load on first use; ops for a table not loaded yet wait for it.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Hashable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from workbench.core.store._event_summaries import EventSummaries
from workbench.core.store.table_file import UNINDEXED, TableFile

if TYPE_CHECKING:
    from workbench.core.store.segments import Segments

# A table read one document at a time this often is read whole instead.
_LOOKUPS_BEFORE_LOADING = 64

Op = list[Any]
# JSON scalars: hashable without asking the (slow) Hashable ABC.
_ATOMIC = frozenset({str, int, float, bool, type(None)})


class StoreState(EventSummaries):
    """Documents and events in memory, with O(1) lookups by key, stream and field value."""

    def __init__(self) -> None:
        self.tables: dict[str, dict[Any, dict[str, Any]]] = {}
        self.key_fields: dict[str, str] = {}
        # Tables on disk not read yet: table -> loader, and the ops waiting for it.
        self.lazy_tables: dict[str, TableFile] = {}
        self._waiting: dict[str, list[Op]] = {}
        self.lazy_counts: dict[str, int] = {}  # documents in each table not loaded yet
        # Tables changed since the last snapshot (compaction rewrites only these).
        self.dirty: set[str] = set()
        self.base: Segments | None = None
        self.base_count = 0
        self.events: list[dict[str, Any]] = []  # the tail: event index base_count + i
        # stream -> its event indexes: an int while it holds one event (most streams of a
        # large store do, and an int costs a tenth of an array), then an int array.
        self.streams: dict[str, int | array[int]] = {}
        self.categories: dict[str, array[int]] = {}
        self.event_ids: dict[str, int] = {}
        # category -> how many tail streams are new (their first event is in the tail).
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
                self.dirty.add(op[1])
                if op[1] in self.lazy_tables:
                    self._waiting.setdefault(op[1], []).append(op)
                else:
                    self._put(op[1], op[2], op[3])
            elif kind == "del":
                self.dirty.add(op[1])
                if op[1] in self.lazy_tables:
                    self._waiting.setdefault(op[1], []).append(op)
                else:
                    self._delete(op[1], op[2])
            else:  # pragma: no cover - guarded by the journal checksum
                raise ValueError(f"unknown store op {kind!r}")

    def _append_event(self, record: dict[str, Any]) -> None:
        index = self.base_count + len(self.events)
        self.events.append(record)
        self.event_ids[record["id"]] = index
        # Position lists are int arrays: unlike lists, the garbage collector never has to
        # walk them, and a store has one per stream.
        name = record["stream_name"]
        stream = self.streams.get(name)
        if stream is None:
            self.streams[name] = index
            if record["position"] == 0:
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
        base = self.base_count + len(self.events)
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
                if name not in known and record.get("position", 0) == 0:
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
                known[name] = array("q", self._tail_indexes(name)) + array(
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
        for name in list(self.lazy_tables):
            self._load_table(name)  # a scratch copy is changed freely: it needs every table
        twin.tables = {name: dict(rows) for name, rows in self.tables.items()}
        twin.key_fields = dict(self.key_fields)
        twin.base, twin.base_count = self.base, self.base_count
        twin.events = list(self.events)
        twin.streams = {name: p if type(p) is int else array("q", p) for name, p in self.streams.items()}  # type: ignore[arg-type]
        twin.categories = {name: array("q", positions) for name, positions in self.categories.items()}
        twin.event_ids = dict(self.event_ids)
        twin.stream_counts = dict(self.stream_counts)
        twin.seq = self.seq
        return twin

    def release_files(self) -> None:
        """Close the files this state reads on demand (they open again if read later)."""
        if self.base is not None:
            self.base.close()
        for lazy in self.lazy_tables.values():
            lazy.close()

    def rebase(self, base: Segments | None) -> None:
        """After compaction: the events now live in ``base``, so the tail starts empty."""
        total = self.event_count()
        self.base = base
        self.base_count = base.count if base is not None else 0
        assert self.base_count == total, (self.base_count, total)
        self.events = []
        self.streams = {}
        self.categories = {}
        self.event_ids = {}
        self.stream_counts = {}
        self.dirty = set()

    # -- documents --------------------------------------------------------------------

    def get(self, table: str, key: Any) -> dict[str, Any] | None:
        """The document stored under ``key``, or None."""
        rows = self.tables.get(table)
        if rows is None:
            lazy = self.lazy_tables.get(table)
            if lazy is None:
                return None
            if lazy.lookups < _LOOKUPS_BEFORE_LOADING:
                found = self._lookup(lazy, table, key)
                if found is not UNINDEXED:
                    return found  # type: ignore[return-value]
            rows = self._load_table(table)
        return rows.get(key)

    def _lookup(self, lazy: TableFile, table: str, key: Any) -> dict[str, Any] | object | None:
        """One document of a table not loaded: the latest waiting op for it, else its file."""
        for op in reversed(self._waiting.get(table, ())):
            if (op[0] == "put" and op[3][op[2]] == key) or (op[0] == "del" and op[2] == key):
                return op[3] if op[0] == "put" else None
        return lazy.lookup(key)

    def rows(self, table: str) -> dict[Any, dict[str, Any]]:
        """All documents of ``table`` by key (do not mutate)."""
        rows = self.tables.get(table)
        if rows is None:
            return self._load_table(table) if table in self.lazy_tables else {}
        return rows

    def count(self, table: str) -> int:
        """How many documents ``table`` holds (without loading it when the snapshot says)."""
        if table in self.lazy_tables and table not in self._waiting and table in self.lazy_counts:
            return self.lazy_counts[table]
        return len(self.rows(table))

    def table_names(self) -> list[str]:
        """Every table, loaded or not."""
        return [*self.tables, *(name for name in self.lazy_tables if name not in self.tables)]

    def _load_table(self, table: str) -> dict[Any, dict[str, Any]]:
        rows = self.tables[table] = self.lazy_tables.pop(table).load()
        for op in self._waiting.pop(table, ()):
            if op[0] == "put":
                self._put(op[1], op[2], op[3])
            else:
                self._delete(op[1], op[2])
        return rows

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

    def event_count(self) -> int:
        """How many events the store holds (compacted and tail)."""
        return self.base_count + len(self.events)

    def record(self, index: int) -> dict[str, Any]:
        """The event record at ``index`` (global position - 1)."""
        if index >= self.base_count:
            return self.events[index - self.base_count]
        assert self.base is not None
        return self.base.record(index)

    def event_index(self, event_id: str) -> int | None:
        """The index of the event with this id, or None."""
        if type(event_id) is not str:
            return None  # a commit refuses other ids
        index = self.event_ids.get(event_id)
        if index is None and self.base is not None:
            return self.base.event_index(event_id)
        return index

    def _tail_indexes(self, stream: str) -> Sequence[int]:
        positions = self.streams.get(stream)
        if positions is None:
            return ()
        return (positions,) if type(positions) is int else positions  # type: ignore[return-value]

    def stream_last_position(self, stream: str) -> int:
        """The position of the last event in ``stream`` (-1 when it is empty)."""
        positions = self.streams.get(stream)
        if positions is not None:
            # The tail's first event of the stream knows how many came before it.
            first = positions if type(positions) is int else positions[0]  # type: ignore[index]
            count = 1 if type(positions) is int else len(positions)  # type: ignore[arg-type]
            return int(self.events[first - self.base_count]["position"]) + count - 1  # type: ignore[operator]
        if self.base is None:
            return -1
        return self.base.stream_length(stream) - 1

    def stream_indexes(self, stream: str) -> Sequence[int]:
        """The event indexes of ``stream``, oldest first (empty when it has none)."""
        tail = self._tail_indexes(stream)
        if self.base is None:
            return tail
        if tail and self.events[tail[0] - self.base_count]["position"] == 0:
            return tail  # the stream began in the tail
        compacted = self.base.stream_indexes(stream)
        return [*compacted, *tail] if tail else compacted

    def category_indexes(self, category: str) -> Sequence[int]:
        """The event indexes of ``category``, oldest first."""
        tail = self.categories.get(category)
        if self.base is None or category not in self.base.summary:
            return tail if tail is not None else ()
        compacted = self.base.category_indexes(category)
        return compacted + tail if tail is not None else compacted

    def iter_events(
        self, indexes: Sequence[int] | None, *, start_global: int = 1, limit: int | None = None
    ) -> Iterator[dict[str, Any]]:
        """Event records of a category index list (or all) from a global position on."""
        if indexes is None:
            total = self.event_count()
            stop = total if limit is None else min(total, start_global - 1 + limit)
            wanted: Sequence[int] = range(max(start_global - 1, 0), stop)
        else:
            first = bisect_left(indexes, start_global - 1)
            stop = len(indexes) if limit is None else min(len(indexes), first + limit)
            wanted = indexes[first:stop]
        # Compacted events first (read in blocks), then the tail's. Both taken now: a
        # compaction while the caller iterates starts a new tail.
        base, events, base_count = self.base, self.events, self.base_count
        split = bisect_left(wanted, base_count)
        if split and base is not None:
            yield from base.records(wanted[:split])
        for i in wanted[split:]:
            yield events[i - base_count]

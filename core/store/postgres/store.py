"""The storage port on PostgreSQL: one connection, one database transaction per commit.

Every commit takes one transaction-scoped advisory lock before it checks versions and
writes. Commits therefore serialize across every process and machine that writes to the
database, which is what makes global positions gapless (``max + 1`` under the lock; a
rejected commit rolls back and uses up nothing) and a version check plus its write one
atomic step. The unique ``(stream_name, position)`` constraint still guards streams
against writers that do not take the lock.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import orjson
import psycopg
from psycopg.types.json import Jsonb
from workbench.core.exceptions import ExpectedVersionError, StoreError
from workbench.core.store.json_file import unstorable_value
from workbench.core.store.port import ALL, DocumentChange, EventRecord
from workbench.core.store.postgres.commit import COMMIT_SQL, VERSION_CONFLICT, changes_json, events_json
from workbench.core.store.postgres.schema import (
    EVENT_COLUMNS,
    connect,
    first_line,
    record_of,
    without_password,
)

if TYPE_CHECKING:
    from workbench.core.store.store import Store

def _json(value: Any) -> str:
    # orjson refuses what the embedded store refuses too (integers beyond 64 bits), so a
    # value is storable on one adapter exactly when it is on the other.
    return orjson.dumps(value).decode()


class PostgresStore:
    """A :class:`~workbench.core.store.port.StoragePort` on a PostgreSQL database.

    Reads see every committed write at once (there is no cache), so :meth:`refresh` has
    nothing to do. One connection serves every thread, one call at a time.

    Args:
        url: ``postgresql://user:password@host:port/database`` (libpq parameters such as
            ``?options=-csearch_path%3Dteam`` pick a schema).
        read_only: refuse commits.
    """

    def __init__(self, url: str, *, read_only: bool = False) -> None:
        self._location = without_password(url)
        self._read_only = read_only
        self._lock = threading.Lock()
        self._conn = connect(url)
        self._closed = False
        self.committing = False

    @property
    def location(self) -> str:
        """The URL without its password."""
        return self._location

    @property
    def read_only(self) -> bool:
        """True when commits are refused."""
        return self._read_only

    # -- the transaction boundary ----------------------------------------------------

    def commit(
        self, changes: Sequence[DocumentChange], events: Sequence[EventRecord] | Sequence[dict[str, Any]] = ()
    ) -> None:
        """Check and write ``changes`` and append ``events`` in one transaction (see the port).

        Raises:
            ExpectedVersionError: a document or stream moved on since it was read.
            ValidationError: a value JSON cannot hold.
            StoreError: read-only, closed, or the server refused the write.
        """
        given: list[Any] = list(events or ())
        if not changes and not given:
            if self._closed:
                raise StoreError(f"store {self._location} is closed")
            return
        if self._read_only:
            raise StoreError(f"store {self._location} is open read-only")
        records: list[dict[str, Any]] = [e.as_dict() if isinstance(e, EventRecord) else e for e in given]
        rows, doc_rows = self._encode(changes, records)
        with self._lock:
            if self._closed:
                raise StoreError(f"store {self._location} is closed")
            self.committing = True
            try:
                self._write(changes, records, rows, doc_rows)
            except BaseException:
                for record in records:
                    record["position"] = record["global_position"] = None
                raise
            finally:
                self.committing = False
        for one, record in zip(given, records, strict=True):
            if isinstance(one, EventRecord):
                one.position, one.global_position = record["position"], record["global_position"]

    def _encode(
        self, changes: Sequence[DocumentChange], records: list[dict[str, Any]]
    ) -> tuple[list[tuple[str, str]], list[str | None]]:
        try:
            rows = [(_json(r["data"]), _json(r.get("metadata") or {})) for r in records]
            docs = [None if c.doc is None else _json(c.doc) for c in changes]
        except (orjson.JSONEncodeError, TypeError) as exc:
            ops: list[Any] = [["ev", r] for r in records]
            ops += [["put", c.table, c.key_field, c.doc] for c in changes if c.doc is not None]
            raise unstorable_value(ops, exc) from None
        return rows, docs

    def _write(
        self,
        changes: Sequence[DocumentChange],
        records: list[dict[str, Any]],
        rows: list[tuple[str, str]],
        docs: list[str | None],
    ) -> None:
        # One statement on an autocommit connection: one round trip, one transaction (see commit.py).
        try:
            found = self._conn.execute(COMMIT_SQL, (changes_json(changes, docs), events_json(records, rows))).fetchone()
            for record, (position, global_position) in zip(records, found[0] if found else [], strict=True):
                record["position"], record["global_position"] = position, global_position
        except psycopg.errors.UniqueViolation as exc:
            # Only a writer that skipped the commit lock can get here (another tool).
            raise ExpectedVersionError(
                f"Wrong expected version: another writer got there first ({first_line(exc)})"
            ) from None
        except psycopg.DataError as exc:
            raise unstorable_value([["ev", r] for r in records], exc) from None
        except psycopg.Error as exc:
            if exc.sqlstate == VERSION_CONFLICT:
                raise ExpectedVersionError(first_line(exc)) from None
            raise StoreError(f"PostgreSQL at {self._location} refused the commit: {first_line(exc)}") from None

    # -- plumbing for reads ----------------------------------------------------------

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            if self._closed:
                raise StoreError(f"store {self._location} is closed")
            try:
                return self._conn.execute(sql, params).fetchall()
            except psycopg.Error as exc:
                raise StoreError(f"PostgreSQL at {self._location} failed a read: {first_line(exc)}") from None

    def _scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        rows = self._query(sql, params)
        return rows[0][0] if rows else None

    @staticmethod
    def _limit(limit: int | None) -> str:
        return "" if limit is None else f" LIMIT {max(int(limit), 0)}"

    # -- events: plain records (the engine's hot paths) --------------------------------

    def stream_records(self, stream: str, *, position: int = 0, limit: int | None = None) -> Iterator[dict[str, Any]]:
        """Events of ``stream`` from stream position ``position`` on, as plain records."""
        rows = self._query(
            f"SELECT {EVENT_COLUMNS} FROM messages WHERE stream_name = %s AND position >= %s"
            f" ORDER BY position{self._limit(limit)}",
            (stream, position),
        )
        return iter([record_of(row) for row in rows])

    def category_records(
        self, category: str, *, position: int = 1, limit: int | None = None
    ) -> Iterator[dict[str, Any]]:
        """Events of exactly ``category`` (every event for ``$all``) from a global position on."""
        if category == ALL:
            sql, params = "global_position >= %s", (position,)
        else:
            sql, params = "stream_category = %s AND global_position >= %s", (category, position)  # type: ignore[assignment]
        rows = self._query(
            f"SELECT {EVENT_COLUMNS} FROM messages WHERE {sql} ORDER BY global_position{self._limit(limit)}", params
        )
        return iter([record_of(row) for row in rows])

    def event_record(self, event_id: str) -> dict[str, Any] | None:
        """The event with this id as a plain record, or None."""
        rows = self._query(f"SELECT {EVENT_COLUMNS} FROM messages WHERE id = %s", (event_id,))
        return record_of(rows[0]) if rows else None

    # -- events: the port -------------------------------------------------------------

    def read_stream(self, stream: str, *, position: int = 0, limit: int | None = None) -> list[EventRecord]:
        """Events of ``stream`` from stream position ``position`` on."""
        return [EventRecord.from_dict(r) for r in self.stream_records(stream, position=position, limit=limit)]

    def read_category(self, category: str, *, position: int = 1, limit: int | None = None) -> list[EventRecord]:
        """Events of exactly ``category`` from global position ``position`` on."""
        return [EventRecord.from_dict(r) for r in self.category_records(category, position=position, limit=limit)]

    def read_all(self, *, position: int = 1, limit: int | None = None) -> list[EventRecord]:
        """Every event from global position ``position`` on."""
        return self.read_category(ALL, position=position, limit=limit)

    def get_event(self, event_id: str) -> EventRecord | None:
        """The event with this id, or None."""
        record = self.event_record(event_id)
        return EventRecord.from_dict(record) if record is not None else None

    def last_position(self) -> int:
        """The newest global position (0 when empty)."""
        return int(self._scalar("SELECT coalesce(max(global_position), 0) FROM messages"))

    def event_count(self) -> int:
        """How many events are stored (positions are gapless: the last one)."""
        return self.last_position()

    def stream_version(self, stream: str) -> int:
        """The last position of ``stream`` (-1 when empty)."""
        return int(self._scalar("SELECT coalesce(max(position), -1) FROM messages WHERE stream_name = %s", (stream,)))

    stream_last_position = stream_version

    def streams(self, category: str | None = None) -> dict[str, int]:
        """Streams (of exactly ``category``) with their event counts, by first event."""
        where, params = ("WHERE stream_category = %s", (category,)) if category is not None else ("", ())
        rows = self._query(
            f"SELECT stream_name, count(*) FROM messages {where} GROUP BY stream_name ORDER BY min(global_position)",
            params,
        )
        return {name: count for name, count in rows}

    def categories(self) -> dict[str, int]:
        """Categories with their event counts, by first event."""
        rows = self._query(
            "SELECT stream_category, count(*) FROM messages GROUP BY stream_category ORDER BY min(global_position)"
        )
        return {name: count for name, count in rows}

    def stream_counts(self) -> dict[str, int]:
        """Categories with how many streams hold their events."""
        rows = self._query(
            "SELECT stream_category, count(DISTINCT stream_name) FROM messages GROUP BY stream_category"
            " ORDER BY min(global_position)"
        )
        return {name: count for name, count in rows}

    def count_events(self, category: str, *, position: int = 1) -> int:
        """Events of exactly ``category`` (every event for ``$all``) at or after ``position``."""
        if category == ALL:
            return int(self._scalar("SELECT count(*) FROM messages WHERE global_position >= %s", (position,)))
        return int(
            self._scalar(
                "SELECT count(*) FROM messages WHERE stream_category = %s AND global_position >= %s",
                (category, position),
            )
        )

    def last_in_category(self, category: str) -> EventRecord | None:
        """The newest event of exactly ``category``, or None."""
        rows = self._query(
            f"SELECT {EVENT_COLUMNS} FROM messages WHERE stream_category = %s ORDER BY global_position DESC LIMIT 1",
            (category,),
        )
        return EventRecord.from_dict(record_of(rows[0])) if rows else None

    def event_types(self) -> dict[str, int]:
        """Event types with their counts."""
        return {name: count for name, count in self._query("SELECT type, count(*) FROM messages GROUP BY type")}

    def read_correlation(self, correlation_id: str) -> list[EventRecord]:
        """Events of one correlation, in global order."""
        rows = self._query(
            f"SELECT {EVENT_COLUMNS} FROM messages WHERE metadata->>'correlation_id' = %s ORDER BY global_position",
            (correlation_id,),
        )
        return [EventRecord.from_dict(record_of(row)) for row in rows]

    def find_event_ids(self, prefix: str, *, limit: int | None = None) -> list[str]:
        """Ids starting with ``prefix``, in global order."""
        pattern = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        rows = self._query(
            f"SELECT id FROM messages WHERE id LIKE %s ORDER BY global_position{self._limit(limit)}", (pattern,)
        )
        return [row[0] for row in rows]

    # -- documents ---------------------------------------------------------------------

    def get(self, table: str, key: Any) -> dict[str, Any] | None:
        """The document under ``key``, or None."""
        rows = self._query("SELECT doc FROM documents WHERE tbl = %s AND key = %s::jsonb", (table, _json(key)))
        return rows[0][0] if rows else None

    def find(self, table: str, field: str, value: Any) -> list[dict[str, Any]]:
        """Documents whose ``field`` equals ``value`` (GIN-indexed containment), in insertion order."""
        if value is None:
            # A missing field counts as None (as in the embedded store); containment cannot say "missing".
            sql = "SELECT doc FROM documents WHERE tbl = %s AND coalesce(doc->%s, 'null'::jsonb) = 'null'::jsonb"
            return [row[0] for row in self._query(sql + " ORDER BY seq", (table, field))]
        sql = "SELECT doc FROM documents WHERE tbl = %s AND doc @> %s ORDER BY seq"
        return [row[0] for row in self._query(sql, (table, Jsonb({field: value})))]

    def keys_where(self, table: str, field: str, value: Any) -> list[Any]:
        """Keys of the documents :meth:`find` returns."""
        if value is None:
            sql = "SELECT key FROM documents WHERE tbl = %s AND coalesce(doc->%s, 'null'::jsonb) = 'null'::jsonb"
            return [row[0] for row in self._query(sql + " ORDER BY seq", (table, field))]
        sql = "SELECT key FROM documents WHERE tbl = %s AND doc @> %s ORDER BY seq"
        return [row[0] for row in self._query(sql, (table, Jsonb({field: value})))]

    def rows(self, table: str) -> Mapping[Any, dict[str, Any]]:
        """Every document of ``table`` by key, in insertion order.

        Lazy: the engine takes this view to look up the few keys an index probe found, so a
        lookup reads one row; iterating reads the whole table once.
        """
        return _Rows(self, table)

    def scan(self, table: str) -> Iterator[dict[str, Any]]:
        """Every document of ``table`` in insertion order."""
        return iter([row[0] for row in self._query("SELECT doc FROM documents WHERE tbl = %s ORDER BY seq", (table,))])

    def count(self, table: str) -> int:
        """How many documents ``table`` holds."""
        return int(self._scalar("SELECT count(*) FROM documents WHERE tbl = %s", (table,)))

    def tables(self) -> list[str]:
        """Every table holding documents."""
        return [row[0] for row in self._query("SELECT DISTINCT tbl FROM documents ORDER BY tbl")]

    # -- lifecycle -----------------------------------------------------------------------

    def commit_count(self) -> int:
        """How many commits the database holds, by every writer (empty commits do not count)."""
        return int(self._scalar("SELECT commits FROM store_info"))

    def refresh(self) -> None:
        """Nothing to do: every read asks the server."""

    def scratch_copy(self) -> Store:
        """An in-memory copy of everything stored, to try changes on (``replay --dry-run``,
        rebuilds, idempotency checks); the database is untouched."""
        from workbench.core.store.memory import MemoryPersistence
        from workbench.core.store.store import Store

        docs = self._query("SELECT tbl, key_field, key, doc FROM documents ORDER BY seq")
        # Appended in global order, every event gets its position again and passes its check.
        records = list(self.category_records(ALL))
        twin = Store(MemoryPersistence())
        twin.commit([DocumentChange(tbl, field, key, doc) for tbl, field, key, doc in docs], records)
        return twin

    def close(self) -> None:
        """Close the connection (idempotent)."""
        with self._lock:
            if not self._closed:
                self._closed = True
                self._conn.close()


class _Rows(Mapping[Any, dict[str, Any]]):
    """The documents of one table by key, read from the server when first needed."""

    def __init__(self, store: PostgresStore, table: str) -> None:
        self._store, self._table = store, table
        self._all: dict[Any, dict[str, Any]] | None = None

    def _load(self) -> dict[Any, dict[str, Any]]:
        if self._all is None:
            found = self._store._query("SELECT key, doc FROM documents WHERE tbl = %s ORDER BY seq", (self._table,))
            self._all = {key: doc for key, doc in found}
        return self._all

    def __getitem__(self, key: Any) -> dict[str, Any]:
        doc = self._all.get(key) if self._all is not None else self._store.get(self._table, key)
        if doc is None:
            raise KeyError(key)
        return doc

    def __iter__(self) -> Iterator[Any]:
        return iter(self._load())

    def __len__(self) -> int:
        return len(self._load())

"""The PostgreSQL adapter of the storage port (psycopg 3).

Events live in a ``messages`` table laid out like Protean's message store (id,
stream_name, type, position, global_position, data, metadata, time), plus the category
and kind the port keeps with each event. ``(stream_name, position)`` is unique, so even
a writer that bypasses this adapter cannot fork a stream. Documents live in ``documents``
as JSONB under ``(tbl, key)``, with a GIN index that serves ``find``.

Every commit is one transaction that first takes a transaction-scoped advisory lock:
commits from every process and machine are serialised, so the global positions they
assign are gapless and the version checks they make see every earlier commit. Readers
take no lock. psycopg is imported when the first ``postgresql://`` store is opened; its
absence is a one-line :class:`StoreError` naming the extra to install.

The URL may carry ``?schema=NAME`` to keep a store in its own schema (created on first
open), so several stores can share one database.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import orjson
from workbench.core.exceptions import ExpectedVersionError, StoreError, ValidationError
from workbench.core.store._postgres_engine import EngineReads
from workbench.core.store.port import ALL, DocumentChange, EventRecord

_COMMIT_LOCK = 0x77_6F_72_6B  # the advisory lock every commit holds ("work")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    global_position bigint PRIMARY KEY,
    position bigint NOT NULL,
    id text NOT NULL UNIQUE,
    stream_name text NOT NULL,
    category text NOT NULL,
    type text NOT NULL,
    kind text NOT NULL DEFAULT 'EVENT',
    data jsonb NOT NULL,
    metadata jsonb NOT NULL,
    time text NOT NULL,
    UNIQUE (stream_name, position)
);
CREATE INDEX IF NOT EXISTS messages_category ON messages (category, global_position);
CREATE INDEX IF NOT EXISTS messages_type ON messages (type);
CREATE INDEX IF NOT EXISTS messages_correlation ON messages ((metadata->>'correlation_id'));
CREATE INDEX IF NOT EXISTS messages_id_prefix ON messages (id text_pattern_ops);
CREATE TABLE IF NOT EXISTS documents (
    tbl text NOT NULL,
    key jsonb NOT NULL,
    seq bigserial,
    doc jsonb NOT NULL,
    PRIMARY KEY (tbl, key)
);
CREATE INDEX IF NOT EXISTS documents_order ON documents (tbl, seq);
CREATE INDEX IF NOT EXISTS documents_fields ON documents USING gin (doc jsonb_path_ops);
CREATE TABLE IF NOT EXISTS document_tables (name text PRIMARY KEY, key_field text NOT NULL DEFAULT 'id');
"""

_EVENT_COLUMNS = "id, type, stream_name, category, data, metadata, time, kind, position, global_position"


def _split_url(url: str) -> tuple[str, str | None]:
    """The connection URL without ``schema=``, and the schema it named (if any)."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    schema = next((value for name, value in query if name == "schema"), None)
    rest = urlencode([(name, value) for name, value in query if name != "schema"])
    return urlunsplit(parts._replace(query=rest)), schema


def without_password(url: str) -> str:
    """``url`` with its password (if any) left out, for messages and ``location``."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"{parts.username}@{netloc}"))


def _json(value: Any, field: str) -> str:
    try:
        return orjson.dumps(value).decode()
    except (orjson.JSONEncodeError, TypeError) as exc:
        raise ValidationError({field: [f"cannot be stored: {exc}"]}) from None


def _record(row: tuple[Any, ...]) -> EventRecord:
    return EventRecord(row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7], row[8], row[9])


class PostgresStore(EngineReads):
    """A :class:`~workbench.core.store.port.StoragePort` on a PostgreSQL database (plus the engine's extra reads)."""

    def __init__(self, url: str, *, read_only: bool = False) -> None:
        try:
            import psycopg
            from psycopg.types.json import set_json_loads
        except ImportError:
            raise StoreError("a postgresql:// store needs psycopg: pip install 'workbench[postgres]'") from None
        self._psycopg = psycopg
        self._url = url
        self._read_only = read_only
        self._lock = threading.RLock()
        self._closed = False
        self._known_tables: set[str] = set()
        self._pending_tables: list[str] = []
        conninfo, schema = _split_url(url)
        try:
            self._conn = psycopg.connect(conninfo, autocommit=True, connect_timeout=10)
        except psycopg.Error as exc:
            reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
            raise StoreError(f"cannot open the PostgreSQL store at {self.location}: {reason}") from None
        except Exception as exc:  # a malformed URL is refused by libpq's parser
            raise StoreError(f"bad PostgreSQL URL {self.location!r}: {exc}") from None
        set_json_loads(orjson.loads, self._conn)
        try:
            with self._conn.transaction():
                self._conn.execute("SELECT pg_advisory_xact_lock(%s)", (_COMMIT_LOCK,))
                if schema:
                    self._conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
                    self._conn.execute(f'SET search_path TO "{schema}"')
                if not read_only:
                    self._conn.execute(_SCHEMA)
        except psycopg.Error as exc:
            self._conn.close()
            raise StoreError(f"the PostgreSQL store at {self.location} cannot be set up: {exc}") from None

    # -- properties --------------------------------------------------------------------

    @property
    def location(self) -> str:
        """The URL without its password."""
        return without_password(self._url)

    @property
    def read_only(self) -> bool:
        """True when commits are refused."""
        return self._read_only

    # -- plumbing ----------------------------------------------------------------------

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            if self._closed:
                raise StoreError(f"the store at {self.location} is closed")
            try:
                return self._conn.execute(sql, params).fetchall()
            except self._psycopg.errors.UndefinedTable:
                return []  # a read-only instance on a database nobody has written yet
            except self._psycopg.Error as exc:
                raise StoreError(f"PostgreSQL at {self.location}: {exc}") from None

    def _events(
        self, where: str, params: Sequence[Any], limit: int | None, order: str = "global_position"
    ) -> list[EventRecord]:
        sql = f"SELECT {_EVENT_COLUMNS} FROM messages WHERE {where} ORDER BY {order}"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return [_record(row) for row in self._rows(sql, params)]

    # -- the transaction boundary ------------------------------------------------------

    def _commit_records(self, changes: Sequence[DocumentChange], events: Sequence[EventRecord]) -> None:
        """Write ``changes`` and append ``events`` in one transaction (see the module docstring)."""
        if self._read_only:
            raise StoreError(f"the store at {self.location} is open read-only")
        if not changes and not events:
            if self._closed:
                raise StoreError(f"the store at {self.location} is closed")
            return
        docs = [(c, None if c.doc is None else _json(c.doc, str(c.key))) for c in changes]
        bodies = [(_json(e.data, "data"), _json(e.metadata, "metadata")) for e in events]
        with self._lock:
            if self._closed:
                raise StoreError(f"the store at {self.location} is closed")
            self._pending_tables = []
            try:
                with self._conn.transaction(), self._conn.cursor() as cur:
                    cur.execute("SELECT pg_advisory_xact_lock(%s)", (_COMMIT_LOCK,))
                    self._write_documents(cur, docs)
                    positions = self._append(cur, events, bodies)
            except (ExpectedVersionError, ValidationError):
                raise
            except self._psycopg.errors.UniqueViolation as exc:
                raise ExpectedVersionError(f"a concurrent writer got there first: {exc.diag.message_primary}") from None
            except (self._psycopg.errors.DataException, self._psycopg.errors.UntranslatableCharacter) as exc:
                raise ValidationError({"value": [f"cannot be stored: {exc.diag.message_primary}"]}) from None
            except self._psycopg.Error as exc:
                raise StoreError(f"PostgreSQL at {self.location} refused the commit: {exc}") from None
            self._known_tables.update(self._pending_tables)
        for record, (position, global_position) in zip(events, positions, strict=True):
            record.position, record.global_position = position, global_position

    def _write_documents(self, cur: Any, docs: list[tuple[DocumentChange, str | None]]) -> None:
        tables = sorted(
            {(c.table, c.key_field) for c, body in docs if body is not None and c.table not in self._known_tables}
        )
        if tables:
            cur.executemany(
                "INSERT INTO document_tables (name, key_field) VALUES (%s, %s) ON CONFLICT DO NOTHING", tables
            )
            # Remembered only once the commit is in (a rolled-back insert would otherwise be skipped).
            self._pending_tables = [table for table, _ in tables]
        for change, body in docs:
            key = orjson.dumps(change.key).decode()
            if change.expected_version is not None:
                row = cur.execute(
                    "SELECT doc->'_version' FROM documents WHERE tbl = %s AND key = %s::jsonb",
                    (change.table, key),
                ).fetchone()
                stored = None if row is None else row[0]
                if (change.expected_version == -1 and row is not None) or (
                    change.expected_version != -1 and stored != change.expected_version
                ):
                    name = change.label or change.table
                    raise ExpectedVersionError(
                        f"{name} {change.key!r} is at version {stored if row else 'none'}, "
                        f"not {change.expected_version}"
                    )
            if body is None:
                cur.execute("DELETE FROM documents WHERE tbl = %s AND key = %s::jsonb", (change.table, key))
            else:
                cur.execute(
                    "INSERT INTO documents (tbl, key, doc) VALUES (%s, %s::jsonb, %s::jsonb) "
                    "ON CONFLICT (tbl, key) DO UPDATE SET doc = EXCLUDED.doc",
                    (change.table, key, body),
                )

    def _append(self, cur: Any, events: Sequence[EventRecord], bodies: list[tuple[str, str]]) -> list[tuple[int, int]]:
        if not events:
            return []
        (last,) = cur.execute("SELECT coalesce(max(global_position), 0) FROM messages").fetchone()
        versions: dict[str, int] = {}
        positions = []
        rows = []
        for record, (data, metadata) in zip(events, bodies, strict=True):
            stream = record.stream_name
            if stream not in versions:
                (found,) = cur.execute(
                    "SELECT coalesce(max(position), -1) FROM messages WHERE stream_name = %s", (stream,)
                ).fetchone()
                versions[stream] = found
            expected = (record.metadata or {}).get("expected_version")
            if expected is not None and expected != versions[stream]:
                raise ExpectedVersionError(
                    f"stream {stream} is at version {versions[stream]}, not the expected {expected}"
                )
            versions[stream] += 1
            last += 1
            positions.append((versions[stream], last))
            rows.append(
                (last, versions[stream], record.id, stream, record.stream_category, record.type, record.kind,
                 data, metadata, record.time)
            )  # fmt: skip
        cur.executemany(
            "INSERT INTO messages (global_position, position, id, stream_name, category, type, kind, data, "
            "metadata, time) VALUES (%s, %s, %s, %s, %s, %s, %s, %s::jsonb, %s::jsonb, %s)",
            rows,
        )
        return positions

    # -- events ------------------------------------------------------------------------

    def read_stream(self, stream: str, *, position: int = 0, limit: int | None = None) -> list[EventRecord]:
        """Events of ``stream`` from stream position ``position``."""
        return self._events("stream_name = %s AND position >= %s", (stream, position), limit, order="position")

    def read_category(self, category: str, *, position: int = 1, limit: int | None = None) -> list[EventRecord]:
        """Events of exactly ``category`` (``$all``: every event) from global position ``position``."""
        if category == ALL:
            return self.read_all(position=position, limit=limit)
        return self._events("category = %s AND global_position >= %s", (category, position), limit)

    def read_all(self, *, position: int = 1, limit: int | None = None) -> list[EventRecord]:
        """Every event from global position ``position``."""
        return self._events("global_position >= %s", (position,), limit)

    def get_event(self, event_id: str) -> EventRecord | None:
        """The event with this id, or None."""
        found = self._events("id = %s", (event_id,), 1)
        return found[0] if found else None

    def last_position(self) -> int:
        """The newest global position (0 when empty)."""
        rows = self._rows("SELECT coalesce(max(global_position), 0) FROM messages")
        return int(rows[0][0]) if rows else 0

    def stream_version(self, stream: str) -> int:
        """The last position of ``stream`` (-1 when empty)."""
        rows = self._rows("SELECT coalesce(max(position), -1) FROM messages WHERE stream_name = %s", (stream,))
        return int(rows[0][0]) if rows else -1

    def streams(self, category: str | None = None) -> dict[str, int]:
        """Streams (of exactly ``category``) with their event counts, by first event."""
        where, params = ("WHERE category = %s", (category,)) if category is not None else ("", ())
        sql = f"SELECT stream_name, count(*) FROM messages {where} GROUP BY stream_name ORDER BY min(global_position)"
        return {name: int(n) for name, n in self._rows(sql, params)}

    def categories(self) -> dict[str, int]:
        """Categories with their event counts, by first event."""
        sql = "SELECT category, count(*) FROM messages GROUP BY category ORDER BY min(global_position)"
        return {name: int(n) for name, n in self._rows(sql)}

    def stream_counts(self) -> dict[str, int]:
        """Categories with how many streams hold their events."""
        sql = (
            "SELECT category, count(DISTINCT stream_name) FROM messages GROUP BY category ORDER BY min(global_position)"
        )
        return {name: int(n) for name, n in self._rows(sql)}

    def count_events(self, category: str, *, position: int = 1) -> int:
        """Events of exactly ``category`` (``$all``: all) from global position ``position``."""
        if category == ALL:
            rows = self._rows("SELECT count(*) FROM messages WHERE global_position >= %s", (position,))
        else:
            rows = self._rows(
                "SELECT count(*) FROM messages WHERE category = %s AND global_position >= %s", (category, position)
            )
        return int(rows[0][0]) if rows else 0

    def last_in_category(self, category: str) -> EventRecord | None:
        """The newest event of exactly ``category``."""
        found = self._events("category = %s", (category,), 1, order="global_position DESC")
        return found[0] if found else None

    def event_types(self) -> dict[str, int]:
        """Event types with their counts."""
        return {name: int(n) for name, n in self._rows("SELECT type, count(*) FROM messages GROUP BY type")}

    def read_correlation(self, correlation_id: str) -> list[EventRecord]:
        """Events of one correlation, in global order."""
        return self._events("metadata->>'correlation_id' = %s", (correlation_id,), None)

    def find_event_ids(self, prefix: str, *, limit: int | None = None) -> list[str]:
        """Ids starting with ``prefix``, in global order."""
        pattern = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        sql = "SELECT id FROM messages WHERE id LIKE %s ORDER BY global_position"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return [row[0] for row in self._rows(sql, (pattern,))]

    # -- documents ---------------------------------------------------------------------

    def get(self, table: str, key: Any) -> dict[str, Any] | None:
        """The document under ``key``."""
        rows = self._rows(
            "SELECT doc FROM documents WHERE tbl = %s AND key = %s::jsonb", (table, orjson.dumps(key).decode())
        )
        return rows[0][0] if rows else None

    def find(self, table: str, field: str, value: Any) -> list[dict[str, Any]]:
        """Documents whose ``field`` equals ``value`` (a missing field equals None), by insertion."""
        return [row[0] for row in self._where_field("doc", table, field, value)]

    def _where_field(self, column: str, table: str, field: str, value: Any) -> list[tuple[Any, ...]]:
        if value is None:
            test, params = "coalesce(doc->%s, 'null'::jsonb) = 'null'::jsonb", [field]
        else:
            # Containment finds candidates through the GIN index; equality keeps only exact matches.
            test = "doc @> %s::jsonb AND doc->%s = %s::jsonb"
            params = [_json({field: value}, field), field, _json(value, field)]
        return self._rows(f"SELECT {column} FROM documents WHERE tbl = %s AND {test} ORDER BY seq", [table, *params])

    def scan(self, table: str) -> Iterator[dict[str, Any]]:
        """Every document of ``table``, by insertion."""
        return iter([row[0] for row in self._rows("SELECT doc FROM documents WHERE tbl = %s ORDER BY seq", (table,))])

    def count(self, table: str) -> int:
        """How many documents ``table`` holds."""
        rows = self._rows("SELECT count(*) FROM documents WHERE tbl = %s", (table,))
        return int(rows[0][0]) if rows else 0

    def _documents_with_keys(self, table: str) -> list[tuple[Any, dict[str, Any]]]:
        return [
            (row[0], row[1])
            for row in self._rows("SELECT key, doc FROM documents WHERE tbl = %s ORDER BY seq", (table,))
        ]

    def _key_field(self, table: str) -> str:
        rows = self._rows("SELECT key_field FROM document_tables WHERE name = %s", (table,))
        return str(rows[0][0]) if rows else "id"

    def _keys(self, table: str, field: str, value: Any) -> list[Any]:
        return [row[0] for row in self._where_field("key", table, field, value)]

    def tables(self) -> list[str]:
        """Every table that holds or held documents."""
        return [row[0] for row in self._rows("SELECT name FROM document_tables ORDER BY name")]

    # -- lifecycle ---------------------------------------------------------------------

    def refresh(self) -> None:
        """Nothing to catch up on: every read asks the server."""

    def close(self) -> None:
        """Close the connection (idempotent)."""
        with self._lock:
            if not self._closed:
                self._closed = True
                self._conn.close()


def open_postgres(url: str, *, read_only: bool = False) -> PostgresStore:
    """Open the PostgreSQL store at ``url`` (the factory registered for ``postgresql://``)."""
    return PostgresStore(url, read_only=read_only)

"""The PostgreSQL tables of the store, and how a connection to them is opened.

Events live in ``messages``, in the layout of the message store Protean's own event
store uses (id, stream_name, type, position, global_position, data, metadata, time), so
streams written by other tools can be read; three columns are added: ``stream_category``
(stored, never re-derived: ``order-lines-7`` has category ``order-lines``), ``kind``
(EVENT or COMMAND) and the ``time`` is kept as the ISO text it was raised with, so it
reads back exactly as written. Documents live in ``documents``, one JSONB row per key.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

from workbench.core.exceptions import StoreError

COMMIT_LOCK = 0x776F726B62656E63
"""The advisory lock key every commit holds (``workbench`` in hex, cut to 64 bits): commits
serialize on it, so global positions are assigned gaplessly as max + 1 and version checks
and writes are one atomic step, whichever machine commits."""

SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    global_position bigint PRIMARY KEY,
    position bigint NOT NULL,
    id text NOT NULL UNIQUE,
    stream_name text NOT NULL,
    stream_category text NOT NULL,
    type text NOT NULL,
    kind text NOT NULL DEFAULT 'EVENT',
    data jsonb NOT NULL,
    metadata jsonb NOT NULL,
    time text NOT NULL,
    -- optimistic concurrency for writers that do not take the commit lock (other tools)
    CONSTRAINT messages_stream_position UNIQUE (stream_name, position)
);
CREATE INDEX IF NOT EXISTS messages_category ON messages (stream_category, global_position);
CREATE INDEX IF NOT EXISTS messages_correlation ON messages ((metadata->>'correlation_id'), global_position);
CREATE INDEX IF NOT EXISTS messages_id_prefix ON messages (id text_pattern_ops);

CREATE SEQUENCE IF NOT EXISTS documents_seq;
CREATE TABLE IF NOT EXISTS documents (
    tbl text NOT NULL,
    key jsonb NOT NULL,
    -- insertion order: set when a key is first written, kept by updates
    seq bigint NOT NULL DEFAULT nextval('documents_seq'),
    doc jsonb NOT NULL,
    key_field text NOT NULL DEFAULT 'id',
    PRIMARY KEY (tbl, key)
);
CREATE INDEX IF NOT EXISTS documents_order ON documents (tbl, seq);
-- find(table, field, value) is `doc @> {field: value}`: one GIN index serves every field.
CREATE INDEX IF NOT EXISTS documents_fields ON documents USING gin (doc jsonb_path_ops) WITH (fastupdate = off);
-- Commits are numbered store-wide (deterministic ids derive from the count, see commit_count).
CREATE TABLE IF NOT EXISTS store_info (id int PRIMARY KEY, commits bigint NOT NULL);
INSERT INTO store_info VALUES (1, 0) ON CONFLICT DO NOTHING;
"""

EVENT_COLUMNS = "id, type, kind, stream_name, stream_category, position, global_position, time, data, metadata"
"""The ``messages`` columns :func:`record_of` reads, in its order."""


def record_of(row: tuple[Any, ...]) -> dict[str, Any]:
    """The plain event record (``EventRecord.as_dict()`` shape) of a ``messages`` row."""
    return {
        "id": row[0],
        "type": row[1],
        "kind": row[2],
        "stream_name": row[3],
        "stream_category": row[4],
        "position": row[5],
        "global_position": row[6],
        "time": row[7],
        "data": row[8],
        "metadata": row[9],
    }


def without_password(url: str) -> str:
    """``url`` with its password removed (for messages and :attr:`location`)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    user = f"{parts.username}@" if parts.username else ""
    return urlunsplit((parts.scheme, user + host, parts.path, parts.query, parts.fragment))


def connect(url: str) -> Any:
    """An autocommit psycopg connection to ``url``, with the tables created if missing.

    Raises:
        StoreError: psycopg is not installed, the URL is malformed, the server is down or
            refuses the credentials (one line naming the server).
    """
    try:
        import orjson
        import psycopg
        from psycopg.types.json import set_json_loads
    except ImportError:
        raise StoreError(
            "a postgresql:// store needs psycopg: pip install 'workbench[postgres]' (psycopg[binary]>=3)"
        ) from None
    shown = without_password(url)
    try:
        conn = psycopg.connect(url, autocommit=True, connect_timeout=10)
    except psycopg.ProgrammingError as exc:
        raise StoreError(f"bad PostgreSQL URL {shown}: {first_line(exc)}") from None
    except psycopg.OperationalError as exc:
        raise StoreError(f"cannot connect to PostgreSQL at {shown}: {first_line(exc)}") from None
    # orjson parses JSONB several times faster than the json module.
    set_json_loads(orjson.loads, conn)
    try:
        with conn.transaction():
            # Several processes may create the tables at once: serialize on the commit lock.
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (COMMIT_LOCK,))
            conn.execute(SCHEMA)
            from workbench.core.store.postgres.commit import FUNCTION

            conn.execute(FUNCTION)
    except psycopg.Error as exc:
        conn.close()
        raise StoreError(f"cannot create the store's tables at {shown}: {first_line(exc)}") from None
    return conn


def first_line(exc: BaseException) -> str:
    """The first non-blank line of ``exc``'s message (libpq's messages run over several)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__

"""The write half of a PostgreSQL commit, run inside its transaction under the commit lock."""

from __future__ import annotations

from typing import Any

import psycopg
from workbench.core.exceptions import ExpectedVersionError
from workbench.core.store.port import DocumentChange

_INSERT_EVENT = (
    "INSERT INTO messages (global_position, position, id, stream_name, stream_category, type, kind, data,"
    " metadata, time) VALUES (%s, %s, %s, %s, %s, %s, %s, %s::jsonb, %s::jsonb, %s)"
)


def check_document(cur: psycopg.Cursor[Any], change: DocumentChange, key: str) -> None:
    """Raise ExpectedVersionError unless the stored document has ``change``'s expected ``_version``."""
    expected = change.expected_version
    if expected is None:
        return
    cur.execute(
        "SELECT coalesce((doc->>'_version')::bigint, 0) FROM documents WHERE tbl = %s AND key = %s::jsonb",
        (change.table, key),
    )
    found = cur.fetchone()
    current = -1 if found is None else found[0]
    if current != expected:
        raise ExpectedVersionError(
            f"Wrong expected version: {expected} "
            f"(Aggregate: {change.label or change.table}({change.key}), Version: {current})"
        )


def append_events(cur: psycopg.Cursor[Any], records: list[dict[str, Any]], rows: list[tuple[str, str]]) -> None:
    """Check each event's expected stream version, assign its positions in place and insert it.

    Runs under the commit lock: ``max + 1`` cannot race another commit, so positions stay gapless.
    """
    cur.execute("SELECT coalesce(max(global_position), 0) FROM messages")
    found = cur.fetchone()
    next_global = (found[0] if found else 0) + 1
    heads: dict[str, int] = {}
    params = []
    for record, (data, metadata) in zip(records, rows, strict=True):
        stream = record["stream_name"]
        head = heads.get(stream)
        if head is None:
            cur.execute("SELECT coalesce(max(position), -1) FROM messages WHERE stream_name = %s", (stream,))
            got = cur.fetchone()
            head = got[0] if got else -1
        expected = (record.get("metadata") or {}).get("expected_version")
        if expected is not None and expected != head:
            raise ExpectedVersionError(f"Wrong expected version: {expected} (Stream: {stream}, Stream Version: {head})")
        heads[stream] = head + 1
        record["position"], record["global_position"] = head + 1, next_global
        next_global += 1
        params.append(
            (
                record["global_position"],
                record["position"],
                record["id"],
                stream,
                record["stream_category"],
                record["type"],
                record.get("kind", "EVENT"),
                data,
                metadata,
                record.get("time", ""),
            )
        )
    cur.executemany(_INSERT_EVENT, params)

"""A PostgreSQL commit in one round trip: the server-side function ``workbench_commit``.

The client sends the whole commit (document changes and events, as two JSON arrays) in
one ``SELECT workbench_commit(...)`` on an autocommit connection, so the statement is its
own transaction. The function takes the commit lock, counts the commit, checks every
expected version, writes the documents, assigns the events' positions (``max + 1`` under
the lock: gapless) and inserts them, and returns the positions it assigned. A failed
version check raises SQLSTATE ``WB409`` with the same message the embedded store gives,
and the whole statement rolls back.

Before this, a commit took 6-8 round trips (BEGIN, lock, counter, a version check and a
write per document, the global and stream heads, the insert, COMMIT).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
from workbench.core.store.port import DocumentChange
from workbench.core.store.postgres.schema import COMMIT_LOCK

VERSION_CONFLICT = "WB409"
"""The SQLSTATE ``workbench_commit`` raises when an expected version does not match."""

COMMIT_SQL = "SELECT workbench_commit(%s::jsonb, %s::jsonb)"

FUNCTION = f"""
CREATE OR REPLACE FUNCTION workbench_commit(changes jsonb, events jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $fn$
DECLARE
    c jsonb;
    e jsonb;
    found_version bigint;
    next_global bigint;
    head bigint;
    heads jsonb := '{{}}'::jsonb;
    positions jsonb := '[]'::jsonb;
BEGIN
    PERFORM pg_advisory_xact_lock({COMMIT_LOCK});
    UPDATE store_info SET commits = commits + 1;
    FOR c IN SELECT value FROM jsonb_array_elements(changes) LOOP
        IF c->>'e' IS NOT NULL THEN
            SELECT coalesce((doc->>'_version')::bigint, 0) INTO found_version
                FROM documents WHERE tbl = c->>'t' AND key = c->'k';
            IF NOT FOUND THEN found_version := -1; END IF;
            IF found_version <> (c->>'e')::bigint THEN
                RAISE EXCEPTION USING ERRCODE = '{VERSION_CONFLICT}', MESSAGE = format(
                    'Wrong expected version: %s (Aggregate: %s, Version: %s)', c->>'e', c->>'w', found_version);
            END IF;
        END IF;
        IF c->>'d' IS NULL THEN
            DELETE FROM documents WHERE tbl = c->>'t' AND key = c->'k';
        ELSE
            INSERT INTO documents (tbl, key, doc, key_field) VALUES (c->>'t', c->'k', c->'d', c->>'f')
                ON CONFLICT (tbl, key) DO UPDATE SET doc = EXCLUDED.doc, key_field = EXCLUDED.key_field;
        END IF;
    END LOOP;
    IF jsonb_array_length(events) = 0 THEN
        RETURN '[]'::jsonb;
    END IF;
    SELECT coalesce(max(global_position), 0) + 1 INTO next_global FROM messages;
    FOR e IN SELECT value FROM jsonb_array_elements(events) LOOP
        IF heads ? (e->>'s') THEN
            head := (heads->>(e->>'s'))::bigint;
        ELSE
            SELECT coalesce(max(position), -1) INTO head FROM messages WHERE stream_name = e->>'s';
        END IF;
        IF e->>'x' IS NOT NULL AND (e->>'x')::bigint <> head THEN
            RAISE EXCEPTION USING ERRCODE = '{VERSION_CONFLICT}', MESSAGE = format(
                'Wrong expected version: %s (Stream: %s, Stream Version: %s)', e->>'x', e->>'s', head);
        END IF;
        INSERT INTO messages (global_position, position, id, stream_name, stream_category, type, kind, data,
                              metadata, time)
            VALUES (next_global, head + 1, e->>'i', e->>'s', e->>'c', e->>'y', e->>'k', e->'d', e->'m', e->>'t');
        heads := heads || jsonb_build_object(e->>'s', head + 1);
        positions := positions || jsonb_build_array(jsonb_build_array(head + 1, next_global));
        next_global := next_global + 1;
    END LOOP;
    RETURN positions;
END
$fn$;
"""


def _j(value: Any) -> str:
    return orjson.dumps(value).decode()


def changes_json(changes: Sequence[DocumentChange], docs: Sequence[str | None]) -> str:
    """The document changes as the JSON array ``workbench_commit`` takes.

    ``docs`` are the documents already encoded one by one (so a value is storable exactly
    when the embedded store can store it); they are spliced in, not encoded again.
    """
    parts = []
    for change, doc in zip(changes, docs, strict=True):
        expected = change.expected_version
        who = f"{change.label or change.table}({change.key})"
        parts.append(
            f'{{"t":{_j(change.table)},"k":{_j(change.key)},"f":{_j(change.key_field)},'
            f'"e":{_j(expected)},"w":{_j(who)},"d":{"null" if doc is None else doc}}}'
        )
    return "[" + ",".join(parts) + "]"


def events_json(records: Sequence[dict[str, Any]], rows: Sequence[tuple[str, str]]) -> str:
    """The events as the JSON array ``workbench_commit`` takes (data and metadata already encoded)."""
    parts = []
    for record, (data, metadata) in zip(records, rows, strict=True):
        expected = (record.get("metadata") or {}).get("expected_version")
        parts.append(
            f'{{"i":{_j(record["id"])},"s":{_j(record["stream_name"])},"c":{_j(record["stream_category"])},'
            f'"y":{_j(record["type"])},"k":{_j(record.get("kind", "EVENT"))},"t":{_j(record.get("time", ""))},'
            f'"x":{_j(expected)},"d":{data},"m":{metadata}}}'
        )
    return "[" + ",".join(parts) + "]"

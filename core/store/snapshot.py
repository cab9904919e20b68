"""The snapshot file's format: TinyDB's storage layout plus a ``_meta`` table."""

from __future__ import annotations

from typing import Any

from workbench.core.store.state import StoreState

FORMAT_VERSION = 1
EVENTS_TABLE = "events"
META_TABLE = "_meta"


def missing_commits(snapshot_seq: int, base_seq: int) -> str:
    """What is wrong when the journal starts after the last commit the snapshot holds."""
    return (
        f"the journal starts after seq {base_seq} but the snapshot holds only seq {snapshot_seq}, so commits "
        f"{snapshot_seq + 1}..{base_seq} are missing (the snapshot is older than the journal)"
    )


def tinydb_document(state: StoreState) -> dict[str, Any]:
    """The whole state in TinyDB's storage format: ``{table: {doc_id: document}}``.

    Events are the ``events`` table (doc_id = global position); the ``_meta`` table
    records the format and the last commit it holds.
    """
    data: dict[str, Any] = {
        META_TABLE: {"1": {"format": FORMAT_VERSION, "seq": state.seq, "tables": state.key_fields}},
        EVENTS_TABLE: {str(i + 1): record for i, record in enumerate(state.events)},
    }
    for table, rows in state.tables.items():
        data[table] = {str(i + 1): doc for i, doc in enumerate(rows.values())}
    return data

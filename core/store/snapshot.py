"""The snapshot: what compaction writes, and how a store opens it without reading it all.

Format 2 (written now)::

    snapshot.json          TinyDB's layout holding only a ``_meta`` table: the format, the last
                           commit it holds, each table's key field and file, and the manifest
                           of the event files (how many events, how many bytes of each file)
    tables/<n>.<seq>.json  one table per file, in TinyDB's layout ({table: {doc_id: doc}});
                           rewritten only when the table changed since the last compaction
    events/                the events, appended to (see :mod:`workbench.core.store.segments`)

Format 1 (older stores, still read, and rewritten as format 2 by the first writer):
``snapshot.json`` held every table and the ``events`` table.

Each step of a compaction leaves the store readable: event files grow past what the
published manifest records (readers stop there), new table files get new names, and
``snapshot.json`` is replaced atomically last; old table files go once nothing points at
them (a process that opened them before keeps reading them).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from workbench.core.exceptions import StoreCorruptError, StoreFormatError
from workbench.core.store import segments, table_file
from workbench.core.store._files import write_atomically
from workbench.core.store.segments import Segments
from workbench.core.store.state import StoreState
from workbench.core.store.table_file import TableFile

FORMAT_VERSION = 2
EVENTS_TABLE = "events"
META_TABLE = "_meta"
TABLES = "tables"


class SnapshotMoved(StoreCorruptError):
    """A table file named by the snapshot was gone: another process compacted; read again.

    Raised to the user only when reading again finds the same file missing (lost, not moved).
    """

    def __init__(self, path: Path) -> None:
        super().__init__(f"table file {path} named by the snapshot is missing; the store was left untouched")
        self.path = path


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
        EVENTS_TABLE: {str(i + 1): state.record(i) for i in range(state.event_count())},
    }
    for table in state.table_names():
        data[table] = {str(i + 1): doc for i, doc in enumerate(state.rows(table).values())}
    return data


# -- opening ----------------------------------------------------------------------------

_EVENT_KEYS = ("id", "stream_name", "stream_category")


@dataclass
class Opened:
    """What :func:`load` found."""

    seq: int
    table_bytes: int  # what rewriting the tables would cost: compaction weighs the journal against it
    old_format: bool  # a format-1 snapshot with content: the first writer rewrites it


def load(folder: Path, raw: bytes, state: StoreState) -> Opened:
    """Fill ``state`` from the snapshot bytes ``raw`` (format 1 whole, format 2 on demand).

    Raises:
        StoreCorruptError: the snapshot (or a file it names) is damaged; nothing is changed.
        StoreFormatError: a format newer than this version knows.
        SnapshotMoved: another process compacted meanwhile; read again.
    """
    path = folder / "snapshot.json"
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise StoreCorruptError(f"snapshot {path} is damaged ({exc}); the store was left untouched") from None
    try:
        meta = data[META_TABLE]["1"]
        version = meta["format"]
        seq = meta["seq"]
    except (KeyError, TypeError) as exc:
        missing = f"no {exc.args[0]!r}" if isinstance(exc, KeyError) else "not a TinyDB document"
        raise StoreCorruptError(
            f"snapshot {path} is damaged (its _meta table has {missing}); the store was left untouched"
        ) from None
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise StoreFormatError(
            f"store {folder} has format {version!r}, newer than this workbench "
            f"understands ({FORMAT_VERSION}); upgrade workbench to open it"
        )
    old = False
    try:
        if version >= 2:
            size = open_format_2(folder, state, meta)
        else:
            _fill_format_1(state, data, meta)
            old, size = bool(state.events or state.tables), len(raw)
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        what = f"a document without {exc.args[0]!r}" if isinstance(exc, KeyError) else f"the wrong shape ({exc})"
        raise StoreCorruptError(f"snapshot {path} is damaged ({what}); the store was left untouched") from None
    if not isinstance(seq, int):
        raise StoreCorruptError(f"snapshot {path} is damaged (seq {seq!r}); the store was left untouched")
    state.seq = seq
    return Opened(seq, size, old)


def _fill_format_1(state: StoreState, data: dict[str, Any], meta: dict[str, Any]) -> None:
    key_fields: dict[str, str] = meta.get("tables", {})
    events = list(data.get(EVENTS_TABLE, {}).values())
    try:
        state.load_events(events)
    except KeyError:
        # Only now look for the culprit, so that a healthy open pays nothing for it.
        for index, record in enumerate(events, 1):
            for key in _EVENT_KEYS:
                if key not in record:
                    raise KeyError(f"{key} (event {index})") from None
        raise
    for table, docs in data.items():
        if table in (META_TABLE, EVENTS_TABLE):
            continue
        key_field = key_fields.get(table)
        if key_field is None:
            raise ValueError(f"table {table!r} has no key field")
        for doc in docs.values():
            if key_field not in doc:
                raise KeyError(f"{key_field} (table {table})")
            state._put(table, key_field, doc)


# -- format 2: opening ----------------------------------------------------------------


def open_format_2(folder: Path, state: StoreState, meta: dict[str, Any]) -> int:
    """Point ``state`` at the snapshot's files (reading none of them yet); returns the bytes of its tables.

    Raises:
        SnapshotMoved: a table file is gone (another process compacted meanwhile).
        StoreCorruptError: an event file is shorter than the snapshot records.
    """
    manifest = meta.get("events") or segments.empty_manifest()
    events_folder = folder / segments.FOLDER
    for name, size in manifest["sizes"].items():
        try:
            actual = os.stat(events_folder / name).st_size
        except FileNotFoundError:
            actual = -1
        if actual < size:
            what = "is missing" if actual < 0 else f"holds {actual} bytes"
            raise StoreCorruptError(
                f"{events_folder / name} {what} where the snapshot records {size}; the store was left untouched"
            )
    if manifest["count"]:
        state.base = Segments(events_folder, manifest)
        state.base_count = manifest["count"]
    total = 0
    key_fields: dict[str, str] = meta["tables"]
    counts: dict[str, int] = meta.get("table_counts", {})
    for table, file_name in meta.get("table_files", {}).items():
        path = folder / TABLES / file_name
        try:
            handle = open(path, "rb")  # noqa: SIM115 - kept open: the loader may run after the file is replaced
        except FileNotFoundError:
            raise SnapshotMoved(path) from None
        total += os.fstat(handle.fileno()).st_size
        if table in counts:
            state.lazy_counts[table] = counts[table]
        state.key_fields[table] = key_fields[table]
        state.lazy_tables[table] = TableFile(handle, path, table, key_fields[table])
    for table, key_field in key_fields.items():
        if table not in state.lazy_tables:
            state.key_fields[table] = key_field
            state.tables.setdefault(table, {})
    return total


# -- format 2: writing ----------------------------------------------------------------


def read_meta(folder: Path) -> dict[str, Any] | None:
    """The published snapshot's ``_meta`` (None without one); call with the writer lock held."""
    try:
        raw = (folder / "snapshot.json").read_bytes()
    except FileNotFoundError:
        return None
    meta: dict[str, Any] = orjson.loads(raw)[META_TABLE]["1"]
    return meta


def write(folder: Path, state: StoreState) -> int:
    """Write ``state`` as a format-2 snapshot (the writer lock held); returns its tables' bytes.

    Appends the events the published snapshot lacks, rewrites only changed tables, then
    publishes the new ``snapshot.json`` and removes table files nothing points at. Rebases
    ``state`` on the new event files.
    """
    published = read_meta(folder)
    if published is not None and published.get("format") != FORMAT_VERSION:
        published = None  # a format-1 snapshot: everything is written anew
    manifest = (published or {}).get("events") or segments.empty_manifest()
    events_folder = folder / segments.FOLDER
    on_disk = manifest["count"]
    total = state.event_count()
    if on_disk > total:
        raise StoreCorruptError(f"store {folder} holds {on_disk} compacted events, more than the {total} read")
    base = Segments(events_folder, manifest) if on_disk else None
    new_records = [state.record(i) for i in range(on_disk, total)]
    manifest = segments.append(events_folder, manifest, new_records, base)
    if base is not None:
        base.close()
    files: dict[str, str] = dict((published or {}).get("table_files", {}))
    counts: dict[str, int] = dict((published or {}).get("table_counts", {}))
    numbers = [int(name.split(".", 1)[0]) for name in files.values()]
    next_number = max(numbers, default=0) + 1
    (folder / TABLES).mkdir(exist_ok=True)
    for table in state.table_names():
        if table in files and table not in state.dirty:
            continue
        number = int(files[table].split(".", 1)[0]) if table in files else next_number
        next_number = max(next_number, number + 1)
        name = f"{number}.{state.seq}.json"
        rows = state.rows(table)
        table_file.write(folder / TABLES / name, table, rows)
        files[table] = name
        counts[table] = len(rows)
    for table in list(files):
        if table not in state.key_fields:
            del files[table]
            counts.pop(table, None)
    meta = {
        "format": FORMAT_VERSION,
        "seq": state.seq,
        "tables": dict(state.key_fields),
        "table_files": files,
        "table_counts": {table: counts[table] for table in files if table in counts},
        "events": manifest,
    }
    write_atomically(folder / "snapshot.json", orjson.dumps({META_TABLE: {"1": meta}}))
    keep = set(files.values())
    size = 0
    for path in (folder / TABLES).iterdir():
        if path.name in keep:
            size += path.stat().st_size
        elif ".json" in path.name and path.name[: path.name.index(".json") + 5] not in keep:
            path.unlink(missing_ok=True)  # readers that opened it keep their descriptor
    state.rebase(Segments(events_folder, manifest) if manifest["count"] else None)
    return size

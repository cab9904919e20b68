"""The store as a TinyDB database, for ad-hoc queries with TinyDB's ``Query`` API.

The snapshot on disk is in TinyDB's format, but it only holds what the last
compaction wrote; the commits after it live in the journal. :func:`open_tinydb`
therefore reads both (without the writer lock) and serves the whole current state
from TinyDB's in-memory storage, so a query never misses a recent commit and can
never write to the store.
"""

from __future__ import annotations

import os

from tinydb import TinyDB
from tinydb.storages import MemoryStorage
from workbench.core.exceptions import StoreError
from workbench.core.store.snapshot import tinydb_document
from workbench.core.store.store import open_store


def open_tinydb(path: str | os.PathLike[str]) -> TinyDB:
    """Open the store folder at ``path`` as a read-only TinyDB snapshot of its current state.

    Tables: ``events`` (one document per stored message, doc_id = global position),
    one ``aggregate:<name>`` table per aggregate, and ``_meta``.

    Args:
        path: a store folder, e.g. ``.workbench``.

    Raises:
        StoreError: no store at ``path``, or the store cannot be read.

    Example:
        >>> from tinydb import Query
        >>> db = open_tinydb(".workbench")
        >>> db.table("events").search(Query().type == "Shop.OrderShipped.v1")
    """
    if not os.path.isdir(path):
        raise StoreError(f"no store at {os.fspath(path)}")
    with open_store(path, read_only=True) as store:
        document = tinydb_document(store.state)
    db = TinyDB(storage=MemoryStorage)
    db.storage.write(document)
    return db

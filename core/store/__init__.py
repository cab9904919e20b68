"""Storage: the :class:`Store` and its persistence adapters."""

# Registers the postgresql:// adapter (psycopg itself is imported only when one is opened).
import workbench.core.store.postgres  # noqa: F401
from workbench.core.store.durability import LoadReport, Persistence
from workbench.core.store.json_file import JsonFilePersistence
from workbench.core.store.memory import MemoryPersistence
from workbench.core.store.port import ALL, DocumentChange, EventRecord, StoragePort, register_adapter
from workbench.core.store.store import Change, Store, open_store

__all__ = [
    "ALL",
    "Change",
    "DocumentChange",
    "EventRecord",
    "JsonFilePersistence",
    "LoadReport",
    "MemoryPersistence",
    "Persistence",
    "StoragePort",
    "Store",
    "open_store",
    "register_adapter",
]

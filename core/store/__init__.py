"""Storage: the :class:`Store` and its persistence adapters."""

from workbench.core.store.durability import LoadReport, Persistence
from workbench.core.store.json_file import JsonFilePersistence
from workbench.core.store.memory import MemoryPersistence
from workbench.core.store.port import ALL, DocumentChange, EventRecord, StoragePort, register_adapter

# The PostgreSQL adapter imports psycopg only when a postgresql:// store is opened.
from workbench.core.store.postgres import open_postgres
from workbench.core.store.store import Change, Store, open_store

register_adapter("postgresql", open_postgres)
register_adapter("postgres", open_postgres)

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

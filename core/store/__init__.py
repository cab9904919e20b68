"""Storage: the :class:`Store` and its persistence adapters."""

from core.store.json_file import JsonFilePersistence
from core.store.memory import MemoryPersistence
from core.store.port import LoadReport, Persistence
from core.store.store import Change, Store, open_store

__all__ = [
    "Change",
    "JsonFilePersistence",
    "LoadReport",
    "MemoryPersistence",
    "Persistence",
    "Store",
    "open_store",
]

"""Storage: the :class:`Store` and its persistence adapters."""

from workbench.core.store.json_file import JsonFilePersistence
from workbench.core.store.memory import MemoryPersistence
from workbench.core.store.port import LoadReport, Persistence
from workbench.core.store.store import Change, Store, open_store

__all__ = [
    "Change",
    "JsonFilePersistence",
    "LoadReport",
    "MemoryPersistence",
    "Persistence",
    "Store",
    "open_store",
]

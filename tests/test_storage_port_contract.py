"""The storage port's contract (``workbench.core.store.contract``) against the shipped adapters."""

from __future__ import annotations

from pathlib import Path

import pytest
from workbench.core.store import JsonFilePersistence, MemoryPersistence, Store
from workbench.core.store.contract import StorageContract
from workbench.core.store.port import StoragePort


class TestMemoryStore(StorageContract):
    def make_store(self) -> StoragePort:
        self.persistence = MemoryPersistence()
        return Store(self.persistence)

    def open_again(self, store: StoragePort) -> StoragePort:
        return Store(self.persistence)


class TestJsonFileStore(StorageContract):
    @pytest.fixture(autouse=True)
    def _folder(self, tmp_path: Path) -> None:
        self.folder = tmp_path / "store"

    def make_store(self) -> StoragePort:
        return Store(JsonFilePersistence(self.folder, lock_timeout=0.2))

    def open_again(self, store: StoragePort) -> StoragePort:
        return Store(JsonFilePersistence(self.folder, lock_timeout=0.2))

    def compact(self, store: StoragePort) -> None:
        assert isinstance(store, Store)
        store.compact()


def test_the_shipped_store_is_a_storage_port() -> None:
    assert isinstance(Store(MemoryPersistence()), StoragePort)

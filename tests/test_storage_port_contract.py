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


def _not_yet(name: str) -> None:
    inherited = getattr(StorageContract, name)

    def test(self: TestJsonFileStore) -> None:
        inherited(self)

    test.__name__ = name
    setattr(TestJsonFileStore, name, pytest.mark.xfail(strict=True, reason="one writer process per store")(test))


for _name in (
    "test_a_second_instance_sees_committed_data",
    "test_instances_see_each_others_commits_after_refresh",
    "test_a_stale_stream_version_is_rejected_across_instances",
    "test_a_stale_document_version_is_rejected_across_instances",
    "test_two_writers_interleave_without_gaps_or_losses",
    "test_a_rejected_commit_leaves_no_gap_for_the_other_writer",
    "test_readers_keep_working_across_a_compaction",
    "test_a_compaction_by_the_other_writer_loses_nothing",
):
    _not_yet(_name)

"""The contract every storage adapter passes: subclass :class:`StorageContract` in a test module.

Example::

    from workbench.core.store.contract import StorageContract

    class TestMyAdapter(StorageContract):
        def make_store(self):
            return MyAdapter(self.url)          # a fresh, empty store
        def open_again(self, store):
            return MyAdapter(self.url)          # another instance on the same data

Hooks:

* :meth:`StorageContract.make_store` (required): a new, empty store for one test;
* :meth:`StorageContract.open_again`: a second, independent instance on the same data,
  as another process would open it (tests of several writers skip without it);
* :meth:`StorageContract.compact`: rewrite the stored history in place (skipped when the
  adapter has nothing to compact).

Stores are closed after each test. pytest must be installed (the module imports it).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from workbench.core.exceptions import ExpectedVersionError, StoreError, ValidationError
from workbench.core.store.port import DocumentChange, EventRecord, StoragePort

__all__ = ["StorageContract", "event"]


def event(stream: str, n: int = 0, *, expected: int | None = None, category: str | None = None) -> EventRecord:
    """A test event on ``stream`` (category: the part before the last ``-``, unless given)."""
    return EventRecord(
        id=f"{stream}#{n}",
        type="Test.Happened.v1",
        stream_name=stream,
        stream_category=category if category is not None else stream.rpartition("-")[0],
        data={"n": n},
        metadata={"expected_version": expected},
        time="2026-01-01T00:00:00+00:00",
    )


def put(table: str, doc: dict[str, Any], *, expected: int | None = None) -> DocumentChange:
    """A change storing ``doc`` under its ``id``."""
    return DocumentChange(table, "id", doc["id"], doc, expected_version=expected, label=table)


def delete(table: str, key: Any, *, expected: int | None = None) -> DocumentChange:
    """A change deleting the document under ``key``."""
    return DocumentChange(table, "id", key, None, expected_version=expected, label=table)


class StorageContract:
    """Abstract pytest class: every ``test_*`` runs against the adapter of the subclass."""

    __test__ = False  # only concrete subclasses are collected

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.__test__ = True

    # -- hooks --------------------------------------------------------------------------

    def make_store(self) -> StoragePort:
        """A fresh, empty store (override)."""
        raise NotImplementedError

    def open_again(self, store: StoragePort) -> StoragePort:
        """Another instance on ``store``'s data, as a second process would open it."""
        pytest.skip("this adapter has no second instance")

    def compact(self, store: StoragePort) -> None:
        """Rewrite ``store``'s history in place (e.g. snapshot and truncate a journal)."""
        pytest.skip("this adapter has nothing to compact")

    # -- plumbing -----------------------------------------------------------------------

    @pytest.fixture(autouse=True)
    def _close_stores(self) -> Iterator[None]:
        self._opened: list[StoragePort] = []
        yield
        for store in reversed(self._opened):
            store.close()

    def new(self) -> StoragePort:
        store = self.make_store()
        self._opened.append(store)
        return store

    def second(self, store: StoragePort) -> StoragePort:
        other = self.open_again(store)
        self._opened.append(other)
        return other

    # -- events -------------------------------------------------------------------------

    def test_an_empty_store_has_nothing(self) -> None:
        store = self.new()
        assert store.last_position() == 0
        assert store.read_all() == []
        assert store.stream_version("order-1") == -1
        assert store.categories() == {} and store.streams() == {}
        assert store.get_event("nope") is None

    def test_commit_assigns_gapless_positions_in_place(self) -> None:
        store = self.new()
        first, second, third = event("order-1", 0), event("order-1", 1), event("order-2", 0)
        store.commit([], [first, second])
        store.commit([], [third])
        assert [(e.position, e.global_position) for e in (first, second, third)] == [(0, 1), (1, 2), (0, 3)]
        assert [(e.id, e.position, e.global_position) for e in store.read_all()] == [
            ("order-1#0", 0, 1),
            ("order-1#1", 1, 2),
            ("order-2#0", 0, 3),
        ]
        assert store.last_position() == 3 and store.stream_version("order-1") == 1

    def test_records_round_trip_every_field(self) -> None:
        store = self.new()
        record = event("order-1", 0)
        record.data = {"name": "Zoë ☕", "lines": [{"sku": "A", "qty": 2}], "none": None, "big": 2**62, "f": 1.5}
        record.metadata = {"expected_version": None, "correlation_id": "c-1", "causation_id": None}
        store.commit([], [record])
        (read,) = store.read_stream("order-1")
        assert read == record

    def test_a_rejected_commit_uses_up_no_position(self) -> None:
        store = self.new()
        store.commit([], [event("order-1", 0, expected=-1)])
        stale = event("order-1", 1, expected=-1)
        with pytest.raises(ExpectedVersionError):
            store.commit([put("t", {"id": "a", "_version": 0})], [event("order-2", 0), stale])
        assert stale.position is None and stale.global_position is None
        assert store.get("t", "a") is None and store.stream_version("order-2") == -1
        ok = event("order-3", 0)
        store.commit([], [ok])
        assert ok.global_position == 2
        assert [e.global_position for e in store.read_all()] == [1, 2]

    def test_expected_version_of_a_stream(self) -> None:
        store = self.new()
        store.commit([], [event("order-1", 0, expected=-1)])
        store.commit([], [event("order-1", 1, expected=0), event("order-1", 2, expected=1)])
        with pytest.raises(ExpectedVersionError):
            store.commit([], [event("order-1", 3, expected=1)])
        assert store.stream_version("order-1") == 2

    def test_a_document_version_conflict_writes_nothing(self) -> None:
        store = self.new()
        store.commit([put("t", {"id": "a", "_version": 0}, expected=-1)])
        with pytest.raises(ExpectedVersionError):
            store.commit([put("t", {"id": "a", "_version": 1}, expected=-1)], [event("order-1", 0)])
        with pytest.raises(ExpectedVersionError):
            store.commit([put("t", {"id": "b", "_version": 0}), put("t", {"id": "a", "_version": 1}, expected=5)])
        assert store.get("t", "b") is None and store.read_all() == []
        store.commit([put("t", {"id": "a", "_version": 1}, expected=0)])
        assert store.get("t", "a") == {"id": "a", "_version": 1}

    def test_read_stream_from_a_position_with_a_limit(self) -> None:
        store = self.new()
        store.commit([], [event("order-1", n) for n in range(5)] + [event("order-2", 0)])
        assert [e.position for e in store.read_stream("order-1", position=2)] == [2, 3, 4]
        assert [e.position for e in store.read_stream("order-1", position=1, limit=2)] == [1, 2]
        assert store.read_stream("order-1", position=9) == []
        assert store.read_stream("order-9") == []

    def test_categories_match_exactly(self) -> None:
        store = self.new()
        store.commit(
            [],
            [
                event("order-1", 0),
                event("order-lines-1", 0),
                event("orders-1", 0),
                event("reorder-1", 0),
                event("order-2", 0),
            ],
        )
        assert [e.stream_name for e in store.read_category("order")] == ["order-1", "order-2"]
        assert [e.stream_name for e in store.read_category("order-lines")] == ["order-lines-1"]
        assert store.read_category("ord") == []
        assert store.categories() == {"order": 2, "order-lines": 1, "orders": 1, "reorder": 1}
        assert store.streams("order") == {"order-1": 1, "order-2": 1}
        assert store.streams("order-lines") == {"order-lines-1": 1}
        assert store.stream_counts() == {"order": 2, "order-lines": 1, "orders": 1, "reorder": 1}

    def test_read_category_and_all_from_a_global_position(self) -> None:
        store = self.new()
        store.commit([], [event("a-1", 0), event("b-1", 0), event("a-1", 1), event("a-2", 0)])
        assert [e.global_position for e in store.read_category("a", position=2)] == [3, 4]
        assert [e.global_position for e in store.read_category("a", position=1, limit=2)] == [1, 3]
        assert [e.global_position for e in store.read_all(position=2, limit=2)] == [2, 3]
        assert store.read_all(position=5) == []

    def test_get_event_by_id(self) -> None:
        store = self.new()
        store.commit([], [event("order-1", 0), event("order-1", 1)])
        found = store.get_event("order-1#1")
        assert found is not None and found.position == 1 and found.global_position == 2

    def test_counts_lasts_types_and_correlations(self) -> None:
        store = self.new()
        first, second, third = event("a-1", 0), event("b-1", 0), event("a-2", 0)
        first.metadata["correlation_id"] = third.metadata["correlation_id"] = "c-1"
        second.type = "Test.Other.v1"
        store.commit([], [first, second, third])
        assert store.count_events("a") == 2 and store.count_events("a", position=2) == 1
        assert store.count_events("$all", position=2) == 2 and store.count_events("zzz") == 0
        last = store.last_in_category("a")
        assert last is not None and last.id == "a-2#0" and store.last_in_category("zzz") is None
        assert store.event_types() == {"Test.Happened.v1": 2, "Test.Other.v1": 1}
        assert [e.id for e in store.read_correlation("c-1")] == ["a-1#0", "a-2#0"]
        assert store.find_event_ids("a-") == ["a-1#0", "a-2#0"]
        assert store.find_event_ids("a-", limit=1) == ["a-1#0"] and store.find_event_ids("x") == []

    def test_tables_lists_what_holds_documents(self) -> None:
        store = self.new()
        store.commit([put("one", {"id": 1}), put("two", {"id": 2})])
        assert sorted(store.tables()) == ["one", "two"]

    def test_streams_in_order_of_first_event(self) -> None:
        store = self.new()
        store.commit([], [event("b-2", 0), event("a-1", 0), event("b-2", 1)])
        assert list(store.streams().items()) == [("b-2", 2), ("a-1", 1)]
        assert list(store.categories().items()) == [("b", 2), ("a", 1)]

    def test_commits_from_many_threads_stay_gapless(self) -> None:
        store = self.new()

        def write(n: int) -> None:
            for i in range(20):
                store.commit([], [event(f"t{n}-1", i)])

        threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert [e.global_position for e in store.read_all()] == list(range(1, 81))
        assert all(store.stream_version(f"t{n}-1") == 19 for n in range(4))

    def test_an_unstorable_value_is_refused_and_nothing_is_written(self) -> None:
        store = self.new()
        bad = event("order-1", 0)
        bad.data = {"huge": 2**70}
        with pytest.raises(ValidationError):
            store.commit([put("t", {"id": "a"})], [bad])
        assert store.read_all() == [] and store.get("t", "a") is None
        store.commit([], [event("order-1", 0)])
        assert store.last_position() == 1

    # -- documents ----------------------------------------------------------------------

    def test_get_put_and_delete(self) -> None:
        store = self.new()
        store.commit([put("t", {"id": "a", "v": 1}), put("t", {"id": 7, "v": 2})])
        assert store.get("t", "a") == {"id": "a", "v": 1} and store.get("t", 7) == {"id": 7, "v": 2}
        store.commit([delete("t", "a")])
        assert store.get("t", "a") is None and store.count("t") == 1
        store.commit([delete("t", "never-there"), delete("no-table", 1)])
        assert store.get("u", "a") is None and store.count("u") == 0

    def test_find_keeps_its_index_up_to_date(self) -> None:
        store = self.new()
        store.commit([put("t", {"id": k, "colour": "red"}) for k in "abc"])
        assert [d["id"] for d in store.find("t", "colour", "red")] == ["a", "b", "c"]
        store.commit([put("t", {"id": "b", "colour": "blue"})])
        assert [d["id"] for d in store.find("t", "colour", "red")] == ["a", "c"]
        assert [d["id"] for d in store.find("t", "colour", "blue")] == ["b"]
        store.commit([delete("t", "a")])
        assert [d["id"] for d in store.find("t", "colour", "red")] == ["c"]
        store.commit([put("t", {"id": "d"})])
        assert store.find("t", "colour", None) == [{"id": "d"}]
        assert store.find("t", "colour", "green") == [] and store.find("nope", "colour", "red") == []

    def test_scan_and_count(self) -> None:
        store = self.new()
        store.commit([put("t", {"id": k, "n": i}) for i, k in enumerate("cab")])
        store.commit([put("t", {"id": "a", "n": 9})])
        assert [d["id"] for d in store.scan("t")] == ["c", "a", "b"]
        assert store.count("t") == 3 and list(store.scan("empty")) == []

    def test_an_empty_commit_is_harmless(self) -> None:
        store = self.new()
        store.commit([], [])
        assert store.last_position() == 0

    def test_a_closed_store_refuses_commits(self) -> None:
        store = self.new()
        store.close()
        with pytest.raises(StoreError):
            store.commit([], [event("order-1", 0)])

    # -- several instances (processes) --------------------------------------------------

    def test_a_second_instance_sees_committed_data(self) -> None:
        store = self.new()
        store.commit([put("t", {"id": "a", "v": 1})], [event("order-1", 0)])
        other = self.second(store)
        assert other.get("t", "a") == {"id": "a", "v": 1}
        assert [e.id for e in other.read_all()] == ["order-1#0"]

    def test_instances_see_each_others_commits_after_refresh(self) -> None:
        store = self.new()
        other = self.second(store)
        other.commit([put("t", {"id": "a", "colour": "red"})], [event("order-1", 0)])
        store.refresh()
        assert store.get("t", "a") == {"id": "a", "colour": "red"}
        assert [d["id"] for d in store.find("t", "colour", "red")] == ["a"]
        assert store.stream_version("order-1") == 0 and store.last_position() == 1

    def test_a_stale_stream_version_is_rejected_across_instances(self) -> None:
        store = self.new()
        other = self.second(store)
        store.commit([], [event("order-1", 0, expected=-1)])
        with pytest.raises(ExpectedVersionError):
            other.commit([], [event("order-1", 99, expected=-1)])
        other.commit([], [event("order-1", 1, expected=0)])
        store.refresh()
        assert [e.id for e in store.read_stream("order-1")] == ["order-1#0", "order-1#1"]

    def test_a_stale_document_version_is_rejected_across_instances(self) -> None:
        store = self.new()
        store.commit([put("t", {"id": "a", "_version": 0}, expected=-1)])
        other = self.second(store)
        store.commit([put("t", {"id": "a", "_version": 1}, expected=0)])
        with pytest.raises(ExpectedVersionError):
            other.commit([put("t", {"id": "a", "_version": 1}, expected=0)])
        other.refresh()
        assert other.get("t", "a") == {"id": "a", "_version": 1}

    def test_two_writers_interleave_without_gaps_or_losses(self) -> None:
        store = self.new()
        other = self.second(store)
        for n in range(10):
            store.commit([put("t", {"id": f"s{n}"})], [event("left-1", n)])
            other.commit([put("t", {"id": f"o{n}"})], [event("right-1", n)])
        for one in (store, other):
            one.refresh()
            assert [e.global_position for e in one.read_all()] == list(range(1, 21))
            assert one.stream_version("left-1") == 9 and one.stream_version("right-1") == 9
            assert one.count("t") == 20

    def test_a_rejected_commit_leaves_no_gap_for_the_other_writer(self) -> None:
        store = self.new()
        other = self.second(store)
        store.commit([], [event("order-1", 0, expected=-1)])
        with pytest.raises(ExpectedVersionError):
            other.commit([], [event("order-1", 0, expected=-1)])
        fresh = event("order-2", 0)
        other.commit([], [fresh])
        assert fresh.global_position == 2

    def test_readers_keep_working_across_a_compaction(self) -> None:
        store = self.new()
        reader = self.second(store)
        store.commit([put("t", {"id": "a", "colour": "red"})], [event("order-1", n) for n in range(3)])
        reader.refresh()
        self.compact(store)
        store.commit([put("t", {"id": "a", "colour": "blue"})], [event("order-1", 3)])
        reader.refresh()
        assert [e.position for e in reader.read_stream("order-1")] == [0, 1, 2, 3]
        assert [d["id"] for d in reader.find("t", "colour", "blue")] == ["a"]
        reader.commit([], [event("order-1", 4, expected=3)])
        store.refresh()
        assert store.stream_version("order-1") == 4 and store.last_position() == 5

    def test_a_compaction_by_the_other_writer_loses_nothing(self) -> None:
        store = self.new()
        other = self.second(store)
        store.commit([], [event("a-1", 0)])
        other.commit([], [event("b-1", 0)])
        self.compact(other)
        store.commit([], [event("a-1", 1, expected=0)])
        other.refresh()
        assert [e.id for e in other.read_all()] == ["a-1#0", "b-1#0", "a-1#1"]
        reopened = self.second(store)
        assert [e.global_position for e in reopened.read_all()] == [1, 2, 3]

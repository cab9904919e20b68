"""The persistence contract, run against every adapter (pyeventsourcing style)."""

from __future__ import annotations

import pytest
from workbench.core.exceptions import ExpectedVersionError
from workbench.core.store import Change, JsonFilePersistence, MemoryPersistence, Store


@pytest.fixture(params=["memory", "json_file"])
def reopen(request, tmp_path):
    """A function that opens the same store again (closing the previous one)."""
    memory = MemoryPersistence()
    opened: list[Store] = []

    def _open() -> Store:
        for store in opened:
            store.close()
        persistence = memory if request.param == "memory" else JsonFilePersistence(tmp_path / "s")
        store = Store(persistence)
        opened.append(store)
        return store

    yield _open
    for store in opened:
        store.close()


def event(stream, n, expected=None):
    return {
        "id": f"{stream}#{n}",
        "type": "T.E.v1",
        "kind": "EVENT",
        "stream_name": stream,
        "stream_category": stream.partition("-")[0],
        "position": None,
        "global_position": None,
        "time": "t",
        "data": {"n": n},
        "metadata": {"expected_version": expected},
    }


def test_commits_survive_reopening(reopen):
    store = reopen()
    store.commit(
        [Change("t", "id", "a", {"id": "a", "v": 1, "_version": 0}, expected_version=-1)],
        [event("order-1", 0, -1), event("order-1", 1, 0)],
    )
    store.commit([Change("t", "id", "b", {"id": "b", "v": 2, "_version": 0})], [event("order-2", 0)])
    store.commit([Change("t", "id", "a", None)])
    store = reopen()
    assert store.get("t", "a") is None and store.get("t", "b")["v"] == 2
    assert [e["global_position"] for e in store.iter_events()] == [1, 2, 3]
    assert [e["position"] for e in store.iter_events()] == [0, 1, 0]
    assert store.stream_last_position("order-1") == 1
    assert store.keys_where("t", "v", 2) == ["b"]


def test_version_conflicts_write_nothing(reopen):
    store = reopen()
    store.commit([Change("t", "id", "a", {"id": "a", "_version": 0}, expected_version=-1)])
    with pytest.raises(ExpectedVersionError):
        store.commit(
            [
                Change("t", "id", "x", {"id": "x", "_version": 0}, expected_version=-1),
                Change("t", "id", "a", {"id": "a", "_version": 1}, expected_version=5),
            ]
        )
    with pytest.raises(ExpectedVersionError, match="Stream: order-1, Stream Version: -1"):
        store.commit([], [event("order-1", 0, 3)])
    store = reopen()
    assert store.get("t", "x") is None and store.event_count() == 0


def test_compaction_keeps_everything(reopen):
    store = reopen()
    for i in range(50):
        store.commit([Change("t", "id", f"k{i}", {"id": f"k{i}", "_version": 0})], [event(f"s-{i % 5}", i // 5)])
    store.compact()
    store.commit([Change("t", "id", "late", {"id": "late", "_version": 0})])
    store = reopen()
    assert len(store.rows("t")) == 51 and store.event_count() == 50
    assert store.stream_last_position("s-3") == 9

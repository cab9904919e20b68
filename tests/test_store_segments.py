"""Compacted events live in segment files read on demand: every read must match a store that holds all in memory."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from workbench.core.store import snapshot as snapshot_module
from workbench.core.store import table_file
from workbench.core.store.contract import delete, put
from workbench.core.store.port import ALL, EventRecord

from workbench import open_store

# Stream names that are prefixes of one another, need JSON escapes, or are not ASCII:
# byte searches over the index files must still match exactly one.
NAMES = ["order-1", "order-10", "order-1-1", 'odd"quote-1', "back\\slash-2", "ünï-3", "order-lines-1", "order"]
CATEGORIES = {name: name.rpartition("-")[0] or name for name in NAMES}


def record(stream: str, n: int, correlation: str) -> EventRecord:
    return EventRecord(
        id=f"{stream}#{n}",
        type=f"Test.{'Placed' if n % 2 else 'Shipped'}.v1",
        stream_name=stream,
        stream_category=CATEGORIES[stream],
        data={"n": n},
        metadata={"correlation_id": correlation},
        time="2026-01-01T00:00:00+00:00",
    )


def answers(store, ids: list[str]) -> dict[str, object]:
    """Everything a command can ask of the events, as plain data."""
    categories = sorted(store.categories())
    return {
        "count": store.event_count(),
        "categories": store.categories(),
        "streams per category": store.stream_counts(),
        "streams": store.streams(),
        "streams of each": {c: store.streams(c) for c in categories},
        "types": store.event_types(),
        "last in each": {c: store.last_in_category(c).id for c in categories},
        "each stream": {name: [r.id for r in store.read_stream(name)] for name in NAMES},
        "stream from 1": {name: [r.id for r in store.read_stream(name, position=1, limit=2)] for name in NAMES},
        "versions": {name: store.stream_version(name) for name in NAMES},
        "category from 3": {c: [r.global_position for r in store.read_category(c, position=3)] for c in categories},
        "all from 2, 5 of them": [r.id for r in store.read_all(position=2, limit=5)],
        "by id": {i: store.get_event(i).global_position for i in ids},
        "missing id": store.get_event("order-1#999"),
        "correlations": {c: [r.id for r in store.read_correlation(c)] for c in ("c0", "c1", "c2")},
        "prefix order-1#": store.find_event_ids("order-1#"),
        "counted from 4": {c: store.count_events(c, position=4) for c in [*categories, ALL]},
        "doc count": store.count("t"),  # before the scan: a table not loaded yet counts from the snapshot
        # Before the scan too: a table not loaded yet reads one document from its file.
        "get each": {f"d{n}": store.get("t", f"d{n}") for n in range(-1, 13)},
        "docs": sorted(d["id"] for d in store.scan("t")),
    }


commits = st.lists(
    st.tuples(st.lists(st.sampled_from(NAMES), min_size=0, max_size=4), st.booleans(), st.integers(0, 2)),
    min_size=1,
    max_size=12,
)


@pytest.mark.parametrize("keyed_from", [1, table_file.KEYED_FROM], ids=["key files", "read whole"])
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plan=commits)
def test_compacted_and_journalled_events_read_like_an_in_memory_store(tmp_path_factory, monkeypatch, keyed_from, plan):
    monkeypatch.setattr(table_file, "KEYED_FROM", keyed_from)
    folder = tmp_path_factory.mktemp("seg") / "store"
    memory, disk = open_store(None), open_store(folder)
    counts: dict[str, int] = {}
    ids: list[str] = []
    try:
        for number, (streams, compact_after, correlation) in enumerate(plan):
            events = []
            for name in streams:
                events.append(record(name, counts.get(name, 0), f"c{correlation}"))
                counts[name] = counts.get(name, 0) + 1
            ids += [e.id for e in events]
            change = [put("t", {"id": f"d{number}", "n": number})]
            if number % 3 == 2:
                change.append(delete("t", f"d{number - 2}"))
            memory.commit(change, [EventRecord.from_dict(e.as_dict()) for e in events])
            disk.commit(change, events)
            if compact_after:
                disk.compact()
        expected = answers(memory, ids)
        assert answers(disk, ids) == expected
        disk.close()
        with open_store(folder, read_only=True) as again:  # what another command sees
            assert answers(again, ids) == expected
    finally:
        memory.close()
        disk.close()


def fill(folder: Path, start: int, end: int) -> None:
    with open_store(folder) as store:
        for n in range(start, end):
            store.commit([put("t", {"id": f"d{n}"})], [record("order-1", n, "c0")])


def test_a_compaction_killed_before_it_publishes_leaves_the_previous_one_in_force(tmp_path, monkeypatch):
    folder = tmp_path / "store"
    fill(folder, 0, 3)
    with open_store(folder) as store:
        store.compact()
    fill(folder, 3, 5)
    real = snapshot_module.write_atomically

    def killed_at_publish(path, data):
        if path.name == "snapshot.json":
            raise OSError("killed before publishing")
        real(path, data)

    store = open_store(folder)
    monkeypatch.setattr(snapshot_module, "write_atomically", killed_at_publish)
    with pytest.raises(OSError):
        store.compact()  # events 4 and 5 were appended to the segment, never published
    monkeypatch.undo()
    store.persistence.close()
    log = folder / "events" / "log.jsonl"
    assert len(log.read_bytes().splitlines()) == 5  # the unpublished tail is on disk...
    with open_store(folder, read_only=True) as reader:
        assert [r.data["n"] for r in reader.read_stream("order-1")] == [0, 1, 2, 3, 4]  # ...read once, from the journal
    with open_store(folder) as writer:
        writer.compact()  # cuts the unpublished bytes before appending again
        assert [r.data["n"] for r in writer.read_stream("order-1")] == [0, 1, 2, 3, 4]
    assert [json.loads(line)["data"]["n"] for line in log.read_bytes().splitlines()] == [0, 1, 2, 3, 4]


@pytest.mark.parametrize("keyed_from", [1, table_file.KEYED_FROM], ids=["key files", "read whole"])
def test_a_reader_opened_before_another_process_compacts_still_reads_its_tables(tmp_path, monkeypatch, keyed_from):
    monkeypatch.setattr(table_file, "KEYED_FROM", keyed_from)
    folder = tmp_path / "store"
    fill(folder, 0, 3)
    with open_store(folder) as store:
        store.compact()
    reader = open_store(folder, read_only=True)  # points at the table files, has read none
    fill(folder, 3, 6)
    with open_store(folder) as writer:
        writer.compact()  # rewrites the table into a new file and removes the old one
    assert reader.get("t", "d1") == {"id": "d1"}  # its key files are gone: the table is read whole
    assert sorted(reader.rows("t")) == ["d0", "d1", "d2"]  # what it opened, intact
    # Only the files the snapshot names (and their key files) stay.
    named = json.loads((folder / "snapshot.json").read_text())["_meta"]["1"]["table_files"].values()
    expected = {f"{n}{side}" for n in named for side in ("", *([".keys", ".spans"] if keyed_from == 1 else []))}
    assert {p.name for p in (folder / "tables").iterdir()} == expected
    reader.refresh()
    assert sorted(reader.rows("t")) == [f"d{n}" for n in range(6)]
    assert [r.data["n"] for r in reader.read_stream("order-1")] == list(range(6))
    reader.close()


def test_a_store_in_the_old_single_snapshot_layout_opens_and_the_first_writer_converts_it(tmp_path):
    folder = tmp_path / "store"
    fill(folder, 0, 4)
    # The layout older versions wrote: one snapshot.json holding every table and event.
    with open_store(folder, read_only=True) as store:
        old = snapshot_module.tinydb_document(store.state)
    old["_meta"]["1"]["format"] = 1
    shutil.rmtree(folder)
    folder.mkdir()
    (folder / "snapshot.json").write_bytes(json.dumps(old).encode())
    with open_store(folder, read_only=True) as reader:
        assert [r.data["n"] for r in reader.read_stream("order-1")] == [0, 1, 2, 3]
        assert not (folder / "events").exists()  # read-only opens never write
    with open_store(folder) as writer:
        assert (folder / "events" / "log.jsonl").exists()
        writer.commit([], [record("order-1", 4, "c0")])
    meta = json.loads((folder / "snapshot.json").read_text())["_meta"]["1"]
    assert meta["format"] == 2 and meta["events"]["count"] == 4
    with open_store(folder, read_only=True) as reader:
        assert [r.data["n"] for r in reader.read_stream("order-1")] == [0, 1, 2, 3, 4]
        assert sorted(reader.rows("t")) == ["d0", "d1", "d2", "d3"]


def test_a_truncated_event_file_is_refused_naming_it(tmp_path):
    folder = tmp_path / "store"
    fill(folder, 0, 3)
    with open_store(folder) as store:
        store.compact()
    offsets = folder / "events" / "offsets.q"
    offsets.write_bytes(offsets.read_bytes()[:-8])
    from workbench.core.exceptions import StoreCorruptError

    with pytest.raises(StoreCorruptError, match="offsets.q holds 16 bytes where the snapshot records 24"):
        open_store(folder, read_only=True)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats(allow_nan=False) | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=2) | st.dictionaries(st.text(max_size=3), inner, max_size=2),
    max_leaves=4,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(event_id=json_values, doc_key=json_values)
def test_an_id_the_store_cannot_look_up_is_refused_before_anything_is_written(tmp_path_factory, event_id, doc_key):
    """Any event id and document key: the commit is refused (ValidationError, nothing written),
    or the event is found by its id before and after compaction and after reopening."""
    from workbench.core.exceptions import ValidationError

    folder = tmp_path_factory.mktemp("ids") / "store"
    event = {"id": event_id, "type": "T.v1", "stream_name": "order-1", "stream_category": "order",
             "data": {}, "metadata": {}, "time": ""}  # fmt: skip
    with open_store(folder) as store:
        store.commit([put("t", {"id": "first"})], [record("order-10", 0, "c0")])
        try:
            store.commit([put("t", {"id": doc_key})], [event])
        except ValidationError:
            accepted = False
        else:
            accepted = True
            assert store.get_event(event_id).stream_name == "order-1"
            assert store.get("t", doc_key) == {"id": doc_key}
        store.commit([put("t", {"id": "last"})], [record("order-10", 1, "c0")])  # the store goes on
        store.compact()
        assert (store.get_event(event_id) is not None) is accepted
    with open_store(folder) as again:
        assert [r.id for r in again.read_stream("order-10")] == ["order-10#0", "order-10#1"]
        assert again.count("t") == (3 if accepted and doc_key not in ("first", "last") else 2)
        if accepted:
            assert again.get_event(event_id).stream_name == "order-1"
            assert again.get("t", doc_key) == {"id": doc_key}


@pytest.mark.parametrize("field", ["stream_name", "stream_category"])
@pytest.mark.parametrize("value", [None, 5, ["x"]])
def test_a_stream_or_category_that_is_not_a_string_is_refused_and_compaction_goes_on(tmp_path, field, value):
    from workbench.core.exceptions import ValidationError

    folder = tmp_path / "store"
    event = {"id": "odd", "type": "T.v1", "stream_name": "order-1", "stream_category": "order",
             "data": {}, "metadata": {}, "time": "", field: value}  # fmt: skip
    with open_store(folder) as store:
        with pytest.raises(ValidationError, match=field):
            store.commit([], [event])
        store.commit([], [record("order-10", 0, "c0")])
        store.compact()  # a category the manifest cannot hold would fail every compaction
    with open_store(folder, read_only=True) as again:
        assert again.streams() == {"order-10": 1} and again.get_event("odd") is None


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(asked=st.text(st.integers(0xD800, 0xDFFF).map(chr) | st.characters(), min_size=1))
def test_looking_up_any_string_answers_like_before_compaction(tmp_path_factory, asked):
    """A name from a terminal that is not UTF-8 arrives with lone surrogates, which no stored
    name holds: the compacted store answers "nothing" too, instead of failing to encode it."""
    folder = tmp_path_factory.mktemp("ask") / "store"
    with open_store(folder) as store:
        store.commit([], [record("order-1", 0, "c0")])
        before = (store.get_event(asked), store.read_stream(asked), store.find_event_ids(asked),
                  store.read_correlation(asked), store.stream_version(asked))  # fmt: skip
        store.compact()
        after = (store.get_event(asked), store.read_stream(asked), store.find_event_ids(asked),
                 store.read_correlation(asked), store.stream_version(asked))  # fmt: skip
    assert after == before


def test_events_read_with_bytes_that_are_not_utf8_is_an_answer_not_a_crash(tmp_path):
    import subprocess
    import sys

    from conftest import ROOT, SHOP

    store = tmp_path / "store"
    with open_store(store) as opened:
        opened.commit([], [record("order-1", 0, "c0")])
        opened.compact()
    result = subprocess.run(
        [sys.executable, "-m", "workbench", "--domain", str(SHOP), "--store", str(store), "events", "read", b"ord\xfcr-1"],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
    )  # fmt: skip
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr, result.stderr
    assert "unknown category" in result.stderr  # the one-line answer of a store that never compacted


def test_closing_a_store_gives_its_files_back(tmp_path):
    import os

    folder = tmp_path / "store"
    fill(folder, 0, 3)
    with open_store(folder) as store:
        store.compact()

    def open_files() -> int:
        return sum(1 for fd in os.listdir("/proc/self/fd") if str(folder) in os.path.realpath(f"/proc/self/fd/{fd}"))

    before = open_files()
    reader = open_store(folder, read_only=True)
    assert reader.get_event("order-1#1") is not None  # opens the event log
    assert open_files() > before
    reader.close()
    assert open_files() == before
    assert reader.rows("t")  # a read after close opens what it needs again
    reader.state.release_files()

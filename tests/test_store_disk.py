"""The store on disk: readable JSON, crash safety, corruption handling, locking."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from conftest import ROOT, build_shop
from workbench.core.exceptions import StoreCorruptError, StoreFormatError, StoreLockedError
from workbench.core.store import Change, open_store


def fill(path: Path, n: int = 5) -> None:
    domain = build_shop(store=open_store(path))
    Order, Inventory = domain.registry.aggregates.values()
    with domain.domain_context():
        domain.repository_for(Inventory).add(Inventory(book_id="b", in_stock=100))
        for _ in range(n):
            order = Order(book_id="b", quantity=1)
            domain.repository_for(Order).add(order)
            order.ship_order()
            domain.repository_for(Order).add(order)
    domain.close()


def snapshot_of(path: Path) -> dict[str, bytes]:
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file() and p.name != "LOCK"}


def test_journal_is_readable_json_lines(store_dir):
    fill(store_dir, 2)
    lines = (store_dir / "journal.jsonl").read_text().splitlines()
    assert json.loads(lines[0]) == {"workbench_store": 2, "base_seq": 0}
    ops = [op for line in lines[1:] for op in json.loads(line)["ops"]]
    assert {op[0] for op in ops} == {"put", "ev"}


def test_stock_tinydb_opens_the_compacted_tables_and_events_are_json_lines(store_dir):
    from tinydb import TinyDB

    fill(store_dir, 3)
    with open_store(store_dir) as store:
        store.compact()
    meta = json.loads((store_dir / "snapshot.json").read_text())["_meta"]["1"]
    table_file = store_dir / "tables" / meta["table_files"]["aggregate:inventory"]
    db = TinyDB(table_file, access_mode="r")
    assert {doc["book_id"] for doc in db.table("aggregate:inventory").all()} == {"b"}
    assert db.table("aggregate:inventory").all()[0]["in_stock"] == 97
    db.close()
    # Events are plain JSON lines, in global order.
    lines = (store_dir / "events" / "log.jsonl").read_text().splitlines()
    assert [json.loads(line)["global_position"] for line in lines] == [1, 2, 3]


def test_torn_tail_is_reported_cut_and_never_half_applied(store_dir):
    fill(store_dir, 2)
    journal = store_dir / "journal.jsonl"
    intact = journal.read_bytes()
    last_line = intact.rstrip(b"\n").rsplit(b"\n", 1)[1]
    journal.write_bytes(intact + last_line[: len(last_line) // 2])  # a write cut short
    with open_store(store_dir, read_only=True) as reader:
        assert reader.event_count() == 2 and reader.load_report.notes
    assert journal.read_bytes() != intact  # read-only never repairs
    store = open_store(store_dir)
    assert "incomplete last commit" in store.load_report.notes[0]
    assert store.event_count() == 2
    assert journal.read_bytes() == intact
    store.commit([Change("t", "id", "x", {"id": "x"})])
    store.close()
    with open_store(store_dir) as again:
        assert again.get("t", "x") == {"id": "x"} and not again.load_report.notes


def test_damage_in_the_middle_is_refused_and_left_untouched(store_dir):
    fill(store_dir, 3)
    journal = store_dir / "journal.jsonl"
    lines = journal.read_bytes().split(b"\n")
    lines[2] = lines[2].replace(b'"quantity":1', b'"quantity":7')  # checksum no longer matches
    journal.write_bytes(b"\n".join(lines))
    before = snapshot_of(store_dir)
    with pytest.raises(StoreCorruptError, match="damaged at byte .* with \\d+ intact commit.s. after it"):
        open_store(store_dir)
    assert snapshot_of(store_dir) == before


def test_newer_format_is_refused_and_left_untouched(store_dir):
    fill(store_dir, 1)
    journal = store_dir / "journal.jsonl"
    raw = journal.read_bytes().replace(b'"workbench_store":2', b'"workbench_store":9', 1)
    journal.write_bytes(raw)
    before = snapshot_of(store_dir)
    with pytest.raises(StoreFormatError, match="format 9, newer than this workbench"):
        open_store(store_dir)
    assert snapshot_of(store_dir) == before


def test_damaged_snapshot_is_refused_and_left_untouched(store_dir):
    fill(store_dir, 1)
    with open_store(store_dir) as store:
        store.compact()
    snapshot = store_dir / "snapshot.json"
    snapshot.write_bytes(snapshot.read_bytes()[:-20])
    before = snapshot_of(store_dir)
    with pytest.raises(StoreCorruptError, match="snapshot .* is damaged"):
        open_store(store_dir)
    assert snapshot_of(store_dir) == before


def test_crash_between_snapshot_and_journal_switch_loses_and_repeats_nothing(store_dir, monkeypatch):
    fill(store_dir, 4)
    from workbench.core.store import json_file

    real = json_file._write_atomically

    def crash_on_journal(path, data):
        if path.name == "journal.jsonl":
            raise OSError("simulated crash before the journal switch")
        real(path, data)

    store = open_store(store_dir)
    monkeypatch.setattr(json_file, "_write_atomically", crash_on_journal)
    with pytest.raises(OSError):
        store.compact()
    monkeypatch.undo()
    store.persistence.close()
    with open_store(store_dir) as again:
        assert again.event_count() == 4
        assert [e["global_position"] for e in again.iter_events()] == [1, 2, 3, 4]
        assert again.get("aggregate:inventory", next(iter(again.rows("aggregate:inventory"))))["in_stock"] == 96


def test_a_failed_write_leaves_no_garbage(store_dir, monkeypatch):
    store = open_store(store_dir)
    store.commit([Change("t", "id", "a", {"id": "a"})])
    size = (store_dir / "journal.jsonl").stat().st_size
    real_write = os.write

    def short_write(fd, data):
        real_write(fd, bytes(data)[:10])
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "write", short_write)
    with pytest.raises(Exception, match="could not write to store"):
        store.commit([Change("t", "id", "b", {"id": "b"})])
    monkeypatch.undo()
    assert (store_dir / "journal.jsonl").stat().st_size == size
    assert store.get("t", "b") is None
    store.commit([Change("t", "id", "c", {"id": "c"})])
    store.close()
    with open_store(store_dir) as again:
        assert set(again.rows("t")) == {"a", "c"} and not again.load_report.notes


HOLDER = textwrap.dedent(
    """
    import sys, time
    sys.path.insert(0, {root!r})
    from workbench.core.store import open_store, Change
    import fcntl, os
    store = open_store({path!r})
    store.commit([Change("t", "id", "holder", {{"id": "holder"}})])
    # Hold the writer lock as a commit stuck half-way would (a commit holds it only briefly).
    fd = os.open({lock!r}, os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX)
    os.pwrite(fd, str(os.getpid()).encode(), 0)
    print("locked", flush=True)
    time.sleep(float(sys.argv[1]))
    fcntl.flock(fd, fcntl.LOCK_UN)
    store.close()
    """
)


def start_holder(tmp_path, store_dir, seconds):
    script = tmp_path / "holder.py"
    script.write_text(HOLDER.format(root=str(ROOT), path=str(store_dir), lock=str(store_dir / "LOCK")))
    proc = subprocess.Popen([sys.executable, str(script), str(seconds)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "locked"
    return proc


def test_second_writer_gets_a_clear_error(tmp_path, store_dir):
    proc = start_holder(tmp_path, store_dir, 30)
    try:
        with pytest.raises(StoreLockedError, match=rf"store {store_dir} is in use by process {proc.pid}"):
            with open_store(store_dir, lock_timeout=0.2) as store:
                store.commit([Change("t", "id", "late", {"id": "late"})])
        with open_store(store_dir, read_only=True) as reader:  # readers are never blocked
            assert reader.get("t", "holder") == {"id": "holder"}
    finally:
        proc.kill()
        proc.wait()
    with open_store(store_dir, lock_timeout=1) as store:  # a killed holder leaves no lock behind
        assert store.get("t", "holder") == {"id": "holder"}


def test_second_writer_waits_for_the_first(tmp_path, store_dir):
    proc = start_holder(tmp_path, store_dir, 0.5)
    try:
        with open_store(store_dir, lock_timeout=20) as store:
            store.commit([Change("t", "id", "second", {"id": "second"})])
    finally:
        proc.wait()
    with open_store(store_dir, read_only=True) as reader:
        assert set(reader.rows("t")) == {"holder", "second"}


WRITER = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, {root!r})
    sys.path.insert(0, {tests!r})
    from conftest import build_shop
    from workbench.core.store import open_store
    from workbench.core.store import json_file
    domain = build_shop(store=open_store({path!r}))
    domain.store.persistence.compact_min_bytes = 20_000  # compact often, so kills hit it too
    Order, Inventory = domain.registry.aggregates.values()
    with domain.domain_context():
        repo = domain.repository_for(Inventory)
        if not repo.exists(book_id="b"):
            repo.add(Inventory(book_id="b", in_stock=10**9))
        for i in range(100000):
            order = Order(book_id="b", quantity=1)
            domain.repository_for(Order).add(order)
            order.ship_order()
            domain.repository_for(Order).add(order)
            print(order.id, flush=True)
    """
)


def test_sigkill_mid_run_never_loses_an_acknowledged_commit(tmp_path, store_dir):
    script = tmp_path / "writer.py"
    script.write_text(WRITER.format(root=str(ROOT), tests=str(ROOT / "tests"), path=str(store_dir)))
    acknowledged: list[str] = []
    for round_ in range(12):
        proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
        # Time the kill from the first acknowledged order: on a loaded machine starting
        # Python alone can take longer than the sleep, and a kill before the writer set up
        # its inventory would test nothing.
        first = proc.stdout.readline() if proc.stdout else ""
        time.sleep(0.1 + 0.13 * round_)
        proc.send_signal(signal.SIGKILL)
        out, _ = proc.communicate()
        acknowledged.extend((first + out).split())
        with open_store(store_dir) as store:
            orders = store.rows("aggregate:order")
            shipped = {e["data"]["order_id"] for e in store.iter_events()}
            inventory = next(iter(store.rows("aggregate:inventory").values()), None)
            if inventory is None:  # killed before its first commit (a slow start on a loaded machine)
                assert not acknowledged and store.event_count() == 0
                continue
            missing = [oid for oid in acknowledged if oid not in orders or oid not in shipped]
            assert not missing, f"round {round_}: {len(missing)} acknowledged orders lost"
            assert all(o["status"] == "SHIPPED" for o in orders.values() if o["id"] in shipped)
            # No OrderShipped reduced the stock twice. A sync handler runs after the commit
            # that stored its event, so a kill between the two can skip at most one per round.
            reduced = 10**9 - inventory["in_stock"]
            assert store.event_count() - (round_ + 1) <= reduced <= store.event_count()
            positions = [e["global_position"] for e in store.iter_events()]
            assert positions == list(range(1, len(positions) + 1))
    assert len(acknowledged) > 100

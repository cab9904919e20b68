"""Several processes on one store: one-shot commands, a running engine and a shell, side by side.

The writer lock covers one commit, so none of them waits for another to exit; each
catches up on the others' commits before checking versions, so nothing is lost and a
stale version is refused across processes.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest
from conftest import ROOT, SHOP
from workbench.core.exceptions import ExpectedVersionError
from workbench.core.store import Change, open_store

ASYNC_SHOP = ROOT / "samples" / "async-shop" / "domain.py"

WRITER = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, {root!r})
    from workbench.core.exceptions import ExpectedVersionError
    from workbench.core.store import Change, open_store
    import os, time
    name, rounds, go = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    conflicts = 0
    while not os.path.exists(go):  # start together, so the commits interleave
        time.sleep(0.001)
    with open_store({path!r}, lock_timeout=60) as store:
        store.persistence.compact_min_bytes = 5_000  # compact often: the others must notice
        for n in range(rounds):
            event = {{"id": f"{{name}}-{{n}}", "type": "T.Counted.v1", "stream_name": f"writer-{{name}}",
                     "stream_category": "writer", "time": "", "data": {{"n": n}},
                     "metadata": {{"expected_version": n - 1}}}}
            while True:  # read, modify, write: retried when another process got there first
                store.refresh()
                counter = store.get("counters", "total") or {{"id": "total", "value": 0, "_version": -1}}
                new = {{"id": "total", "value": counter["value"] + 1, "_version": counter["_version"] + 1}}
                try:
                    store.commit([Change("counters", "id", "total", new, expected_version=counter["_version"])],
                                 [dict(event)])
                    break
                except ExpectedVersionError:
                    conflicts += 1
    print(conflicts, flush=True)
    """
)


def test_three_writer_processes_lose_nothing_while_compacting(tmp_path, store_dir):
    script = tmp_path / "writer.py"
    script.write_text(WRITER.format(root=str(ROOT), path=str(store_dir)))
    rounds = 1500
    go = tmp_path / "go"
    procs = [
        subprocess.Popen([sys.executable, str(script), name, str(rounds), str(go)], stdout=subprocess.PIPE, text=True)
        for name in ("a", "b", "c")
    ]
    time.sleep(1.0)  # let all three start up
    go.touch()
    outputs = [proc.communicate(timeout=240)[0] for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0, 0], outputs
    with open_store(store_dir, read_only=True) as store:
        assert store.get("counters", "total")["value"] == 3 * rounds  # no lost update
        assert [e.global_position for e in store.read_all()] == list(range(1, 3 * rounds + 1))
        for name in ("a", "b", "c"):
            assert [e.data["n"] for e in store.read_stream(f"writer-{name}")] == list(range(rounds))
        writers = [e.stream_name for e in store.read_all()]
        switches = sum(1 for before, after in zip(writers, writers[1:]) if before != after)
        assert switches > 2, "the writers never interleaved: the test proved nothing"


def test_a_stale_version_is_refused_across_processes(store_dir):
    with open_store(store_dir) as store:
        store.commit([Change("t", "id", "a", {"id": "a", "_version": 0}, expected_version=-1)])
        seen = store.get("t", "a")
        other = subprocess.run(
            [
                sys.executable,
                "-c",
                textwrap.dedent(f"""
                import sys
                sys.path.insert(0, {str(ROOT)!r})
                from workbench.core.store import Change, open_store
                with open_store({str(store_dir)!r}) as store:
                    store.commit([Change("t", "id", "a", {{"id": "a", "_version": 1}}, expected_version=0)])
                """),
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert other.returncode == 0, other.stderr
        assert seen["_version"] == 0  # this process has not looked again yet
        with pytest.raises(ExpectedVersionError, match=r"Version: 1"):
            store.commit([Change("t", "id", "a", {"id": "a", "_version": 1}, expected_version=0)])
        store.refresh()
        assert store.get("t", "a") == {"id": "a", "_version": 1}


def workbench(store, *args, domain=SHOP, check=True):
    result = subprocess.run(
        [sys.executable, "-m", "workbench", "--domain", str(domain), "--store", str(store), *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    if check:
        assert result.returncode == 0, result.stderr
    return result


def test_one_shot_commands_while_the_engine_runs(tmp_path):
    store = tmp_path / "store"
    workbench(store, "new", "Inventory", "book_id=b", "in_stock=100", domain=ASYNC_SHOP)
    engine = subprocess.Popen(
        [sys.executable, "-m", "workbench", "--domain", str(ASYNC_SHOP), "--store", str(store), "run"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        for quantity in (3, 4):
            workbench(store, "new", "Order", "book_id=b", f"quantity={quantity}", domain=ASYNC_SHOP)
        orders = json.loads(workbench(store, "show", "Order", "--json", domain=ASYNC_SHOP).stdout)["data"]["items"]
        for order in orders:
            workbench(store, "call", "Order", order["id"], "ship_order", domain=ASYNC_SHOP)
        deadline = time.monotonic() + 90
        while True:  # the engine process picks up the commits of the one-shot processes
            shown = json.loads(workbench(store, "show", "Inventory", "--json", domain=ASYNC_SHOP).stdout)
            if shown["data"]["items"][0]["in_stock"] == 93 or time.monotonic() > deadline:
                break
            time.sleep(0.3)
        assert shown["data"]["items"][0]["in_stock"] == 93
        assert engine.poll() is None, "the engine stopped"
    finally:
        engine.send_signal(signal.SIGINT)
        try:
            engine.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            engine.kill()
            engine.communicate()
    status = json.loads(workbench(store, "subscriptions", "status", "--json", domain=ASYNC_SHOP).stdout)
    assert all(row["lag"] == 0 for row in status["data"]["subscriptions"])


def test_a_shell_and_one_shot_commands_share_a_store(tmp_path):
    pexpect = pytest.importorskip("pexpect")
    store = tmp_path / "store"
    env = {
        **os.environ,
        "WORKBENCH_DOMAIN": str(SHOP),
        "WORKBENCH_STORE": str(store),
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "NO_COLOR": "1",
        "TERM": "xterm",
        "PROMPT_TOOLKIT_NO_CPR": "1",
    }
    child = pexpect.spawn(
        sys.executable, ["-m", "workbench"], cwd=str(ROOT), env=env, encoding="utf-8", timeout=60, dimensions=(40, 140)
    )
    try:
        child.expect("workbench>")
        time.sleep(0.5)
        # One-shot commands in a loop in another "terminal" while the shell writes too.
        loop = threading.Thread(
            target=lambda: [workbench(store, "new", "Inventory", f"book_id=one-shot-{n}", "in_stock=5") for n in range(4)]
        )
        loop.start()
        for n in range(3):
            child.send(f"new Inventory book_id=shell-{n} in_stock=7\r")
            child.expect("Inventory saved")
            time.sleep(0.3)
        loop.join()
        child.send("show Inventory\r")
        child.expect("Inventory \\(7\\)")
        child.expect("one-shot-3")
        for _ in range(5):
            time.sleep(0.5)
            child.sendcontrol("d")
            if child.expect([pexpect.EOF, pexpect.TIMEOUT], timeout=5) == 0:
                break
    finally:
        child.close()
    assert child.exitstatus == 0
    shown = json.loads(workbench(store, "show", "Inventory", "--json").stdout)
    assert sorted(i["book_id"] for i in shown["data"]["items"]) == [
        *(f"one-shot-{n}" for n in range(4)),
        *(f"shell-{n}" for n in range(3)),
    ]


def test_a_repair_made_while_a_store_is_open_wins(store_dir):
    from workbench.core.store.maintenance import repair_store

    with open_store(store_dir) as store:
        for key in range(3):
            store.commit([Change("t", "id", key, {"id": key})])
        repair_store(store_dir, drop_after=1)  # as `workbench store repair` in another terminal
        store.commit([Change("t", "id", "after", {"id": "after"})])
        assert set(store.rows("t")) == {0, "after"}
    with open_store(store_dir, read_only=True) as again:
        assert set(again.rows("t")) == {0, "after"} and not again.load_report.notes


def test_a_reader_is_not_fooled_by_a_new_journal_that_reuses_the_old_ones_inode(store_dir):
    """A compaction replaces journal.jsonl; the file system may give the new journal the
    inode the old one had. A process that read the old journal must still notice the
    replacement instead of reading the new file's tail from its old offset (which lost
    commits, or appended to a journal whose header says they are in the snapshot)."""
    writer = open_store(store_dir)
    writer.commit([Change("t", "id", "a", {"id": "a"})])
    reader = open_store(store_dir, read_only=True)
    first = os.stat(store_dir / "journal.jsonl").st_ino
    try:
        for n in range(40):  # ext4 reuses it within a few (unless the reader keeps the old one open)
            writer.commit([Change("t", "id", f"b{n}", {"id": f"b{n}"})])
            writer.compact()
            if os.stat(store_dir / "journal.jsonl").st_ino == first:
                break
        writer.commit([Change("t", "id", "c", {"id": "c", "pad": "x" * 50})])  # a length the reader never saw
        reader.refresh()
        assert reader.get("t", "c") == {"id": "c", "pad": "x" * 50}
        assert reader.count("t") == writer.count("t") == n + 3
    finally:
        reader.close()
        writer.close()

"""Several engines on one store deliver each message to a handler once.

Two ``workbench run`` processes and repeated ``workbench process`` calls work the same
subscriptions while a third process writes events. Every delivery a handler commits
leaves a row, so a message delivered twice shows up as a duplicate number.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter

from conftest import ROOT
from workbench.core.engine import Engine
from workbench.core.loader import load_domain
from workbench.core.store import open_store

RACE = ROOT / "tests" / "race_domain.py"

PRODUCER = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, {root!r})
    from workbench.core.loader import load_domain
    from workbench.core.store import open_store
    store = open_store({store!r}, lock_timeout=60)
    domain = load_domain({domain!r}, store=store)
    Ticket = domain.registry.aggregates["Ticket"] if hasattr(domain.registry, "aggregates") else None
    with domain.domain_context():
        from race_domain import Ticket
        repo = domain.repository_for(Ticket)
        for number in range({first}, {last}):
            ticket = Ticket(number=number)
            ticket.open()
            repo.add(ticket)
    domain.close()
    """
)


def _numbers(store_dir, handler):
    with open_store(store_dir, read_only=True) as store:
        return Counter(row["number"] for row in store.find("aggregate:delivery", "handler", handler))


def _produce(tmp_path, store_dir, first, last):
    script = tmp_path / f"produce-{first}.py"
    script.write_text(PRODUCER.format(root=str(ROOT), store=str(store_dir), domain=str(RACE), first=first, last=last))
    env = {**os.environ, "PYTHONPATH": str(RACE.parent)}
    return subprocess.Popen([sys.executable, str(script)], cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True)


def test_two_running_engines_and_one_shot_processing_deliver_each_message_once(tmp_path):
    store_dir = tmp_path / "store"
    markers = tmp_path / "markers"
    markers.mkdir()
    total = 300
    env = {**os.environ, "RACE_MARKERS": str(markers), "WORKBENCH_LOCK_TIMEOUT": "60"}
    base = [sys.executable, "-m", "workbench", "--domain", str(RACE), "--store", str(store_dir)]
    # A first batch is waiting when the engines start: they all begin at the same cursor.
    first = _produce(tmp_path, store_dir, 0, total // 2)
    assert first.wait(timeout=120) == 0, first.stderr.read()  # type: ignore[union-attr]
    engines = [subprocess.Popen([*base, "run"], cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    try:
        second = _produce(tmp_path, store_dir, total // 2, total)
        for _ in range(3):
            one_shot = subprocess.run(
                [*base, "process"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
            )
            assert one_shot.returncode in (0, 1), one_shot.stderr  # 1: it saw a failed first attempt
        assert second.wait(timeout=120) == 0, second.stderr.read()  # type: ignore[union-attr]
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if len(_numbers(store_dir, "Record")) == total and len(_numbers(store_dir, "Flaky")) == total:
                break
            time.sleep(0.3)
        assert all(engine.poll() is None for engine in engines), "an engine stopped"
    finally:
        for engine in engines:
            engine.send_signal(signal.SIGINT)
        outputs = []
        for engine in engines:
            try:
                outputs.append(engine.communicate(timeout=60)[1])
            except subprocess.TimeoutExpired:
                engine.kill()
                outputs.append(engine.communicate()[1])
    # Exit 1 when an engine saw a failed first attempt; a crash would show a traceback.
    assert all(engine.returncode in (0, 1) for engine in engines), outputs
    assert not any("Traceback" in output for output in outputs), outputs
    for handler in ("Record", "Flaky"):
        counts = _numbers(store_dir, handler)
        assert sorted(counts) == list(range(total)), handler  # nothing lost
        assert {n: c for n, c in counts.items() if c > 1} == {}, handler  # nothing delivered twice
    assert len(list(markers.iterdir())) == total // 5  # every fifth ticket failed once, then was retried
    with open_store(store_dir, read_only=True) as store:
        assert store.count("pending") == 0
        assert store.count("dead_letters") == 0


def test_the_engine_that_loses_a_race_commits_nothing_and_moves_on(tmp_path, monkeypatch):
    # Two engines on two opens of one store, in one process, so the race is forced: the
    # second engine read its cursors before the first delivered anything.
    monkeypatch.setenv("RACE_MARKERS", str(tmp_path))
    store_dir = tmp_path / "store"
    first = load_domain(str(RACE), store=open_store(store_dir))
    second = None
    try:
        with first.domain_context():
            ticket_cls = first.registry.aggregates["Ticket"]
            for number in (1, 2, 3):
                ticket = ticket_cls(number=number)
                ticket.open()
                first.repository_for(ticket_cls).add(ticket)
        second = load_domain(str(RACE), store=open_store(store_dir))
        late = Engine(second)
        with first.domain_context():
            assert Engine(first).process().delivered == 6
        with second.domain_context():
            tally = late.process()
        assert (tally.delivered, tally.failed) == (0, 0)  # every delivery lost its race, none failed
        assert [s.position for s in late.subscriptions] == [3, 3]  # it re-read the cursors
        with second.domain_context():
            ticket_cls = second.registry.aggregates["Ticket"]
            for number in (4, 5):  # it goes on with new messages (5 fails once, then is retried)
                ticket = ticket_cls(number=number)
                ticket.open()
                second.repository_for(ticket_cls).add(ticket)
            assert late.process_until_idle(max_wait_seconds=5).delivered == 4
    finally:
        first.close()
        if second is not None:
            second.close()
    for handler in ("Record", "Flaky"):
        assert sorted(_numbers(store_dir, handler).elements()) == [1, 2, 3, 4, 5], handler

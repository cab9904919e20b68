"""Stopping `workbench run` and `process` by signal: the first finishes the current message, the second stops
now (the message is delivered again), a third cannot cut the saving of cursors short."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from async_domain import pay, payments_domain
from workbench.core.engine import Engine
from workbench.core.store import open_store

BLOCKING_DOMAIN = """
import pathlib, time
from protean import Domain, handle
from protean.fields import Integer, Identifier

domain = Domain()
HERE = pathlib.Path(__file__).parent

@domain.aggregate
class Job:
    n = Integer()

@domain.aggregate
class Done:
    ref = Identifier(required=True)

@domain.event(part_of=Job)
class Started:
    n = Integer()

@domain.event_handler(part_of=Done, stream_category="job", subscription_profile="fast")
class Sleeper:
    @handle(Started)
    def work(self, event):
        (HERE / f"entered-{event.n}").touch()
        while not (HERE / "release").exists():
            time.sleep(0.05)
        domain.repository_for(Done).add(Done(ref=str(event.n)))
"""


@pytest.fixture
def started_runs():
    """Every `workbench run` a test starts; killed afterwards if a failed test left it running."""
    procs: list[subprocess.Popen[str]] = []
    yield procs
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def _start_blocked_run(
    tmp_path: Path, started: list[subprocess.Popen[str]], *, masked: bool = False
) -> subprocess.Popen[str]:
    (tmp_path / "domain.py").write_text(BLOCKING_DOMAIN)
    workbench = [sys.executable, "-m", "workbench", "--domain", "domain.py", "--store", "st"]
    for n in (1, 2):
        subprocess.run([*workbench, "raise", "Started", f"n={n}"], cwd=tmp_path, check=True, capture_output=True)

    def block_stop_signals() -> None:  # as a supervisor or test runner with SIGINT blocked would pass on
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})

    proc = subprocess.Popen(
        [*workbench, "run"],
        cwd=tmp_path,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=block_stop_signals if masked else None,
    )
    started.append(proc)
    assert proc.stderr is not None
    while not (tmp_path / "entered-1").exists():  # the handler is now blocked in time.sleep
        assert proc.poll() is None, proc.stderr.read()
        signal.pthread_sigmask(signal.SIG_BLOCK, [])  # yield without a timed sleep
    return proc


def _done_refs(tmp_path: Path) -> list[str]:
    store = open_store(tmp_path / "st", read_only=True)
    try:
        return sorted(doc["ref"] for doc in store.rows("aggregate:done").values())
    finally:
        store.close()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_second_signal_stops_run_now_and_the_message_is_delivered_again(tmp_path, sig, started_runs):
    proc = _start_blocked_run(tmp_path, started_runs)
    assert proc.stderr is not None
    proc.send_signal(sig)
    # Two signals sent at once merge into one: wait until the first was seen. Read the pipe's
    # bytes, not proc.stderr's lines: two lines that arrive together would leave the second
    # in the text wrapper's buffer, where select() cannot see it (this test hung on that).
    seen = b""
    while b"stopping after the current message" not in seen:
        # A generous guard against hanging on a process that never answers, not a speed check.
        ready, _, _ = select.select([proc.stderr], [], [], 60)
        assert ready, f"no notice of the first signal; stderr so far: {seen!r}"
        seen += os.read(proc.stderr.fileno(), 65536)
    proc.send_signal(sig)
    _out, err = proc.communicate(timeout=60)
    err = seen.decode() + err
    assert "not acknowledged and will be delivered again" in err
    assert "Traceback" not in err
    assert _done_refs(tmp_path) == []
    (tmp_path / "release").touch()
    workbench = [sys.executable, "-m", "workbench", "--domain", "domain.py", "--store", "st"]
    subprocess.run([*workbench, "process"], cwd=tmp_path, check=True, capture_output=True, timeout=60)
    assert _done_refs(tmp_path) == ["1", "2"]


@pytest.mark.parametrize("masked", [False, True], ids=["plain", "started-with-stop-signals-blocked"])
def test_the_first_signal_stops_run_after_the_current_message(tmp_path, started_runs, masked):
    proc = _start_blocked_run(tmp_path, started_runs, masked=masked)
    proc.send_signal(signal.SIGINT)
    # the stop is asked for while the handler still blocks; then the handler finishes
    (tmp_path / "release").touch()
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "stopping after the current message" in err
    assert _done_refs(tmp_path) == ["1"]  # the current message finished, the next one waits


def test_a_third_signal_while_cursors_are_saved_cannot_cut_the_saving_short(store_dir):
    domain = payments_domain(store=open_store(store_dir))
    pay(domain, 1, 2, 3)
    engine = Engine(domain)
    flushed: list[str] = []
    for subscription in engine.subscriptions:
        original = subscription.flush

        def flush(original=original, name=subscription.name):
            # An impatient operator presses Ctrl-C again while positions are being saved.
            engine._on_signal(signal.SIGINT, None)
            original()
            flushed.append(name)

        subscription.flush = flush
    first = engine.subscriptions[0]
    original_attempt = first.attempt

    def attempt(message, *args, **kwargs):
        engine._on_signal(signal.SIGINT, None)  # first Ctrl-C: stop after this message
        engine._on_signal(signal.SIGINT, None)  # second: stop now
        return original_attempt(message, *args, **kwargs)

    first.attempt = attempt
    tally = engine.process_until_idle()  # neither signal escapes
    assert tally.interrupted
    assert flushed == [s.name for s in engine.subscriptions]
    domain.close()

"""Faults in the async engine: crashes between commits, handlers raising BaseException,
projection rebuilds, runaway sync cascades (stopping by signal: test_engine_signals.py)."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from async_domain import ledger, pay, payments_domain
from conftest import ROOT
from workbench.core import Domain, handle
from workbench.core import dead_letters as dlq
from workbench.core.engine import Engine
from workbench.core.exceptions import HandlerError
from workbench.core.failures import list_failures
from workbench.core.fields import Identifier, Integer
from workbench.core.store import open_store
from workbench.core.subscription import Subscription

SEQUENCED = {"subscription_profile": "fast", "subscription_config": {"dlq_ordering": "sequenced"}}


def _parked_behind_a_dead_letter(store_dir: Path) -> None:
    """Stream A: -1 (dead-lettered head), then 2, 3, 4 parked behind it."""
    domain = payments_domain(store=open_store(store_dir), subscription=SEQUENCED)
    domain.fail.add(-1)
    pay(domain, -1, 2, 3, 4)
    engine = Engine(domain)
    engine.process_until_idle()
    assert len(domain.store.rows("parked")) == 3 and len(dlq.list_dead_letters(engine)) == 1
    domain.close()


KILL_BETWEEN_COMMITS = textwrap.dedent(
    """
    import os, signal, sys
    sys.path[:0] = [{root!r}, {tests!r}]
    from async_domain import payments_domain
    from workbench.core import dead_letters as dlq
    from workbench.core.engine import Engine
    from workbench.core.store import open_store
    from workbench.core.subscription import Subscription

    # Once the head's removal is committed, release() would deliver what it held back:
    # die right there, for real.
    def release(self, stream, tally):
        if not self.domain.store.rows("dead_letters"):
            os.kill(os.getpid(), signal.SIGKILL)

    Subscription.release = release
    domain = payments_domain(store=open_store({path!r}), subscription={sequenced!r})
    engine = Engine(domain)
    {action}
    """
)


@pytest.mark.parametrize(
    "action",
    [
        "dlq.replay(engine, dlq.list_dead_letters(engine)[0].id)",
        "dlq.replay_all(engine)",
        "dlq.skip(engine, dlq.list_dead_letters(engine)[0].id)",
        "dlq.purge(engine)",
    ],
)
def test_sigkill_between_a_head_and_its_release_loses_nothing(tmp_path, store_dir, action):
    _parked_behind_a_dead_letter(store_dir)
    script = tmp_path / "kill.py"
    script.write_text(
        KILL_BETWEEN_COMMITS.format(
            root=str(ROOT), tests=str(ROOT / "tests"), path=str(store_dir), sequenced=SEQUENCED, action=action
        )
    )
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, timeout=120)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    domain = payments_domain(store=open_store(store_dir), subscription=SEQUENCED)
    try:
        engine = Engine(domain)
        assert dlq.list_dead_letters(engine) == []  # the head is gone: nothing blocks the stream now
        assert len(domain.store.rows("parked")) == 3  # ...and the killed process released nothing
        pay(domain, 5)  # a later message of another stream
        engine.process_until_idle()
        assert domain.store.rows("parked") == {}
        released = sorted(a for a in ledger(domain) if a in (2, 3, 4))
        assert released == [2, 3, 4]
        assert 5 in ledger(domain)
    finally:
        domain.close()


def test_a_retry_that_succeeds_then_crashes_before_release_is_resumed(store_dir, monkeypatch):
    domain = payments_domain(store=open_store(store_dir), subscription=SEQUENCED)
    domain.fail.add(-1)
    pay(domain, -1, 2)
    engine = Engine(domain)
    engine.process(2)  # -1 fails once (a retry is pending), 2 parks behind it
    assert len(domain.store.rows("parked")) == 1 and len(domain.store.rows("pending")) == 1
    domain.fail.clear()

    def crash(*_args, **_kwargs):
        raise RuntimeError("crashed before releasing")

    monkeypatch.setattr(Subscription, "release", crash)
    with pytest.raises(RuntimeError):
        engine.process_until_idle()
    monkeypatch.undo()
    assert ledger(domain) == [-1] and len(domain.store.rows("parked")) == 1
    Engine(domain).process_until_idle()
    assert sorted(ledger(domain)) == [-1, 2] and domain.store.rows("parked") == {}
    domain.close()


# -- handlers raising BaseException --------------------------------------------------------


def _raising_domain(store, raised: BaseException, *, processing: str = "async") -> Domain:
    domain = Domain(name="Raising")
    domain.config["event_processing"] = processing
    domain.seen = []  # type: ignore[attr-defined]

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
    class Worker:
        @handle(Started)
        def work(self, event):
            if event.n < 0:
                raise raised
            domain.repository_for(Done).add(Done(ref=str(event.n)))

        @classmethod
        def handle_error(cls, exc, message):
            domain.seen.append(type(exc).__name__)

    domain.init()
    domain.bind_store(store)
    return domain


RAISED = [SystemExit(3), KeyboardInterrupt(), GeneratorExit(), BaseException("bare")]


@pytest.mark.parametrize("raised", RAISED, ids=lambda e: type(e).__name__)
def test_a_handler_raising_base_exception_is_its_own_failure(store_dir, raised):
    domain = _raising_domain(open_store(store_dir), raised)
    with domain.domain_context():
        for n in (1, -1, 2):
            domain.repository_for(domain.registry.aggregates["Job"]).add(_job(domain, n))
        engine = Engine(domain)
        tally = engine.process_until_idle()
        assert tally.failed == 2 and tally.dead_lettered == 1  # fast: 2 attempts, then the DLQ
        [letter] = dlq.list_dead_letters(engine)
        assert letter.error_type == type(raised).__name__
        refs = sorted(doc["ref"] for doc in domain.store.rows("aggregate:done").values())
        assert refs == ["1", "2"]  # later messages ran
        assert domain.seen == [type(raised).__name__] * 2  # handle_error on each attempt
    domain.close()


def _job(domain, n):
    job = domain.registry.aggregates["Job"](n=n)
    job.raise_(domain.registry.events["Started"](n=n))
    return job


@pytest.mark.parametrize("raised", RAISED, ids=lambda e: type(e).__name__)
def test_a_sync_handler_raising_base_exception_is_recorded(raised):
    domain = _raising_domain(open_store(None), raised, processing="sync")
    with domain.domain_context():
        with pytest.raises(HandlerError, match=type(raised).__name__):
            domain.repository_for(domain.registry.aggregates["Job"]).add(_job(domain, -1))
        [failure] = list_failures(domain)
        assert failure.error_type == type(raised).__name__
        domain.repository_for(domain.registry.aggregates["Job"]).add(_job(domain, 1))
        assert [doc["ref"] for doc in domain.store.rows("aggregate:done").values()] == ["1"]


SYS_EXIT_DOMAIN = """
import sys
from protean import Domain, handle
from protean.fields import Integer, Identifier

domain = Domain()
domain.config["event_processing"] = "sync"

@domain.aggregate
class Job:
    n = Integer()

@domain.event(part_of=Job)
class Started:
    n = Integer()

@domain.event_handler(part_of=Job, stream_category="job")
class Quitter:
    @handle(Started)
    def work(self, event):
        sys.exit(3)
"""


def test_sys_exit_in_a_sync_handler_is_a_recorded_failure_on_the_cli(tmp_path):
    (tmp_path / "domain.py").write_text(SYS_EXIT_DOMAIN)
    workbench = [sys.executable, "-m", "workbench", "--domain", "domain.py", "--store", "st"]
    raised = subprocess.run([*workbench, "raise", "Started", "n=1"], cwd=tmp_path, capture_output=True, text=True)
    assert raised.returncode == 1, raised.stderr
    assert "Quitter.work" in raised.stderr + raised.stdout and "SystemExit" in raised.stderr + raised.stdout
    store = open_store(tmp_path / "st", read_only=True)
    try:
        [failure] = store.rows("failures").values()
        assert failure["error_type"] == "SystemExit" and failure["handler"] == "Quitter"
    finally:
        store.close()


# -- projection rebuild and the async cursor ----------------------------------------------


def test_rebuild_moves_the_async_projector_cursor_in_the_swap_commit(store_dir):
    from test_consumers import place, shop, totals
    from workbench.core.rebuild import rebuild

    domain = shop("async", store=open_store(store_dir))
    for _ in range(3):
        place(domain, "ada", 1)
    engine = Engine(domain)  # like the shell's session: built before the rebuild
    with domain.domain_context():
        engine.process(1)  # the projector is one event in
        [report] = rebuild(domain, "CustomerTotal")
        assert totals(domain) == {"ada": 3} and report.events == 3
        engine.process_until_idle()
        assert totals(domain) == {"ada": 3}  # not 5: nothing applied twice
    domain.close()
    # ...and a fresh process reads the moved cursor from disk
    domain = shop("async", store=open_store(store_dir))
    with domain.domain_context():
        place(domain, "ada", 10)
        Engine(domain).process_until_idle()
        assert totals(domain) == {"ada": 13}
    domain.close()


# -- runaway sync cascades ----------------------------------------------------------------


def _ping_pong(depth: int | None) -> Domain:
    domain = Domain(name="PingPong")
    domain.config["event_processing"] = "sync"
    if depth is not None:
        domain.config["max_cascade_depth"] = depth

    @domain.aggregate
    class Ball:
        hits = Integer(default=0)

    @domain.event(part_of=Ball)
    class Ping:
        n = Integer()

    @domain.event(part_of=Ball)
    class Pong:
        n = Integer()

    def hit(event, cls):
        ball = Ball(hits=event.n + 1)
        ball.raise_(cls(n=event.n + 1))
        domain.repository_for(Ball).add(ball)

    @domain.event_handler(part_of=Ball, stream_category="ball")
    class Player:
        @handle(Ping)
        def ping(self, event):
            hit(event, Pong)

        @handle(Pong)
        def pong(self, event):
            hit(event, Ping)

    domain.init()
    domain.bind_store(open_store(None))
    return domain


@pytest.mark.parametrize("depth", [None, 7])
def test_an_endless_sync_cascade_stops_at_the_configured_depth(depth):
    domain = _ping_pong(depth)
    limit = depth or 100
    with domain.domain_context():
        ball = domain.registry.aggregates["Ball"]()
        ball.raise_(domain.registry.events["Ping"](n=0))
        with pytest.raises(HandlerError, match="max_cascade_depth") as caught:
            domain.repository_for(domain.registry.aggregates["Ball"]).add(ball)
    [failure] = caught.value.failures
    assert failure.error_type == "CascadeDepthError"
    # a chain of `limit` events (the origin's first); the runaway level never got in
    assert domain.store.event_count() == limit
    assert max(d["hits"] for d in domain.store.rows("aggregate:ball").values()) == limit - 1


# -- stopping `workbench run` while a handler blocks --------------------------------------

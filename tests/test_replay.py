"""Replaying history through handlers: the replay flag, opt-outs, failures, dry runs."""

from __future__ import annotations

import pytest
from workbench.core import Domain, current_domain, handle
from workbench.core.dead_letters import list_dead_letters
from workbench.core.engine import Engine
from workbench.core.exceptions import IncorrectUsageError
from workbench.core.failures import list_failures
from workbench.core.fields import Identifier, Integer
from workbench.core.replay import replay
from workbench.core.store import open_store


def mail_domain():
    domain = Domain(name="Mail")
    domain.config["event_processing"] = "sync"
    domain.sent = []  # type: ignore[attr-defined]

    @domain.aggregate
    class Order:
        ref = Identifier()

    @domain.aggregate
    class Stats:
        name = Identifier(required=True)
        count = Integer(default=0)

    @domain.event(part_of=Order)
    class Placed:
        amount = Integer()

    @domain.event_handler(part_of=Stats, stream_category="order")
    class Count:
        @handle(Placed)
        def count(self, event):
            if event.amount < 0:
                raise ValueError("negative")
            repo = current_domain.repository_for(Stats)
            found = repo.filter(name="placed")
            stats = found[0] if found else Stats(name="placed")
            stats.count += 1
            repo.add(stats)

    @domain.event_handler(part_of=Order)
    class Email:
        @handle(Placed)
        def send(self, event):
            if not current_domain.is_replaying:
                domain.sent.append(event.amount)

    @domain.event_handler(part_of=Order, replayable=False)
    class Billing:
        @handle(Placed)
        def bill(self, event):
            pass

    domain.init()
    domain.bind_store(open_store(None))
    return domain


def place(domain, *amounts):
    Order = domain.registry.aggregates["Order"]
    Placed = domain.registry.events["Placed"]
    with domain.domain_context():
        for amount in amounts:
            order = Order(ref="r")
            order.raise_(Placed(amount=amount))
            try:
                domain.repository_for(Order).add(order)
            except Exception:
                pass


def count(domain):
    return domain.repository_for("Stats").all()[0].count


def test_replay_delivers_in_order_with_the_replay_flag():
    domain = mail_domain()
    place(domain, 1, 2, 3)
    assert domain.sent == [1, 2, 3] and count(domain) == 3
    report = replay(domain, "order")
    assert report.messages == 3 and count(domain) == 6
    assert domain.sent == [1, 2, 3]  # the e-mail handler saw is_replaying and sent nothing
    assert report.tally.by_handler == {
        "Count": {"delivered": 3},
        "Email": {"delivered": 3},
        "Billing": {"skipped": 3},
    }


def test_replay_one_handler_and_bounds():
    domain = mail_domain()
    place(domain, 1, 2, 3)
    report = replay(domain, "mail::order", handler="Count", from_position=2, to_position=2)
    assert report.messages == 1 and count(domain) == 4
    assert set(report.tally.by_handler) == {"Count"}
    with pytest.raises(IncorrectUsageError, match="did you mean Count"):
        replay(domain, "order", handler="Cont")
    with pytest.raises(IncorrectUsageError, match="takes a category"):
        replay(domain, "order-1")


def test_failures_are_recorded_and_the_replay_goes_on():
    domain = mail_domain()
    place(domain, 1, -1, 2)
    before = len(list_failures(domain))
    report = replay(domain, "order")
    assert report.failed == 1 and count(domain) == 4
    failures = list_failures(domain)[before:]
    assert [(f.handler, f.mode) for f in failures] == [("Count", "replay")]
    assert list_dead_letters(Engine(domain)) == []  # event_store subscriptions have no DLQ


def test_dry_run_commits_nothing_and_reports_changes():
    domain = mail_domain()
    place(domain, 1)
    seq = domain.store.state.seq
    report = replay(domain, "order", dry_run=True)
    assert domain.store.state.seq == seq and count(domain) == 1
    [change] = report.changes
    assert change["change"] == "updated" and change["fields"] == {"count": {"from": 1, "to": 2}}


def test_traces_say_what_replays_did():
    from workbench.core.trace import causation_tree

    domain = mail_domain()
    place(domain, 1)
    replay(domain, "order")
    replay(domain, "order", handler="Count")
    [root] = causation_tree(domain, domain.event_store.read("order")[0].id)
    details = {o.handler: (o.status, o.detail) for o in root.outcomes}
    assert details == {
        "Count": ("ok", "replayed 2 time(s)"),
        "Email": ("ok", "replayed 1 time(s)"),
        "Billing": ("ok", "skipped in 1 replay(s)"),
    }
    dry = domain.store.state.seq
    replay(domain, "order", dry_run=True)
    assert domain.store.state.seq == dry  # a dry run records nothing


def _seen_from_another_thread(domain):
    """What a second thread (the shell's toolbar, a file watcher) sees right now."""
    import threading

    seen = {}

    def look():
        seen["store"] = domain.store
        seen["count"] = count(domain)

    thread = threading.Thread(target=look)
    thread.start()
    thread.join()
    return seen


def test_a_dry_run_never_shows_its_scratch_store_to_other_threads():
    domain = mail_domain()
    place(domain, 1)
    real = domain.store
    during = []

    def progress(done, total):
        # Called on the replaying thread, in the middle of the dry run.
        during.append((domain.store is not real, _seen_from_another_thread(domain)))

    replay(domain, "order", dry_run=True, progress=progress)
    [(works_on_scratch, seen)] = during
    assert works_on_scratch  # the replay itself writes to its own store...
    assert seen["store"] is real and seen["count"] == 1  # ...which no other thread ever sees
    assert domain.store is real and count(domain) == 1


def test_a_replay_that_compacts_the_store_as_it_goes_delivers_each_event_once(tmp_path):
    domain = mail_domain()
    domain.bind_store(open_store(tmp_path / "store"))
    place(domain, *range(1, 301))
    domain.store.compact()  # the first half is read from the compacted files...
    place(domain, *range(301, 601))  # ...the rest from the journal
    domain.store.persistence.compact_min_bytes = 2_000  # and the replay's own commits compact often
    before = count(domain)
    seen: list[tuple[int, int]] = []
    report = replay(domain, "order", handler="Count", progress=lambda done, total: seen.append((done, total)))
    assert report.messages == 600 and count(domain) == before + 600
    assert seen[-1] == (600, 600)
    bounded = replay(domain, "order", handler="Count", from_position=10, to_position=19)
    assert bounded.messages == 10

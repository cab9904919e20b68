"""Async processing: subscriptions, retries, dead letters, ordering, status."""

from __future__ import annotations

import threading
import time

import pytest
from async_domain import ledger, pay, payments_domain
from workbench.core import dead_letters as dlq
from workbench.core.context import message_context
from workbench.core.engine import Engine
from workbench.core.exceptions import ConfigurationError, ObjectNotFoundError
from workbench.core.failures import list_failures
from workbench.core.message import Message
from workbench.core.store import open_store
from workbench.core.subscription_config import PROFILES, resolve


def test_async_save_returns_and_the_engine_delivers_later():
    domain = payments_domain()
    pay(domain, 5, 7)
    assert ledger(domain) == []
    engine = Engine(domain)
    assert [s.lag for s in engine.status()] == [2, 2, 0]
    tally = engine.process_until_idle()
    assert ledger(domain) == [5, 7]
    assert domain.calls["Notify"] == 2
    # Booked events raised by Book were processed by AfterBooking in the same run
    assert tally.by_handler["AfterBooking"]["delivered"] == 2
    assert [(s.handler, s.position, s.lag, s.state) for s in engine.status()] == [
        ("Book", 2, 0, "ok"),
        ("Notify", 2, 0, "ok"),
        ("AfterBooking", 4, 0, "ok"),
    ]


def test_events_raised_by_async_handlers_carry_causation():
    domain = payments_domain()
    pay(domain, 5)
    Engine(domain).process_until_idle()
    paid, booked = domain.event_store.read("$all")
    assert booked.causation_id == paid.id and booked.correlation_id == paid.correlation_id
    assert booked.origin_stream == paid.stream_name


def test_stream_retries_then_dead_letters_with_details():
    domain = payments_domain()
    domain.fail.add(-1)
    pay(domain, 5, -1, 7)
    engine = Engine(domain)
    engine.process_until_idle()
    assert ledger(domain) == [5, 7]  # independent ordering: 7 flowed past the failure
    assert domain.calls["Book"] == 2 + PROFILES["fast"]["max_retries"]  # fast: 2 attempts in total
    assert domain.calls["errors"] == [("ValueError", "Pay.Paid.v1")] * 2  # handle_error on every attempt
    [letter] = dlq.list_dead_letters(engine)
    assert letter.handler == "Book" and letter.subscription == "payment:dlq"
    assert letter.error_type == "ValueError" and letter.error == "cannot book -1"
    assert "cannot book -1" in letter.traceback and letter.attempts == 2
    assert letter.first_failed_at <= letter.last_failed_at
    message = domain.event_store.get_message(letter.message_id)
    assert message.data == {"amount": -1}
    status = {s.handler: s for s in engine.status()}["Book"]
    assert (status.dlq_depth, status.pending, status.state) == (1, 0, "failing")
    assert status.last_error["message"] == "cannot book -1"


def test_replay_goes_to_that_handler_only_and_is_atomic():
    domain = payments_domain()
    domain.fail.add(-1)
    pay(domain, -1)
    engine = Engine(domain)
    engine.process_until_idle()
    notify_calls = domain.calls["Notify"]
    [letter] = dlq.list_dead_letters(engine, handler="Book")
    failed = dlq.replay(engine, letter.id)
    assert not failed.ok and failed.dead_letter.attempts == 3 and "cannot book" in failed.error
    domain.fail.clear()
    result = dlq.replay(engine, letter.id[:8])
    assert result.ok and ledger(domain) == [-1]
    assert domain.calls["Notify"] == notify_calls  # Notify had succeeded: not delivered again
    assert dlq.list_dead_letters(engine) == []
    with pytest.raises(ObjectNotFoundError):
        dlq.get_dead_letter(engine, letter.id)


def test_replay_all_purge_and_filters():
    domain = payments_domain()
    domain.fail.update({-1, -2, -3})
    pay(domain, -1, -2)
    pay(domain, -3)
    engine = Engine(domain)
    engine.process_until_idle()
    assert len(dlq.list_dead_letters(engine, category="payment")) == 3
    assert dlq.list_dead_letters(engine, category="ledger") == []
    assert dlq.list_dead_letters(engine, handler="Notify") == []
    domain.fail.discard(-1)
    domain.fail.discard(-2)
    results = dlq.replay_all(engine, handler="Book", limit=2)
    assert [r.ok for r in results] == [True, True]
    assert ledger(domain) == [-2, -1]
    assert dlq.purge(engine, category="pay::payment") == 1
    assert dlq.list_dead_letters(engine) == []


def test_sequenced_dead_letters_hold_their_stream_and_release_in_order():
    domain = payments_domain(
        subscription={"subscription_profile": "fast", "subscription_config": {"dlq_ordering": "sequenced"}}
    )
    domain.fail.add(-1)
    first = pay(domain, 1, -1, 2, 3)
    pay(domain, 10)  # another stream keeps flowing
    pay(domain, 4, payment=first)
    engine = Engine(domain)
    tally = engine.process_until_idle()
    assert ledger(domain) == [1, 10]
    assert tally.by_handler["Book"]["parked"] == 3
    domain.fail.clear()
    [head] = dlq.list_dead_letters(engine)
    assert dlq.replay(engine, head.id).ok
    amounts = [row.amount for row in sorted(domain.repository_for("Ledger").all(), key=lambda r: r.ref)]
    assert ledger(domain) == [-1, 1, 2, 3, 4, 10]
    assert domain.store.rows("parked") == {}
    # the released messages were delivered in stream order
    booked = [domain.event_store.get_message(r.ref).data["amount"] for r in domain.repository_for("Ledger").all()]
    assert booked[booked.index(-1) :] == [-1, 2, 3, 4]
    del amounts


def test_skipping_a_sequenced_head_releases_the_rest():
    domain = payments_domain(
        subscription={"subscription_profile": "fast", "subscription_config": {"dlq_ordering": "sequenced"}}
    )
    domain.fail.add(-1)
    pay(domain, -1, 2)
    engine = Engine(domain)
    engine.process_until_idle()
    assert ledger(domain) == []
    [head] = dlq.list_dead_letters(engine)
    dlq.skip(engine, head.id)
    assert ledger(domain) == [2]


def test_event_store_subscriptions_record_and_move_on():
    domain = payments_domain(subscription={"subscription_type": "event_store"})
    domain.fail.add(-1)
    pay(domain, -1, 3)
    engine = Engine(domain)
    engine.process_until_idle()
    assert domain.calls["Book"] == 2 and ledger(domain) == [3]
    assert dlq.list_dead_letters(engine) == []
    [failure] = [f for f in list_failures(domain) if f.handler == "Book"]
    assert failure.mode == "async" and failure.error == "cannot book -1"
    assert domain.calls["errors"] == [("ValueError", "Pay.Paid.v1")]


def test_without_dlq_exhausted_messages_are_dropped_with_a_record():
    domain = payments_domain(
        subscription={
            "subscription_type": "stream",
            "subscription_config": {"enable_dlq": False, "max_retries": 2, "retry_delay_seconds": 0},
        }
    )
    domain.fail.add(-1)
    pay(domain, -1)
    engine = Engine(domain)
    engine.process_until_idle()
    assert domain.calls["Book"] == 2 and dlq.list_dead_letters(engine) == []
    assert [f.handler for f in list_failures(domain)] == ["Book"]


def test_attempt_counts_survive_a_restart(store_dir):
    options = {"subscription_type": "stream", "subscription_config": {"max_retries": 3, "retry_delay_seconds": 0}}
    domain = payments_domain(store=open_store(store_dir), subscription=options)
    domain.fail.add(-1)
    pay(domain, -1)
    Engine(domain).process(limit=1)  # first attempt only
    domain.close()
    for expected_attempts in (2, 3):
        domain = payments_domain(store=open_store(store_dir), subscription=options)
        domain.fail.add(-1)
        engine = Engine(domain)
        engine.process(limit=1)
        if expected_attempts < 3:
            assert engine.subscription("Book").pending()[0]["attempts"] == expected_attempts
        domain.close()
    domain = payments_domain(store=open_store(store_dir), subscription=options)
    engine = Engine(domain)
    [letter] = dlq.list_dead_letters(engine)
    assert letter.attempts == 3
    domain.close()


def test_retry_delay_backs_off_exponentially_and_waits_are_honoured():
    options = {"subscription_type": "stream", "subscription_config": {"max_retries": 3, "retry_delay_seconds": 0.05}}
    domain = payments_domain(subscription=options)
    config = domain.registry.event_handlers["Book"].meta_.subscription
    assert [config.retry_delay(n) for n in (1, 2, 3)] == [0.05, 0.1, 0.2]
    domain.fail.add(-1)
    pay(domain, -1)
    engine = Engine(domain)
    start = time.monotonic()
    engine.process_until_idle()
    assert time.monotonic() - start >= 0.15
    assert len(dlq.list_dead_letters(engine)) == 1
    assert Engine(domain).process_until_idle(wait_for_retries=False).handled == 0


def test_source_stream_never_stalls_on_filtered_messages():
    domain = payments_domain(
        subscription={"source_stream": "checkout", "subscription_config": {"messages_per_tick": 1}}
    )
    pay(domain, *range(1, 30))  # raised with no origin: filtered out
    checkout = Message({"id": "c-1", "stream_name": "checkout-9", "metadata": {"correlation_id": "c-1"}})
    with message_context(checkout):
        pay(domain, 100)  # raised while handling a checkout message: origin checkout-9
    engine = Engine(domain)
    tally = engine.process_until_idle()
    book = engine.subscription("Book")
    assert ledger(domain) == [100]
    assert book.position == 30 and book.lag() == 0
    assert tally.by_handler["Book"]["skipped"] == 29
    assert domain.store.get("cursors", "Book")["position"] == 30


def test_sync_messages_are_skipped_by_the_engine():
    domain = payments_domain()
    domain.config["event_processing"] = "sync"
    pay(domain, 5)  # handled inline
    assert ledger(domain) == [5]
    domain.config["event_processing"] = "async"
    Engine(domain).process_until_idle()
    assert ledger(domain) == [5]


def test_process_limit_and_run_stop():
    domain = payments_domain()
    pay(domain, *range(10))
    engine = Engine(domain)
    assert engine.process(limit=4).handled == 4
    thread_done = threading.Event()

    def stopper():
        time.sleep(0.3)
        engine.stop()
        thread_done.set()

    threading.Thread(target=stopper).start()
    engine.run(poll_seconds=0.01)
    assert thread_done.is_set()
    assert ledger(domain) == list(range(10))
    assert domain.store.get("cursors", "Notify")["position"] == 10


def test_profiles_match_protean():
    expected = {
        "production": ("stream", 100, 5000, 3, 1, True, 10),
        "fast": ("stream", 10, 100, 2, 0, True, 5),
        "batch": ("stream", 500, 10000, 5, 2, True, 50),
        "debug": ("stream", 1, 1000, 1, 0, False, 1),
        "projection": ("event_store", 100, 5000, 3, 1, False, 10),
    }
    for profile, row in expected.items():
        domain = payments_domain(subscription={"subscription_profile": profile})
        c = domain.registry.event_handlers["Book"].meta_.subscription
        got = (
            c.subscription_type,
            c.messages_per_tick,
            c.blocking_timeout_ms,
            c.max_retries,
            c.retry_delay_seconds,
            c.enable_dlq,
            c.position_update_interval,
        )
        assert got == row, profile


def test_priority_from_defaults_to_the_handler():
    def book(subscription=None, server=None):
        domain = payments_domain(subscription=subscription or {}, server=server)
        return domain.registry.event_handlers["Book"].meta_.subscription

    assert book().subscription_type == "event_store" and book().enable_dlq is False
    assert book(server={"default_subscription_profile": "batch"}).messages_per_tick == 500
    server = {"messages_per_tick": 7, "subscriptions": {"Book": {"profile": "debug", "max_retries": 4}}}
    assert (book(server=server).messages_per_tick, book(server=server).max_retries) == (1, 4)
    assert book({"subscription_profile": "fast"}, server).max_retries == 2  # handler profile beats server entry
    chosen = book(
        {"subscription_profile": "production", "subscription_config": {"messages_per_tick": 7, "max_retries": 9}}
    )
    assert (chosen.subscription_type, chosen.messages_per_tick, chosen.blocking_timeout_ms, chosen.max_retries) == (
        "stream",
        7,
        5000,
        9,
    )
    assert book({"subscription_profile": "production", "subscription_type": "event_store"}).enable_dlq is False


@pytest.mark.parametrize(
    ("subscription", "message"),
    [
        ({"subscription_profile": "nope"}, "unknown subscription profile 'nope'; valid profiles: production, fast"),
        ({"subscription_type": "redis"}, "unknown subscription type 'redis'; valid types: stream, event_store"),
        (
            {"subscription_config": {"retries": 2}},
            "unknown subscription setting.s. retries; valid settings: messages_per_tick",
        ),
        ({"subscription_config": {"dlq_ordering": "fifo"}}, "unknown dlq_ordering 'fifo'"),
        ({"subscription_config": {"messages_per_tick": 0}}, "messages_per_tick must be a positive whole number"),
    ],
)
def test_bad_settings_are_errors_listing_the_valid_ones(subscription, message):
    with pytest.raises(ConfigurationError, match=message):
        payments_domain(subscription=subscription)


def test_resolved_config_can_be_asked_for():
    domain = payments_domain()
    assert resolve(domain, domain.registry.event_handlers["Notify"]).to_dict()["subscription_type"] == "stream"


def test_replay_all_interrupted_midway_loses_and_duplicates_nothing(monkeypatch):
    domain = payments_domain()
    domain.fail.update({-1, -2})
    pay(domain, -1, -2)
    engine = Engine(domain)
    engine.process_until_idle()
    domain.fail.clear()
    persistence = domain.store.persistence
    real_append = persistence.append
    calls = {"n": 0}

    def dying_append(seq, ops):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt  # the process is stopped in the middle of the second replay
        real_append(seq, ops)

    monkeypatch.setattr(persistence, "append", dying_append)
    with pytest.raises(KeyboardInterrupt):
        dlq.replay_all(engine)
    monkeypatch.undo()
    remaining = dlq.list_dead_letters(engine)
    assert ledger(domain) == [-1] and [
        domain.event_store.get_message(d.message_id).data["amount"] for d in remaining
    ] == [-2]
    dlq.replay_all(engine)
    assert ledger(domain) == [-2, -1] and dlq.list_dead_letters(engine) == []

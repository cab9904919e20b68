"""The contract every broker adapter passes: subclass :class:`BrokerContract` in a test module.

Example::

    from workbench.core.broker.contract import BrokerContract

    class TestMyBroker(BrokerContract):
        def make_broker(self):
            return MyBroker(self.url)     # a connection to a running broker

Each test works on streams with fresh, unique names, so tests need no cleanup between
them. Brokers are closed after each test. pytest must be installed (the module imports it).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from workbench.core.broker.port import BrokerPort, dlq_stream

__all__ = ["BrokerContract"]

IDLE_MS = 200
"""How long a pending message must idle before another consumer may claim it (in the tests)."""


class BrokerContract:
    """Abstract pytest class: every ``test_*`` runs against the adapter of the subclass."""

    __test__ = False  # only concrete subclasses are collected

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.__test__ = True

    def make_broker(self) -> BrokerPort:
        """A connection to the broker (override); several may be open at once."""
        raise NotImplementedError

    @pytest.fixture(autouse=True)
    def _close_brokers(self) -> Iterator[None]:
        self._opened: list[BrokerPort] = []
        yield
        for broker in reversed(self._opened):
            broker.close()

    def new(self) -> BrokerPort:
        broker = self.make_broker()
        self._opened.append(broker)
        return broker

    @staticmethod
    def stream() -> str:
        """A stream name no other test uses."""
        return f"order{uuid.uuid4().hex[:10]}"

    # -- delivery ---------------------------------------------------------------------

    def test_a_group_receives_each_message_once_in_order(self) -> None:
        broker, stream = self.new(), self.stream()
        broker.ensure_group(stream, "g")
        ids = [broker.publish(stream, {"n": n, "name": "Zoë"}) for n in range(3)]
        got = broker.consume(stream, "g", "c1", count=10)
        assert [d.payload for d in got] == [{"n": n, "name": "Zoë"} for n in range(3)]
        assert [d.id for d in got] == ids and {d.stream for d in got} == {stream}
        assert all(d.deliveries == 1 for d in got)
        assert broker.consume(stream, "g", "c1") == [] and broker.consume(stream, "g", "c2") == []

    def test_a_new_group_starts_at_the_first_message_and_groups_are_independent(self) -> None:
        broker, stream = self.new(), self.stream()
        broker.publish(stream, {"n": 0})
        broker.ensure_group(stream, "early")
        broker.ensure_group(stream, "early")  # idempotent
        broker.publish(stream, {"n": 1})
        broker.ensure_group(stream, "late")
        for group in ("early", "late"):
            assert [d.payload["n"] for d in broker.consume(stream, group, "c")] == [0, 1]

    def test_count_limits_a_batch(self) -> None:
        broker, stream = self.new(), self.stream()
        broker.ensure_group(stream, "g")
        for n in range(5):
            broker.publish(stream, {"n": n})
        assert [d.payload["n"] for d in broker.consume(stream, "g", "c", count=2)] == [0, 1]
        assert [d.payload["n"] for d in broker.consume(stream, "g", "c", count=10)] == [2, 3, 4]

    def test_consumers_of_one_group_share_the_messages(self) -> None:
        broker, other, stream = self.new(), self.new(), self.stream()
        broker.ensure_group(stream, "g")
        for n in range(6):
            broker.publish(stream, {"n": n})
        first = broker.consume(stream, "g", "c1", count=3)
        second = other.consume(stream, "g", "c2", count=10)
        assert sorted(d.payload["n"] for d in first + second) == list(range(6))
        assert len(first) == 3 and len(second) == 3

    def test_consume_waits_for_a_message_when_asked_to(self) -> None:
        broker, publisher, stream = self.new(), self.new(), self.stream()
        broker.ensure_group(stream, "g")
        timer = threading.Timer(0.2, publisher.publish, args=(stream, {"late": True}))
        timer.start()
        try:
            got = broker.consume(stream, "g", "c", block_ms=10_000)
        finally:
            timer.join()
        assert [d.payload for d in got] == [{"late": True}]

    # -- acknowledgement, pending entries, lag ------------------------------------------

    def test_ack_pending_and_lag(self) -> None:
        broker, stream = self.new(), self.stream()
        broker.ensure_group(stream, "g")
        for n in range(4):
            broker.publish(stream, {"n": n})
        assert broker.lag(stream, "g") == 4 and broker.pending(stream, "g") == {}
        one = broker.consume(stream, "g", "c1", count=1)
        two = broker.consume(stream, "g", "c2", count=2)
        assert broker.lag(stream, "g") == 1
        assert broker.pending(stream, "g") == {"c1": 1, "c2": 2}
        assert broker.ack(stream, "g", [d.id for d in two]) == 2
        assert broker.ack(stream, "g", [d.id for d in two]) == 0  # acknowledged already
        assert broker.pending(stream, "g") == {"c1": 1}
        assert broker.ack(stream, "g", [one[0].id]) == 1 and broker.ack(stream, "g", []) == 0
        assert broker.pending(stream, "g") == {}

    # -- dead consumers and dead letters ------------------------------------------------

    def test_a_dead_consumers_pending_messages_are_claimed_after_the_idle_time(self) -> None:
        broker, survivor, stream = self.new(), self.new(), self.stream()
        broker.ensure_group(stream, "g")
        for n in range(3):
            broker.publish(stream, {"n": n})
        taken = broker.consume(stream, "g", "dying", count=2)  # ... and it dies without acking
        assert survivor.claim_stale(stream, "g", "live", idle_ms=60_000) == []  # not idle long enough
        time.sleep(IDLE_MS * 1.5 / 1000)
        claimed = survivor.claim_stale(stream, "g", "live", idle_ms=IDLE_MS)
        assert [d.id for d in claimed] == [d.id for d in taken]
        assert [d.payload["n"] for d in claimed] == [0, 1] and all(d.deliveries == 2 for d in claimed)
        assert survivor.pending(stream, "g") == {"live": 2}
        survivor.ack(stream, "g", [d.id for d in claimed])
        # The message the dying consumer never took is still there for anyone.
        assert [d.payload["n"] for d in survivor.consume(stream, "g", "live")] == [2]

    def test_messages_delivered_too_often_go_to_the_dead_letter_stream(self) -> None:
        broker, stream = self.new(), self.stream()
        broker.ensure_group(stream, "g")
        broker.publish(stream, {"n": 0})
        assert len(broker.consume(stream, "g", "c1")) == 1
        time.sleep(IDLE_MS * 1.5 / 1000)
        [again] = broker.claim_stale(stream, "g", "c2", idle_ms=IDLE_MS, max_deliveries=2)
        assert again.deliveries == 2
        time.sleep(IDLE_MS * 1.5 / 1000)
        assert broker.claim_stale(stream, "g", "c3", idle_ms=IDLE_MS, max_deliveries=2) == []
        assert broker.pending(stream, "g") == {} and broker.lag(stream, "g") == 0
        [letter] = broker.read(dlq_stream(stream))
        assert letter.payload == {"n": 0} and letter.stream == f"{stream}:dlq"
        assert letter.headers["reason"] == "delivered 2 times, never acknowledged"
        assert letter.headers["original_stream"] == stream and letter.headers["group"] == "g"

    def test_dead_letter_moves_a_message_out_of_the_group(self) -> None:
        broker, stream = self.new(), self.stream()
        broker.ensure_group(stream, "g")
        broker.publish(stream, {"n": 0})
        broker.publish(stream, {"n": 1})
        first, second = broker.consume(stream, "g", "c")
        broker.dead_letter(stream, "g", first, "handler raised ValueError: bad")
        assert broker.pending(stream, "g") == {"c": 1}
        [letter] = broker.read(dlq_stream(stream))
        assert letter.payload == {"n": 0} and letter.headers["reason"] == "handler raised ValueError: bad"
        assert letter.headers["original_id"] == first.id
        assert [d.payload["n"] for d in broker.read(stream)] == [0, 1]  # the stream itself keeps its history
        broker.ack(stream, "g", [second.id])

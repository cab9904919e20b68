"""The broker contract: the behaviour every broker adapter keeps, as an abstract test class.

Subclass :class:`BrokerContract` in a test module (name the class ``Test...``) and
implement :meth:`make_broker` to return a fresh, empty broker; :meth:`open_again` may
return a second connection to the same broker (tests of two processes skip without it).
pytest is imported only when this module is.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from workbench.core.broker.port import BrokerPort, Delivery, dead_letter_stream
from workbench.core.broker.worker import BrokerWorker


class BrokerContract:
    """Abstract tests; subclasses provide :meth:`make_broker`."""

    def make_broker(self) -> BrokerPort:
        """Return a fresh broker (every stream a test uses is new to it)."""
        raise NotImplementedError

    def open_again(self, broker: BrokerPort) -> BrokerPort:
        """Return a second, independent connection to ``broker``'s data."""
        pytest.skip("this adapter has no second connection")

    @pytest.fixture
    def broker(self) -> Iterator[BrokerPort]:
        opened = self.make_broker()
        yield opened
        opened.close()

    @pytest.fixture
    def stream(self) -> str:
        return f"test::order-{uuid.uuid4().hex[:8]}"

    def test_each_message_goes_to_one_consumer_of_a_group(self, broker: BrokerPort, stream: str) -> None:
        for n in range(6):
            broker.publish(stream, f"m{n}", {"n": n})
        first = broker.consume(stream, "g", "a", count=4)
        second = broker.consume(stream, "g", "b", count=4)
        assert [d.payload["n"] for d in first] == [0, 1, 2, 3]
        assert [d.payload["n"] for d in second] == [4, 5]
        assert broker.consume(stream, "g", "a") == []

    def test_every_group_sees_every_message(self, broker: BrokerPort, stream: str) -> None:
        broker.publish(stream, "m1", {"n": 1})
        assert [d.message_id for d in broker.consume(stream, "g1", "a")] == ["m1"]
        assert [d.message_id for d in broker.consume(stream, "g2", "a")] == ["m1"]

    def test_a_group_created_before_publishing_reads_from_the_start(self, broker: BrokerPort, stream: str) -> None:
        broker.ensure_group(stream, "g")
        broker.ensure_group(stream, "g")  # idempotent
        broker.publish(stream, "m1", {"n": 1})
        assert [d.message_id for d in broker.consume(stream, "g", "a")] == ["m1"]

    def test_publishing_an_id_twice_appends_it_once(self, broker: BrokerPort, stream: str) -> None:
        assert broker.publish(stream, "m1", {"n": 1}) is True
        assert broker.publish(stream, "m1", {"n": 1}) is False
        assert [d.message_id for d in broker.consume(stream, "g", "a", count=10)] == ["m1"]

    def test_payloads_round_trip(self, broker: BrokerPort, stream: str) -> None:
        payload: dict[str, Any] = {"text": "naïve ✓", "nested": {"list": [1, 2.5, None, True]}, "empty": {}}
        broker.publish(stream, "m1", payload)
        (delivery,) = broker.consume(stream, "g", "a")
        assert delivery.payload == payload
        assert delivery.stream == stream
        assert delivery.attempts == 1

    def test_acknowledged_deliveries_are_never_claimed(self, broker: BrokerPort, stream: str) -> None:
        broker.publish(stream, "m1", {"n": 1})
        broker.publish(stream, "m2", {"n": 2})
        first, _second = broker.consume(stream, "g", "a")
        broker.ack(stream, "g", [first.entry_id])
        time.sleep(0.05)
        claimed = broker.claim_idle(stream, "g", "b", min_idle_ms=10)
        assert [d.message_id for d in claimed] == ["m2"]
        assert claimed[0].attempts == 2

    def test_claims_wait_for_the_idle_timeout(self, broker: BrokerPort, stream: str) -> None:
        broker.publish(stream, "m1", {"n": 1})
        broker.consume(stream, "g", "dead")
        assert broker.claim_idle(stream, "g", "live", min_idle_ms=60_000) == []
        time.sleep(0.05)
        assert [d.message_id for d in broker.claim_idle(stream, "g", "live", min_idle_ms=10)] == ["m1"]
        # Claimed entries now belong to the claimer.
        assert broker.summary(stream, "g").pending == {"live": 1}

    def test_summary_shows_lag_and_pending_per_consumer(self, broker: BrokerPort, stream: str) -> None:
        for n in range(5):
            broker.publish(stream, f"m{n}", {"n": n})
        broker.ensure_group(stream, "g")
        assert broker.summary(stream, "g").lag == 5
        broker.consume(stream, "g", "a", count=2)
        broker.consume(stream, "g", "b", count=1)
        summary = broker.summary(stream, "g")
        assert summary.lag == 2
        assert summary.pending == {"a": 2, "b": 1}
        assert broker.summary(stream, "no-such-group").lag is None

    def test_dead_letters_go_to_the_category_dlq_stream(self, broker: BrokerPort, stream: str) -> None:
        broker.publish(stream, "m1", {"n": 1})
        (delivery,) = broker.consume(stream, "g", "a")
        broker.dead_letter(delivery, "g", reason="ValueError: boom")
        assert dead_letter_stream(stream) == f"{stream}:dlq"
        (letter,) = broker.dead_letters(stream)
        assert letter.message_id == "m1"
        assert letter.payload == {"n": 1}
        assert letter.info["consumer_group"] == "g"
        assert letter.info["failure_reason"] == "ValueError: boom"
        assert letter.info["original_stream"] == stream
        assert broker.summary(stream, "g").pending == {}

    def test_worker_retries_after_backoff_then_dead_letters(self, broker: BrokerPort, stream: str) -> None:
        attempts: list[int] = []

        def always_fails(delivery: Delivery) -> None:
            attempts.append(delivery.attempts)
            raise RuntimeError("down")

        broker.publish(stream, "m1", {"n": 1})
        worker = BrokerWorker(
            broker, stream=stream, group="g", consumer="w", handler=always_fails, max_attempts=3, retry_after_ms=30
        )
        worker.step()
        assert attempts == [1]
        worker.step()  # too early for a retry
        assert attempts == [1]
        deadline = time.monotonic() + 5
        while worker.tally.dead_lettered == 0 and time.monotonic() < deadline:
            time.sleep(0.04)
            worker.step()
        assert attempts == [1, 2, 3]
        assert [letter.message_id for letter in broker.dead_letters(stream)] == ["m1"]
        assert broker.summary(stream, "g").pending == {}

    def test_worker_recovers_a_transient_failure(self, broker: BrokerPort, stream: str) -> None:
        seen: list[str] = []

        def flaky(delivery: Delivery) -> None:
            if delivery.attempts == 1 and delivery.payload["n"] == 1:
                raise RuntimeError("blip")
            seen.append(delivery.message_id)

        for n in range(3):
            broker.publish(stream, f"m{n}", {"n": n})
        worker = BrokerWorker(broker, stream=stream, group="g", consumer="w", handler=flaky, retry_after_ms=20)
        worker.step()
        time.sleep(0.05)
        worker.step()
        assert sorted(seen) == ["m0", "m1", "m2"]
        assert broker.dead_letters(stream) == []
        assert broker.summary(stream, "g").pending == {}

    def test_a_claim_waits_out_the_backoff_of_each_entrys_delivery_count(self, broker: BrokerPort, stream: str) -> None:
        # No clock: a backoff of "an hour" or "none" per delivery count decides, not sleeps.
        hour = 3_600_000
        broker.publish(stream, "m0", {"n": 0})
        assert [d.attempts for d in broker.consume(stream, "g", "w")] == [1]
        assert broker.claim_idle(stream, "g", "w", min_idle_ms=0, backoff_ms=lambda n: hour) == []
        once = broker.claim_idle(stream, "g", "w", min_idle_ms=0, backoff_ms=lambda n: 0 if n == 1 else hour)
        assert [(d.message_id, d.attempts) for d in once] == [("m0", 2)]
        assert broker.claim_idle(stream, "g", "w", min_idle_ms=0, backoff_ms=lambda n: 0 if n == 1 else hour) == []
        twice = broker.claim_idle(stream, "g", "w", min_idle_ms=0, backoff_ms=lambda n: 0)
        assert [d.attempts for d in twice] == [3]

    def test_a_live_worker_takes_over_a_dead_consumers_pending_entries(self, broker: BrokerPort, stream: str) -> None:
        for n in range(4):
            broker.publish(stream, f"m{n}", {"n": n})
        broker.consume(stream, "g", "dead", count=2)  # delivered, never acknowledged: the consumer died
        handled: list[str] = []
        live = BrokerWorker(
            broker, stream=stream, group="g", consumer="live", handler=lambda d: handled.append(d.message_id),
            retry_after_ms=30,
        )  # fmt: skip
        live.step()
        assert handled == ["m2", "m3"]
        time.sleep(0.06)
        live.step()
        assert sorted(handled) == ["m0", "m1", "m2", "m3"]
        assert broker.summary(stream, "g").pending == {}

    def test_a_second_connection_shares_groups_and_dedupe(self, broker: BrokerPort, stream: str) -> None:
        other = self.open_again(broker)
        try:
            broker.publish(stream, "m1", {"n": 1})
            assert other.publish(stream, "m1", {"n": 1}) is False
            assert [d.message_id for d in other.consume(stream, "g", "b")] == ["m1"]
            assert broker.consume(stream, "g", "a") == []
            assert broker.summary(stream, "g").pending == {"b": 1}
        finally:
            other.close()

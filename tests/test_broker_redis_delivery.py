"""Stream handlers on Redis: the outbox relay, consumer groups, claims of a dead consumer's
entries, and effects that happen exactly once whatever crashes where."""

from __future__ import annotations

import dataclasses
import time

import pytest
from conftest import build_shop
from workbench.core.broker.delivery import RECEIPTS, BrokerSubscription
from workbench.core.broker.outbox import OutboxRelay
from workbench.core.store import open_store
from workbench.core.subscription_config import resolve

pytestmark = pytest.mark.redis


@pytest.fixture
def shop(tmp_path):
    domain = build_shop(store=open_store(tmp_path / "store"), processing="async", ids=True)
    with domain.domain_context():
        yield domain
    domain.close()


def _ship(shop, orders: int) -> None:
    Order, Inventory = shop.registry.aggregates["Order"], shop.registry.aggregates["Inventory"]
    shop.repository_for(Inventory).add(Inventory(book_id="b1", in_stock=1000))
    for _ in range(orders):
        order = Order(book_id="b1", quantity=1)
        order.ship_order()
        shop.repository_for(Order).add(order)


def _stock(shop) -> int:
    return shop.repository_for(shop.registry.aggregates["Inventory"]).find_by(book_id="b1").in_stock


def _subscription(
    shop, broker, consumer: str, *, claim_after_ms: int = 100, retry_delay_seconds: float = 0.05
) -> BrokerSubscription:
    handler = shop.registry.event_handlers["ManageInventory"]
    config = dataclasses.replace(resolve(shop, handler), retry_delay_seconds=retry_delay_seconds)
    return BrokerSubscription(shop, handler, config, broker, consumer=consumer, claim_after_ms=claim_after_ms)


def _drain(*subscriptions: BrokerSubscription, until: float = 10.0) -> None:
    deadline = time.monotonic() + until
    quiet = 0
    while time.monotonic() < deadline and quiet < 3:
        handled = sum(s.step() for s in subscriptions)
        quiet = 0 if handled else quiet + 1
        time.sleep(0.05 if not handled else 0)


def test_the_relay_publishes_each_event_once_even_when_its_cursor_was_lost(shop, broker) -> None:
    _ship(shop, 5)
    relay = OutboxRelay(shop.store, broker, categories={"order"})
    assert relay.relay() == 5
    assert relay.relay() == 0
    # A relay that crashed after publishing and before saving its cursor starts over: nothing doubles.
    again = OutboxRelay(shop.store, broker, categories={"order"}, name="restarted")
    assert again.relay() == 0
    assert broker._client.xlen("order") == 5  # type: ignore[attr-defined]


def test_two_consumers_share_the_group_and_every_effect_happens_once(shop, broker) -> None:
    _ship(shop, 20)
    OutboxRelay(shop.store, broker, categories={"order"}).relay()
    first, second = _subscription(shop, broker, "w1"), _subscription(shop, broker, "w2")
    _drain(first, second)
    assert _stock(shop) == 1000 - 20
    assert first.worker.tally.delivered > 0 and second.worker.tally.delivered > 0
    assert first.worker.tally.delivered + second.worker.tally.delivered == 20
    assert broker.summary("order", "ManageInventory").pending == {}
    assert shop.store.count(RECEIPTS) == 20


def test_a_dead_consumers_pending_entries_are_claimed_and_handled_once(shop, broker) -> None:
    _ship(shop, 6)
    OutboxRelay(shop.store, broker, categories={"order"}).relay()
    broker.ensure_group("order", "ManageInventory")
    # The consumer "dead" took three entries and died before handling them.
    taken = broker.consume("order", "ManageInventory", "dead", count=3)
    assert len(taken) == 3
    live = _subscription(shop, broker, "live", claim_after_ms=100)
    _drain(live)
    assert _stock(shop) == 1000 - 6
    assert live.worker.tally.claimed == 3
    assert broker.summary("order", "ManageInventory").pending == {}


def test_a_consumer_killed_after_its_commit_and_before_its_ack_is_not_run_twice(shop, broker) -> None:
    _ship(shop, 3)
    OutboxRelay(shop.store, broker, categories={"order"}).relay()
    crashed = _subscription(shop, broker, "crashed")
    (delivery,) = broker.consume("order", "ManageInventory", "crashed", count=1)
    crashed._deliver(delivery)  # the handler's commit happened; the process died before XACK
    assert _stock(shop) == 999
    live = _subscription(shop, broker, "live", claim_after_ms=100)
    _drain(live)
    assert _stock(shop) == 1000 - 3
    assert live.worker.tally.claimed == 1


def test_a_failing_handler_is_retried_then_dead_lettered_on_the_category_dlq(shop, broker) -> None:
    _ship(shop, 1)
    Order = shop.registry.aggregates["Order"]
    orphan = Order(book_id="no-such-book", quantity=1)  # no inventory row: the handler fails every time
    orphan.ship_order()
    shop.repository_for(Order).add(orphan)
    OutboxRelay(shop.store, broker, categories={"order"}).relay()
    worker = _subscription(shop, broker, "w", claim_after_ms=50)
    _drain(worker, until=10)
    (letter,) = broker.dead_letters("order")
    assert letter.payload["data"]["book_id"] == "no-such-book"
    assert letter.info["consumer_group"] == "ManageInventory"
    assert letter.info["retry_count"] == worker.worker.max_attempts
    assert worker.worker.tally.failed == worker.worker.max_attempts
    assert broker.summary("order", "ManageInventory").pending == {}
    assert _stock(shop) == 999  # the good event was handled once


def test_redis_retries_back_off_exponentially_from_the_subscription_settings(shop, broker) -> None:
    handler = shop.registry.event_handlers["ManageInventory"]
    config = dataclasses.replace(resolve(shop, handler), retry_delay_seconds=0.25)
    subscription = BrokerSubscription(shop, handler, config, broker, consumer="w", claim_after_ms=100)
    # Delivered once: only the claim timeout (a dead consumer's entry looks the same); then doubling.
    assert [subscription.backoff_ms(n) for n in (1, 2, 3, 4, 5)] == [0, 250, 500, 1000, 2000]
    assert [round(config.retry_delay(n) * 1000) for n in (1, 2, 3, 4)] == [250, 500, 1000, 2000]
    assert subscription.worker.backoff_ms == subscription.backoff_ms

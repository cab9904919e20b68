"""What a stored message carries, and how correlation follows handlers."""

from __future__ import annotations

import datetime as dt

import pytest
from conftest import build_shop
from workbench.core import Domain, handle
from workbench.core.exceptions import ExpectedVersionError, HandlerError
from workbench.core.fields import Identifier
from workbench.core.message import checksum
from workbench.core.store import open_store


def test_stored_message_fields(store_dir):
    domain = build_shop(store=open_store(store_dir), ids=True)
    domain.clock = lambda: dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    Order, Inventory = domain.registry.aggregates.values()
    with domain.domain_context():
        domain.repository_for(Inventory).add(Inventory(book_id="b", in_stock=5))
        order = Order(book_id="b", quantity=2)
        order.ship_order()
        domain.repository_for(Order).add(order)
    [message] = domain.event_store.read("$all")
    assert message.id == "id-3"
    assert message.type == "Shop.OrderShipped.v1"
    assert message.stream_name == "order-id-2" and message.stream_category == "order"
    assert message.position == 0 and message.global_position == 1
    assert message.time == "2026-01-02T03:04:05+00:00"
    assert message.data == {"order_id": "id-2", "book_id": "b", "quantity": 2}
    assert message.record["metadata"]["checksum"] == checksum(message.data)
    assert message.correlation_id == "id-3" and message.causation_id is None
    assert message.origin_stream is None
    assert message.metadata.headers.id == "id-3"
    assert message.metadata.domain.stream_category == "order"
    assert message.metadata.event_store.global_position == 1
    assert message.verify_checksum()
    domain.close()


def chain_domain(processing="sync"):
    domain = Domain(name="Chain")
    domain.config["event_processing"] = processing

    @domain.aggregate
    class Order:
        book_id = Identifier()

    @domain.aggregate
    class Inventory:
        book_id = Identifier()

    @domain.event(part_of=Order)
    class OrderShipped:
        book_id = Identifier()

    @domain.event(part_of=Inventory)
    class StockReduced:
        book_id = Identifier()

    @domain.event_handler(part_of=Inventory, stream_category="order")
    class Reserve:
        @handle(OrderShipped)
        def on_shipped(self, event):
            repo = domain.repository_for(Inventory)
            inventory = repo.find_by(book_id=event.book_id)
            inventory.raise_(StockReduced(book_id=event.book_id))
            repo.add(inventory)

    domain.init()
    domain.bind_store(open_store(None))
    return domain, Order, Inventory, OrderShipped


def test_events_raised_by_handlers_carry_causation_correlation_and_origin():
    domain, Order, Inventory, OrderShipped = chain_domain()
    with domain.domain_context():
        domain.repository_for(Inventory).add(Inventory(book_id="b"))
        order = Order(book_id="b")
        order.raise_(OrderShipped(book_id="b"))
        domain.repository_for(Order).add(order)
    shipped, reduced = domain.event_store.read("$all")
    assert reduced.causation_id == shipped.id
    assert reduced.correlation_id == shipped.correlation_id == shipped.id
    assert reduced.origin_stream == shipped.stream_name
    assert reduced.stream_category == "inventory"


def test_global_positions_stay_gapless_after_rollbacks(memory_shop):
    domain = memory_shop
    Order, Inventory = domain.registry.aggregates.values()
    order = Order(book_id="missing", quantity=1)
    order.ship_order()
    with pytest.raises(HandlerError):
        domain.repository_for(Order).add(order)  # handler fails: no inventory
    with pytest.raises(HandlerError):
        other = Order(book_id="missing-too", quantity=1)
        other.ship_order()
        domain.repository_for(Order).add(other)
    domain.repository_for(Inventory).add(Inventory(book_id="b", in_stock=1))
    loser = domain.repository_for(Order).get(order.id)
    winner = domain.repository_for(Order).get(order.id)
    winner.quantity = 5
    domain.repository_for(Order).add(winner)
    loser.quantity = 6
    with pytest.raises(ExpectedVersionError):
        domain.repository_for(Order).add(loser)
    positions = [m.global_position for m in domain.event_store.read("$all")]
    assert positions == list(range(1, len(positions) + 1))


def test_stream_and_category_reads_are_exact(memory_shop):
    domain = memory_shop
    store = domain.event_store
    Order = domain.registry.aggregates["Order"]
    Reorder = None
    orders = []
    for i in range(3):
        order = Order(book_id=f"b{i}", quantity=1)
        order.status = "SHIPPED"
        domain.repository_for(Order).add(order)
        orders.append(order)
    # Appending straight to a stream whose category only contains "order" as a substring.
    event_cls = domain.registry.events["OrderShipped"]
    domain.config["event_processing"] = "async"
    store.append(event_cls(order_id="1", book_id="b", quantity=1), stream="reorder-1")
    store.append(event_cls(order_id="2", book_id="b", quantity=1), aggregate_id=orders[0].id)
    assert Reorder is None
    assert [m.stream_name for m in store.read("order")] == [f"order-{orders[0].id}"]
    assert [m.stream_name for m in store.read("reorder")] == ["reorder-1"]
    assert len(store.read("shop::order")) == 1
    assert store.read_last_message("$all").stream_name == f"order-{orders[0].id}"
    assert store.read(f"order-{orders[0].id}", position=0)[0].position == 0
    assert store.read("$all", position=2, no_of_messages=1)[0].global_position == 2
    assert store.categories() == {"reorder": 1, "order": 1}


def test_append_with_a_stale_expected_version(memory_shop):
    event_cls = memory_shop.registry.events["OrderShipped"]
    memory_shop.config["event_processing"] = "async"
    store = memory_shop.event_store
    store.append(event_cls(order_id="1", book_id="b", quantity=1), stream="order-9", expected_version=-1)
    with pytest.raises(
        ExpectedVersionError, match=r"Wrong expected version: -1 \(Stream: order-9, Stream Version: 0\)"
    ):
        store.append(event_cls(order_id="1", book_id="b", quantity=1), stream="order-9", expected_version=-1)
    assert store.stream_version("order-9") == 0


def test_domain_metadata_has_sequence_id_fqn_and_priority_as_protean(store_dir):
    domain = build_shop(store=open_store(store_dir))
    Order, Inventory = domain.registry.aggregates.values()
    Shipped = domain.event_class("Shop.OrderShipped.v1")
    with domain.domain_context():
        domain.repository_for(Inventory).add(Inventory(book_id="b", in_stock=50))
        order = Order(book_id="b", quantity=2)
        order.raise_(Shipped(order_id=order.id, book_id="b", quantity=1))
        order.raise_(Shipped(order_id=order.id, book_id="b", quantity=2))
        assert [e._metadata.domain.sequence_id for e in order._events] == ["0.1", "0.2"]
        fqn = f"{Shipped.__module__}.{Shipped.__qualname__}"
        assert order._events[0]._metadata.domain.fqn == fqn
        assert order._events[0]._metadata.domain.priority == 0
        assert order._events[0].to_dict()["_metadata"]["domain"]["sequence_id"] == "0.1"
        domain.repository_for(Order).add(order)
        order.quantity = 3
        order.raise_(Shipped(order_id=order.id, book_id="b", quantity=3))
        assert order._events[0]._metadata.domain.sequence_id == "1.1"
        domain.repository_for(Order).add(order)
    domain.close()
    reopened = build_shop(store=open_store(store_dir))
    with reopened.domain_context():
        messages = reopened.event_store.read(order.stream_name())
        assert [m.metadata.domain.sequence_id for m in messages] == ["0.1", "0.2", "1.1"]
        assert messages[0].metadata.domain.fqn.endswith("OrderShipped")
        event = messages[2].to_domain_object()
        assert type(event).__name__ == "OrderShipped" and event.quantity == 3
        assert event._metadata.domain.sequence_id == "1.1"
    with pytest.raises(Exception, match="needs an active domain"):
        messages[0].to_domain_object()
    reopened.close()

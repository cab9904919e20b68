"""Sync processing: order, breadth-first chains, and what a failing handler leaves behind."""

from __future__ import annotations

import logging

import pytest
from workbench.core import Domain, current_domain, handle
from workbench.core.exceptions import HandlerError
from workbench.core.failures import list_failures
from workbench.core.fields import Identifier, Integer
from workbench.core.loader import load_domain
from workbench.core.store import open_store


def flow_domain(store=None):
    """Handlers that log what they see, so order and outcomes can be asserted."""
    domain = Domain(name="Flow")
    domain.config["event_processing"] = "sync"
    seen: list[str] = []
    errors: list[tuple[str, str, str]] = []

    @domain.aggregate
    class Order:
        amount = Integer()

    @domain.aggregate
    class Audit:
        note = Identifier()

    @domain.event(part_of=Order)
    class Placed:
        amount = Integer()

    @domain.event(part_of=Order)
    class Cancelled:
        amount = Integer()

    @domain.event(part_of=Audit)
    class Audited:
        note = Identifier()

    @domain.event_handler(part_of=Audit, stream_category="order")
    class Zeta:  # registered first, alphabetically last: registration order wins
        @handle(Placed)
        def write_audit(self, event):
            seen.append("Zeta.write_audit")
            audit = Audit(note=f"placed-{event.amount}")
            audit.raise_(Audited(note=audit.note))
            current_domain.repository_for(Audit).add(audit)

    @domain.event_handler(part_of=Order)
    class Alpha:
        @handle(Placed)
        def explode(self, event):
            seen.append("Alpha.explode")
            current_domain.repository_for(Audit).add(Audit(note="written-then-rolled-back"))
            if event.amount < 0:
                raise ValueError("kaboom")

        @handle("$any")
        def anything(self, event):
            seen.append(f"Alpha.anything:{type(event).__name__}")

        @classmethod
        def handle_error(cls, exc, message):
            errors.append((cls.__name__, type(exc).__name__, message.type))
            raise RuntimeError("handle_error itself fails")

    @domain.event_handler(part_of=Audit)
    class Mid:
        @handle(Audited)
        def after(self, event):
            seen.append("Mid.after")

    @domain.event_handler(part_of=Order, stream_category="$all")
    class Everything:
        @handle("$any")
        def log(self, event):
            seen.append(f"Everything:{type(event).__name__}")

    domain.init()
    domain.bind_store(store or open_store(None))
    return domain, seen, errors


def place(domain, amount):
    Order = domain.registry.aggregates["Order"]
    order = Order(amount=amount)
    order.raise_(domain.registry.events["Placed"](amount=amount))
    domain.repository_for(Order).add(order)
    return order


def test_registration_order_and_breadth_first():
    domain, seen, _ = flow_domain()
    with domain.domain_context():
        place(domain, 1)
    assert seen == [
        "Zeta.write_audit",
        "Alpha.explode",
        "Everything:Placed",
        "Mid.after",  # raised by Zeta, queued behind everything already queued
        "Everything:Audited",
    ]


def test_any_is_a_fallback_not_additive():
    domain, seen, _ = flow_domain()
    with domain.domain_context():
        Order = domain.registry.aggregates["Order"]
        order = Order(amount=1)
        order.raise_(domain.registry.events["Cancelled"](amount=1))
        domain.repository_for(Order).add(order)
    assert seen == ["Alpha.anything:Cancelled", "Everything:Cancelled"]


def test_failing_handler(store_dir, caplog):
    domain, seen, errors = flow_domain(open_store(store_dir))
    Order = domain.registry.aggregates["Order"]
    Audit = domain.registry.aggregates["Audit"]
    with domain.domain_context(), caplog.at_level(logging.ERROR):
        with pytest.raises(HandlerError) as info:
            order = place(domain, -5)
        order = domain.repository_for(Order).all()[0]
        # the original commit is durable, and the caller's aggregate can be saved again
        assert order._version == 0
        assert domain.event_store.read("order")[0].data == {"amount": -5}
    message = str(info.value)
    assert message.startswith("event handler failed: Alpha.explode on Flow.Placed.v1")
    assert "ValueError: kaboom" in message
    # the other handlers ran and committed; the failing method's write was rolled back
    notes = sorted(a.note for a in domain.repository_for(Audit).all())
    assert notes == ["placed--5"]
    assert "Everything:Placed" in seen and "Mid.after" in seen
    # handle_error was called with the exception and the message; its own error was logged
    assert errors == [("Alpha", "ValueError", "Flow.Placed.v1")]
    assert "handle_error raised" in caplog.text
    domain.close()

    # the failure is in the store for later commands to see
    reopened = open_store(store_dir, read_only=True)
    failure = reopened.rows("failures")
    [record] = failure.values()
    assert record["handler"] == "Alpha" and record["method"] == "explode"
    assert record["error_type"] == "ValueError" and "kaboom" in record["traceback"]


def test_pending_events_are_cleared_so_the_next_add_works():
    domain, _, _ = flow_domain()
    with domain.domain_context():
        with pytest.raises(HandlerError):
            order = place(domain, -1)
        Order = domain.registry.aggregates["Order"]
        order = domain.repository_for(Order).all()[0]
        assert order._events == []
        order.amount = 3
        domain.repository_for(Order).add(order)
        assert domain.repository_for(Order).get(order.id)._version == 1
        assert len(list_failures(domain)) == 1


def test_several_failures_are_named_together():
    domain = Domain(name="Multi")
    domain.config["event_processing"] = "sync"

    @domain.aggregate
    class Order:
        amount = Integer()

    @domain.event(part_of=Order)
    class Placed:
        amount = Integer()

    @domain.event_handler(part_of=Order)
    class A:
        @handle(Placed)
        def one(self, event):
            raise KeyError("k")

    @domain.event_handler(part_of=Order)
    class B:
        @handle(Placed)
        def two(self, event):
            raise ValueError("v")

    domain.init()
    with domain.domain_context():
        order = Order(amount=1)
        order.raise_(Placed(amount=1))
        with pytest.raises(HandlerError, match=r"2 event handler methods failed: A.one .*KeyError.*B.two .*ValueError"):
            domain.repository_for(Order).add(order)


def test_async_mode_stores_without_running_handlers():
    domain, seen, _ = flow_domain()
    domain.config["event_processing"] = "async"
    with domain.domain_context():
        place(domain, 1)
    assert seen == []
    [message] = domain.event_store.read("order")
    assert message.record["metadata"]["asynchronous"] is True


def test_source_stream_filters_on_the_origin_category(tmp_path):
    domain_file = tmp_path / "notify.py"
    domain_file.write_text(
        """
from protean import Domain, handle, current_domain
from protean.fields import Identifier

domain = Domain(name="Notify")
domain.config["event_processing"] = "sync"
sent = []

@domain.aggregate
class Order:
    ref = Identifier()

@domain.aggregate
class Checkout:
    ref = Identifier()

@domain.aggregate
class Notification:
    ref = Identifier()

@domain.event(part_of=Order)
class OrderShipped:
    ref = Identifier()

@domain.event(part_of=Checkout)
class CheckedOut:
    ref = Identifier()

@domain.event_handler(part_of=Order, stream_category="checkout")
class ShipOnCheckout:
    @handle(CheckedOut)
    def ship(self, event):
        order = Order(ref=event.ref)
        order.raise_(OrderShipped(ref=event.ref))
        current_domain.repository_for(Order).add(order)

@domain.event_handler(part_of=Notification, stream_category="order", source_stream="checkout")
class Email:
    @handle(OrderShipped)
    def send(self, event):
        sent.append(event.ref)
"""
    )
    domain = load_domain(str(domain_file), store=open_store(None))
    module = __import__("notify")
    with domain.domain_context():
        Order = domain.registry.aggregates["Order"]
        direct = Order(ref="direct")
        direct.raise_(domain.registry.events["OrderShipped"](ref="direct"))
        domain.repository_for(Order).add(direct)
        Checkout = domain.registry.aggregates["Checkout"]
        checkout = Checkout(ref="via-checkout")
        checkout.raise_(domain.registry.events["CheckedOut"](ref="via-checkout"))
        domain.repository_for(Checkout).add(checkout)
    assert module.sent == ["via-checkout"]

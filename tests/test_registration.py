"""Mistakes in a domain are errors at decoration or init time, naming the class and method."""

from __future__ import annotations

import pytest
from workbench.core import Domain, handle
from workbench.core.exceptions import ConfigurationError, IncorrectUsageError
from workbench.core.fields import Identifier, Integer


def base_domain():
    domain = Domain(name="Reg")

    @domain.aggregate
    class Order:
        quantity = Integer()

    @domain.aggregate
    class Inventory:
        stock = Integer()

    @domain.event(part_of="Order")
    class Placed:
        order_id = Identifier()

    @domain.event(part_of=Inventory)
    class Adjusted:
        amount = Integer()

    return domain, Order, Inventory, Placed, Adjusted


def test_unknown_decorator_option_is_named():
    domain, *_ = base_domain()
    with pytest.raises(ConfigurationError, match=r"Unknown option\(s\) colour for event handler `H`"):

        @domain.event_handler(part_of="Order", colour="red")
        class H:
            pass


def test_handler_without_part_of():
    domain, *_ = base_domain()
    with pytest.raises(IncorrectUsageError, match="Event Handler `H` needs to be associated with an aggregate"):

        @domain.event_handler(stream_category="order")
        class H:
            pass


def test_event_without_part_of():
    domain = Domain(name="X")
    with pytest.raises(IncorrectUsageError, match="Event `Loose` needs to be associated"):

        @domain.event
        class Loose:
            pass


def test_handle_on_a_non_event_names_class_and_method():
    domain, *_ = base_domain()

    @domain.event_handler(part_of="Order")
    class H:
        @handle(int)
        def on_number(self, event):
            pass

    with pytest.raises(IncorrectUsageError, match="`H.on_number` handles `int`, which is not an event"):
        domain.init()


def test_stacked_handle_is_an_error_at_decoration():
    _, _, _, Placed, Adjusted = base_domain()
    with pytest.raises(IncorrectUsageError, match="decorated with @handle twice"):

        class H:
            @handle(Placed)
            @handle(Adjusted)
            def both(self, event):
                pass


def test_two_any_methods_are_an_error():
    domain, *_ = base_domain()

    @domain.event_handler(part_of="Order")
    class H:
        @handle("$any")
        def first(self, event):
            pass

        @handle("$any")
        def second(self, event):
            pass

    with pytest.raises(IncorrectUsageError, match=r"more than one \$any method \(first, second\)"):
        domain.init()


def test_any_must_be_spelled_exactly():
    with pytest.raises(IncorrectUsageError, match=r'takes an event class or "\$any"'):

        class H:
            @handle("$all")
            def m(self, event):
                pass


def test_handler_for_an_event_of_another_category_would_never_run():
    domain, _, _, _, Adjusted = base_domain()

    @domain.event_handler(part_of="Order")
    class H:
        @handle(Adjusted)
        def m(self, event):
            pass

    with pytest.raises(IncorrectUsageError, match="from category `inventory`, but `H` listens to `order`"):
        domain.init()


def test_unknown_part_of_lists_known_aggregates():
    domain, *_ = base_domain()

    @domain.event_handler(part_of="Ordr")
    class H:
        pass

    with pytest.raises(
        ConfigurationError, match="`Ordr`, which is not a registered aggregate .known: Order, Inventory"
    ):
        domain.init()


def test_part_of_by_name_and_category_alias():
    domain, Order, Inventory, Placed, _ = base_domain()

    @domain.event_handler(part_of="Inventory", stream_category="reg::order")
    class Sync:
        @handle(Placed)
        def on_placed(self, event):
            pass

    domain.init()
    assert Sync.meta_.part_of is Inventory
    assert Sync.meta_.stream_category == "order"
    assert Placed.meta_.part_of is Order
    assert Placed.__type__ == "Reg.Placed.v1"


def test_version_declared_twice():
    domain, *_ = base_domain()
    with pytest.raises(IncorrectUsageError, match="declares its version twice"):

        @domain.event(part_of="Order", version=2)
        class V:
            __version__ = 3


def test_unregistered_event_cannot_be_instantiated():
    from workbench.core.event import BaseEvent

    class Loose(BaseEvent):
        pass

    with pytest.raises(ConfigurationError, match="`Loose` should be registered with a domain"):
        Loose()


def test_events_are_immutable():
    domain, _, _, Placed, _ = base_domain()
    domain.init()
    event = Placed(order_id="1")
    with pytest.raises(IncorrectUsageError, match="immutable"):
        event.order_id = "2"


def test_raise_checks_the_event_belongs_to_the_aggregate():
    domain, Order, _, _, Adjusted = base_domain()
    domain.init()
    with (
        domain.domain_context(),
        pytest.raises(ConfigurationError, match="`Adjusted` is not associated with aggregate `Order`"),
    ):
        Order(quantity=1).raise_(Adjusted(amount=1))


def test_meta_inner_class_options():
    domain = Domain(name="Meta")

    @domain.aggregate
    class Ticket:
        class Meta:
            stream_category = "tickets"

    domain.init()
    assert Ticket.meta_.stream_category == "tickets"


def test_default_domain_name_comes_from_the_module():
    assert Domain().name == __name__

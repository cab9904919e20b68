"""Stream and category names with dashes: `order-lines` is one category, read exactly."""

from __future__ import annotations

from workbench.core import Domain
from workbench.core.fields import Identifier, Integer
from workbench.core.store import open_store


def lines_domain(store_dir):
    domain = Domain(name="Lines")

    @domain.aggregate(stream_category="order-lines")
    class OrderLine:
        sku = Identifier()
        qty = Integer()

        def add(self):
            self.raise_(LineAdded(sku=self.sku, qty=self.qty))

    @domain.aggregate(stream_category="order")
    class Order:
        sku = Identifier()

        def place(self):
            self.raise_(OrderPlaced(sku=self.sku))

    @domain.event(part_of=OrderLine)
    class LineAdded:
        sku = Identifier()
        qty = Integer()

    @domain.event(part_of=Order)
    class OrderPlaced:
        sku = Identifier()

    domain.init(traverse=False)
    domain.bind_store(open_store(store_dir))
    return domain, OrderLine, Order


def test_a_category_with_a_dash_is_read_as_a_category(store_dir):
    domain, OrderLine, Order = lines_domain(store_dir)
    with domain.domain_context():
        line = OrderLine(sku="A", qty=2)
        line.add()
        domain.repository_for(OrderLine).add(line)
        order = Order(sku="A")
        order.place()
        domain.repository_for(Order).add(order)
    store = domain.event_store
    assert [m.type for m in store.read("order-lines")] == ["Lines.LineAdded.v1"]
    assert [m.type for m in store.read("order")] == ["Lines.OrderPlaced.v1"]  # exact: not order-lines
    assert store.categories() == {"order-lines": 1, "order": 1}
    assert list(store.streams("order-lines")) == [f"order-lines-{line.id}"]
    assert store.stream_counts() == {"order-lines": 1, "order": 1}
    assert store.read_last_message("order-lines").type == "Lines.LineAdded.v1"
    # A stream of that category is still a stream.
    assert [m.position for m in store.read(f"order-lines-{line.id}")] == [0]
    domain.close()


def test_appending_to_a_named_stream_finds_its_dashed_category(store_dir):
    domain, OrderLine, _Order = lines_domain(store_dir)
    LineAdded = domain.registry.events["LineAdded"]
    with domain.domain_context():
        message = domain.event_store.append(LineAdded(sku="B", qty=1), stream="order-lines-77")
    assert message.stream_category == "order-lines"
    assert [m.stream_name for m in domain.event_store.read("order-lines")] == ["order-lines-77"]
    domain.close()

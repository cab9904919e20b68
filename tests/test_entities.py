"""Entities inside aggregates, as a user of a Protean-written domain sees them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner
from workbench.cli.main import app
from workbench.core.exceptions import IncorrectUsageError, ObjectNotFoundError, TooManyObjectsError, ValidationError
from workbench.core.loader import load_domain
from workbench.core.store import open_store

DOMAIN = Path(__file__).with_name("customer_domain.py")


@pytest.fixture
def shop(tmp_path):
    domain = load_domain(str(DOMAIN), store=open_store(tmp_path / "store"))
    with domain.domain_context():
        yield domain
    domain.close()


def classes(domain):
    r = domain.registry
    return r.aggregates["Order"], r.entities["OrderLine"], r.entities["Shipment"]


def test_protean_generates_add_remove_filter_and_get_one_helpers(shop):
    Order, OrderLine, _ = classes(shop)
    order = Order(customer="ann")
    first, second = OrderLine(sku="A"), OrderLine(sku="B", qty=3)
    order.add_lines(first, second)
    order.add_lines(OrderLine(sku="C"))
    assert [line.sku for line in order.lines] == ["A", "B", "C"]
    assert order.lines[0].order_id == order.id
    order.remove_lines(second)
    assert [line.sku for line in order.lines] == ["A", "C"]
    assert order.filter_lines(qty=1) == [first, order.lines[1]]
    assert order.get_one_from_lines(sku="C").sku == "C"
    with pytest.raises(TooManyObjectsError):
        order.get_one_from_lines(qty=1)
    with pytest.raises(ObjectNotFoundError):
        order.get_one_from_lines(sku="Z")
    with pytest.raises(ObjectNotFoundError):
        order.remove_lines(second)


def test_children_are_saved_in_the_aggregates_commit_and_reloaded_intact(shop, tmp_path):
    Order, OrderLine, Shipment = classes(shop)
    order = Order(customer="ann", lines=[{"sku": "A", "qty": 2}], shipment={"carrier": "DHL"})
    order.add_line("B", 5)
    shop.repository_for(Order).add(order)
    shop.close()
    again = load_domain(str(DOMAIN), store=open_store(tmp_path / "store"))
    with again.domain_context():
        Order2, _, _ = classes(again)
        loaded = again.repository_for(Order2).get(order.id)
        assert [(line.sku, line.qty) for line in loaded.lines] == [("A", 2), ("B", 5)]
        assert [line.id for line in loaded.lines] == [line.id for line in order.lines]
        assert loaded.shipment.carrier == "DHL"
        assert loaded.lines[1].order_id == order.id
        loaded.lines[0].qty = 9  # changing a child changes the aggregate
        loaded.remove_lines(loaded.lines[1])
        again.repository_for(Order2).add(loaded)
        reloaded = again.repository_for(Order2).get(order.id)
        assert [(line.sku, line.qty) for line in reloaded.lines] == [("A", 9)]
        assert reloaded._version == 1
    again.close()


def test_an_entity_event_goes_to_its_aggregates_stream(shop):
    Order, OrderLine, _ = classes(shop)
    order = Order(customer="ann")
    order.add_line("A")
    order.lines[0].announce()
    shop.repository_for(Order).add(order)
    messages = list(shop.event_store.read(f"order-{order.id}"))
    assert [m.data["sku"] for m in messages] == ["A"]
    with pytest.raises(IncorrectUsageError, match="not part of an aggregate"):
        OrderLine(sku="loose").raise_(shop.registry.events["LineAdded"](order_id="x", sku="loose"))


def test_child_invariants_and_nested_errors(shop):
    Order, OrderLine, _ = classes(shop)
    with pytest.raises(ValidationError) as built:
        Order(customer="ann", lines=[{"sku": "A"}, {"qty": 2}])
    assert built.value.messages == {"lines.1.sku": ["is required"]}
    with pytest.raises(ValidationError) as bad:
        OrderLine(sku="A", qty=0)
    assert bad.value.messages == {"qty": ["Quantity must be positive"]}
    order = Order(customer="ann", lines=[{"sku": "A"}])
    with pytest.raises(ValidationError):
        order.lines[0].qty = -1
    assert order.lines[0].qty == 1
    with pytest.raises(ValidationError) as deep:
        Order(customer="ann", shipment={"carrier": "DHL", "address": {"street": "x"}})
    assert deep.value.messages == {"shipment.address.city": ["is required"]}


def test_entity_needs_an_aggregate():
    from workbench.core import Domain

    domain = Domain(name="X")
    with pytest.raises(IncorrectUsageError, match="Entity `Line` needs to be associated with an Aggregate"):

        @domain.entity
        class Line:
            pass


def cli(store, *args):
    return CliRunner().invoke(app, ["--domain", str(DOMAIN), "--store", str(store), *args])


def test_cli_creates_calls_and_shows_an_aggregate_with_its_entities(tmp_path):
    store = tmp_path / "s"
    made = cli(
        store, "new", "--json", "Order", "customer=ann", 'lines=[{"sku": "A", "qty": 2}]', "shipment.carrier=DHL"
    )
    assert made.exit_code == 0, made.output
    order = json.loads(made.stdout)["data"]["aggregate"]
    assert order["shipment"]["carrier"] == "DHL" and order["lines"][0]["sku"] == "A"
    added = cli(store, "call", "Order", order["id"], "add_line", "B", "3")
    assert added.exit_code == 0, added.output
    shown = cli(store, "show", "--json", "Order", order["id"])
    lines = json.loads(shown.stdout)["data"]["items"][0]["lines"]
    assert [(line["sku"], line["qty"]) for line in lines] == [("A", 2), ("B", 3)]
    text = cli(store, "show", "Order", order["id"]).output
    assert "B" in text and "DHL" in text
    bad = cli(store, "call", "Order", order["id"], "add_line", "C", "0")
    assert bad.exit_code == 1 and "Quantity must be positive" in bad.output
    info = json.loads(cli(store, "info", "--json").stdout)["data"]
    assert info["entities"] == [
        {
            "name": "OrderLine",
            "part_of": "Order",
            "fields": {
                "sku": "String(required)",
                "qty": "Integer",
                "id": "Auto(identifier, unique)",
                "order": "Reference(Order)",
            },
            "invariants": {"post": ["quantity_is_positive"]},
        },
        {
            "name": "Shipment",
            "part_of": "Order",
            "fields": {
                "carrier": "String(required)",
                "address": "ValueObject(Address)",
                "id": "Auto(identifier, unique)",
                "order": "Reference(Order)",
            },
            "invariants": {},
        },
    ]
    assert "Order -- many lines --> OrderLine" in cli(store, "info", "--mermaid").output


def test_an_entity_of_one_aggregate_cannot_be_added_to_another(shop):
    Order, OrderLine, _ = classes(shop)
    repo = shop.repository_for(Order)
    ann, bob = Order(customer="ann"), Order(customer="bob")
    ann.add_lines(OrderLine(sku="A"))
    repo.add(ann)
    ann = repo.get(ann.id)
    line = ann.lines[0]
    with pytest.raises(ValidationError) as exc:
        bob.add_lines(line)
    assert exc.value.messages == {"id": [f"OrderLine with id '{line.id}' is already present."]}
    assert bob.lines == [] and line.order_id == ann.id
    ann.remove_lines(line)  # once removed, it may move
    bob.add_lines(line)
    repo.add(ann)
    repo.add(bob)
    assert repo.get(ann.id).lines == [] and [x.sku for x in repo.get(bob.id).lines] == ["A"]
    again = repo.get(bob.id)
    again.add_lines(again.lines[0])  # a reloaded copy of the same aggregate is the same owner
    assert len(again.lines) == 1


BASKET = '''
from protean import Domain, invariant
from protean.exceptions import ValidationError
from protean.fields import HasMany, Integer, String

domain = Domain()


@domain.entity(part_of="Basket")
class Line:
    sku: String()
    qty: Integer(default=1)


@domain.aggregate
class Basket:
    name: String()
    lines = HasMany(Line)

    @invariant.post
    def no_negative_quantities(self):
        if any(line.qty < 0 for line in self.lines):
            raise ValidationError({"lines": ["negative qty"]})
'''


def test_changing_an_entity_runs_its_aggregates_invariants(tmp_path):
    from workbench.core.invariants import atomic_change

    path = tmp_path / "basket.py"
    path.write_text(BASKET)
    domain = load_domain(str(path), store=open_store(tmp_path / "store"))
    with domain.domain_context():
        Basket, Line = domain.registry.aggregates["Basket"], domain.registry.entities["Line"]
        repo = domain.repository_for(Basket)
        basket = Basket(name="b")
        basket.add_lines(Line(sku="a", qty=2))
        repo.add(basket)
        basket = repo.get(basket.id)
        with pytest.raises(ValidationError, match="negative qty"):
            basket.lines[0].qty = -1
        assert basket.lines[0].qty == 2
        with pytest.raises(ValidationError, match="negative qty"), atomic_change(basket):
            basket.lines[0].qty = -5
        assert basket.lines[0].qty == 2
        with atomic_change(basket):
            basket.lines[0].qty = -5  # breaks the rule for a moment
            basket.lines[0].qty = 7
        repo.add(basket)
        assert repo.get(basket.id).lines[0].qty == 7
    domain.close()


ORDERS_OF_PRODUCTS = '''
from protean import Domain
from protean.fields import HasMany, Integer, Reference, String

domain = Domain()


@domain.aggregate
class Product:
    name: String()


@domain.entity(part_of="Order")
class Line:
    product = Reference("Product")
    qty: Integer(default=1)


@domain.aggregate
class Order:
    lines = HasMany(Line)
'''


def test_a_reference_to_another_aggregate_keeps_its_identity(tmp_path):
    path = tmp_path / "orders.py"
    path.write_text(ORDERS_OF_PRODUCTS)
    domain = load_domain(str(path), store=open_store(tmp_path / "store"))
    with domain.domain_context():
        Product, Order = domain.registry.aggregates["Product"], domain.registry.aggregates["Order"]
        Line = domain.registry.entities["Line"]
        pen = Product(id="p1", name="pen")
        order = Order(id="o1")
        order.add_lines(Line(product=pen, qty=2), Line(product="p2"))
        domain.repository_for(Order).add(order)
        lines = domain.repository_for(Order).get("o1").lines
        assert [(line.product_id, line.order_id) for line in lines] == [("p1", "o1"), ("p2", "o1")]
    domain.close()

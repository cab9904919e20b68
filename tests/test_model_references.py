"""A field naming a value object or entity that was never registered fails at init, naming it."""

from __future__ import annotations

import pytest
from workbench.core import Domain
from workbench.core.exceptions import ConfigurationError, ValidationError
from workbench.core.fields import HasMany, HasOne, String, ValueObject, ValueObjectList


def test_an_unknown_value_object_name_fails_at_init_even_without_value_objects():
    domain = Domain(name="Bad")

    @domain.aggregate
    class Customer:
        address = ValueObject("Adress")

    with pytest.raises(ConfigurationError, match=r"`Customer.address` references `Adress` via ValueObject"):
        domain.init(traverse=False)


def test_an_unknown_entity_name_fails_at_init_even_without_entities():
    domain = Domain(name="Bad")

    @domain.aggregate
    class Order:
        lines = HasMany("Lin")

    with pytest.raises(ConfigurationError, match=r"`Order.lines` references `Lin` via HasMany"):
        domain.init(traverse=False)


def test_a_misspelt_has_one_is_named_with_the_known_entities():
    domain = Domain(name="Bad")

    @domain.aggregate
    class Order:
        note = HasOne("Nte")

    @domain.entity(part_of=Order)
    class Note:
        text = String()

    with pytest.raises(ConfigurationError, match=r"`Order.note` references `Nte` via HasOne \(entities: Note\)"):
        domain.init(traverse=False)


def test_an_entity_may_hold_a_value_object_named_by_string():
    domain = Domain(name="Post")

    @domain.value_object
    class Address:
        city = String(required=True)

    @domain.aggregate
    class Customer:
        homes = HasMany("Home")

    @domain.entity(part_of=Customer)
    class Home:
        address = ValueObject("Address")
        earlier = ValueObjectList(content_type=ValueObject("Address"))

    domain.init(traverse=False)
    with domain.domain_context():
        customer = Customer()
        customer.add_homes(Home(address={"city": "Oslo"}, earlier=[{"city": "Rome"}]))
        domain.repository_for(Customer).add(customer)
        [home] = domain.repository_for(Customer).get(customer.id).homes
        assert home.address == Address(city="Oslo") and home.earlier == [Address(city="Rome")]


def test_adding_the_wrong_kind_of_child_is_protean_s_validation_error():
    domain = Domain(name="Shop")

    @domain.aggregate
    class Order:
        lines = HasMany("Line")
        note = HasOne("Note")

    @domain.entity(part_of=Order)
    class Line:
        sku = String(required=True)

    @domain.entity(part_of=Order)
    class Note:
        text = String()

    domain.init(traverse=False)
    with domain.domain_context():
        order = Order()
        with pytest.raises(ValidationError) as wrong:
            order.add_lines(Line(sku="A"), Note(text="t"))
        assert list(wrong.value.messages) == ["lines.1"]
        with pytest.raises(ValidationError) as missing:
            order.add_lines({"qty": 1})
        assert "lines.0.sku" in missing.value.messages
        assert order.lines == []  # nothing was added

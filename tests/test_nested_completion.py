"""The shell completes nested field names (``address.``) of value objects and entities."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.main import get_command
from workbench.cli.main import app
from workbench.cli.repl.completion import StoreIndex, command_tree, suggestions
from workbench.core.loader import load_domain
from workbench.core.store import open_store

DOMAIN = Path(__file__).with_name("customer_domain.py")
TREE = command_tree(get_command(app))


@pytest.fixture
def customers(tmp_path):
    domain = load_domain(str(DOMAIN), store=open_store(tmp_path / "store"))
    yield domain
    domain.close()


def complete(domain, text):
    return suggestions(text, TREE, domain, StoreIndex())


def test_a_value_object_field_offers_its_dotted_names(customers):
    assert complete(customers, "new Account addr") == ["address=", "address."]
    assert complete(customers, "new Account address.") == ["address.street=", "address.city="]
    assert complete(customers, "new Account address.ci") == ["address.city="]


def test_a_has_one_entity_completes_two_levels_deep(customers):
    assert "shipment." in complete(customers, "new Order ")
    assert complete(customers, "new Order shipment.address.s") == ["shipment.address.street="]


def test_fields_without_nested_fields_offer_nothing_after_a_dot(customers):
    assert complete(customers, "new Order customer.") == []
    assert complete(customers, "new Order lines.") == []  # a list of entities: give it as JSON
    assert complete(customers, "new Order nope.x") == []

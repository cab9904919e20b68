"""The README's entities/value objects/invariants/services example loads and behaves as it says."""

from __future__ import annotations

import json
import re

import pytest
from conftest import ROOT
from typer.testing import CliRunner
from workbench.cli.main import app
from workbench.core.exceptions import ValidationError
from workbench.core.loader import load_domain
from workbench.core.store import open_store

runner = CliRunner()


def readme_example(tmp_path):
    section = (ROOT / "README.md").read_text().split("### Entities, value objects, invariants and services")[1]
    code = re.search(r"```python\n(.*?)```", section, re.S)
    assert code is not None, "the README section lost its example"
    path = tmp_path / "cart.py"
    path.write_text(code.group(1))
    return path


@pytest.fixture
def cart_domain(tmp_path):
    domain = load_domain(str(readme_example(tmp_path)), store=open_store(tmp_path / "store"))
    with domain.domain_context():
        yield domain
    domain.close()


def test_the_example_saves_children_and_values_and_keeps_invariants(cart_domain):
    registry = cart_domain.registry
    cart_cls, wallet_cls, item_cls = registry.aggregates["Cart"], registry.aggregates["Wallet"], registry.entities["Item"]
    repo = cart_domain.repository_for(cart_cls)
    cart_id = registry.application_services["Checkout"]().open("ann", "1 Main St", "Pune")
    cart = repo.get(cart_id)
    cart.add_items(item_cls(sku="A", price=60))
    with pytest.raises(ValidationError) as over:
        cart.add_items(item_cls(sku="B", price=50))
    assert over.value.messages == {"_entity": ["Cart is over budget"]}
    assert [i.sku for i in cart.items] == ["A"]  # the failing add changed nothing
    wallet = wallet_cls(balance=30.0)
    registry.domain_services["TopUp"](cart, wallet)(20)
    cart.add_items(item_cls(sku="B", price=50))
    repo.add(cart)
    again = repo.get(cart_id)
    assert [(i.sku, i.price) for i in again.items] == [("A", 60.0), ("B", 50.0)]
    assert again.ship_to == registry.value_objects["Address"](street="1 Main St", city="Pune")
    assert wallet.balance == 10.0 and again.budget == 120.0


def test_the_command_lines_the_readme_shows_work(tmp_path):
    env = {"WORKBENCH_DOMAIN": str(readme_example(tmp_path)), "WORKBENCH_STORE": str(tmp_path / "s"), "NO_COLOR": "1"}
    dotted = ["new", "Cart", "owner=ann", "ship_to.street=1 Main St", "ship_to.city=Pune"]
    as_json = ["new", "Cart", "owner=bo", 'ship_to={"street": "1 Main St", "city": "Pune"}']
    items = ["new", "Cart", "owner=cy", 'items=[{"sku": "A", "price": 5}]']
    made = []
    for args in (dotted, as_json, items):
        result = runner.invoke(app, [*args, "--json"], env=env)
        assert result.exit_code == 0, result.stdout + result.stderr
        made.append(json.loads(result.stdout)["data"]["aggregate"])
    assert made[0]["ship_to"] == made[1]["ship_to"] == {"street": "1 Main St", "city": "Pune"}
    assert [item["sku"] for item in made[2]["items"]] == ["A"]

"""``show`` prints an aggregate with its entities and value objects, one dotted row per value."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner
from workbench.cli.main import app

DOMAIN = Path(__file__).with_name("customer_domain.py")
runner = CliRunner()


def test_show_one_aggregate_lists_entity_and_value_object_fields(tmp_path):
    env = {"WORKBENCH_DOMAIN": str(DOMAIN), "WORKBENCH_STORE": str(tmp_path / "s"), "NO_COLOR": "1", "COLUMNS": "200"}
    args = ["new", "Order", "customer=ann", 'lines=[{"sku": "A", "qty": 2}, {"sku": "B"}]']
    args += ["shipment.carrier=DHL", "shipment.address.street=Main St", "shipment.address.city=Pune", "--json"]
    made = runner.invoke(app, args, env=env)
    assert made.exit_code == 0, made.stderr
    order_id = json.loads(made.stdout)["data"]["aggregate"]["id"]
    shown = runner.invoke(app, ["show", "Order", order_id], env=env)
    assert shown.exit_code == 0, shown.stderr
    rows = {tuple(cell.strip() for cell in line.strip("│ ").split("│")) for line in shown.stdout.splitlines()}
    for row in [
        ("customer", "ann"),
        ("lines.0.sku", "A"),
        ("lines.0.qty", "2"),
        ("lines.1.sku", "B"),
        ("shipment.carrier", "DHL"),
        ("shipment.address.city", "Pune"),
    ]:
        assert row in rows, shown.stdout
    listed = runner.invoke(app, ["show", "Order"], env=env)
    assert '[{"sku":"A","qty":2' in listed.stdout  # JSON in the list, not a Python repr

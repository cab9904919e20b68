"""The spec's example runs unchanged: through the loader with `protean` imports, and as a
plain script importing `core`."""

from __future__ import annotations

import os
import subprocess
import sys

from conftest import ROOT, SEED
from workbench.core.loader import load_domain
from workbench.core.store import open_store


def test_seed_loads_unchanged_and_its_import_effects_stay_out_of_the_store(shop, store_dir):
    # The file saved an order, shipped it and asserted 90 at import, in a throwaway store.
    assert shop.store.event_count() == 0
    assert shop.store.location == str(store_dir)
    names = {cls.__name__ for cls in shop.registry.aggregates.values()}
    assert names == {"Order", "Inventory"}


def test_seed_flow_runs_on_the_disk_store_and_survives_reopening(shop, store_dir):
    Order = shop.registry.aggregates["Order"]
    Inventory = shop.registry.aggregates["Inventory"]
    with shop.domain_context():
        order = Order(book_id="book-1", quantity=10, total_amount=100)
        shop.repository_for(Order).add(order)
        inventory = Inventory(book_id="book-1", in_stock=100)
        shop.repository_for(Inventory).add(inventory)
        order.ship_order()
        shop.repository_for(Order).add(order)
        assert shop.repository_for(Inventory).get(inventory.id).in_stock == 90
    shop.close()

    again = load_domain(str(SEED), store=open_store(store_dir))
    try:
        Inventory = again.registry.aggregates["Inventory"]
        stock = again.repository_for(Inventory).get(inventory.id)
        assert stock.to_dict() == {"book_id": "book-1", "in_stock": 90, "id": inventory.id, "_version": 1}
        [message] = again.event_store.read("order")
        assert message.type == "SeedExample.OrderShipped.v1"  # Domain() is named after its file
        assert message.data["quantity"] == 10
    finally:
        again.close()


def test_loading_twice_never_writes_module_effects_twice(store_dir):
    for _ in range(2):
        domain = load_domain(str(SEED), store=open_store(store_dir))
        assert domain.store.event_count() == 0
        domain.close()


def test_seed_with_core_imports_runs_under_plain_python(tmp_path):
    source = (
        SEED.read_text()
        .replace("from protean import", "from workbench.core import")
        .replace("from protean.fields import", "from workbench.core.fields import")
    )
    script = tmp_path / "seed.py"
    script.write_text(source)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("WORKBENCH_STORE", None)
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "'in_stock': 90" in result.stdout
    assert not (tmp_path / ".workbench").exists()  # a plain Domain() stays in memory


def test_plain_domain_uses_the_store_named_by_the_environment(tmp_path):
    source = (
        SEED.read_text()
        .replace("from protean import", "from workbench.core import")
        .replace("from protean.fields import", "from workbench.core.fields import")
    )
    script = tmp_path / "seed.py"
    script.write_text(source)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "WORKBENCH_STORE": str(tmp_path / "st")}
    subprocess.run([sys.executable, str(script)], check=True, capture_output=True, env=env, timeout=60)
    with open_store(tmp_path / "st", read_only=True) as store:
        assert store.event_count() == 1

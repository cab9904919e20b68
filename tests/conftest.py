from __future__ import annotations

import itertools
import os
from pathlib import Path

import pytest
from servers import PostgresServer, RedisServer, ServerUnavailable
from workbench.core import Domain, handle
from workbench.core.fields import Identifier, Integer, String
from workbench.core.loader import load_domain
from workbench.core.store import open_store

ROOT = Path(__file__).resolve().parent.parent
SHOP = ROOT / "samples" / "shop" / "domain.py"
SEED = ROOT / "tests" / "seed_example.py"  # the spec's example, byte for byte (with its own demo code)


@pytest.fixture
def store_dir(tmp_path: Path) -> Path:
    return tmp_path / "store"


@pytest.fixture
def shop(store_dir: Path):
    """The spec's seed example, loaded unchanged through the loader, on a disk store."""
    domain = load_domain(str(SEED), store=open_store(store_dir))
    yield domain
    domain.close()


def build_shop(*, store=None, processing: str = "sync", name: str = "Shop", ids: bool = False) -> Domain:
    """The seed's model written inline, with optional counting ids for deterministic tests."""
    counter = itertools.count(1)
    domain = Domain(
        name=name,
        identity_function=(lambda: f"id-{next(counter)}") if ids else None,
    )
    domain.config["event_processing"] = processing

    @domain.event(part_of="Order")
    class OrderShipped:
        order_id = Identifier(required=True)
        book_id = Identifier(required=True)
        quantity = Integer(required=True)

    @domain.aggregate
    class Order:
        book_id = Identifier(required=True)
        quantity = Integer(required=True)
        status = String(choices=["PENDING", "SHIPPED"], default="PENDING")

        def ship_order(self):
            self.status = "SHIPPED"
            self.raise_(OrderShipped(order_id=self.id, book_id=self.book_id, quantity=self.quantity))

    @domain.aggregate
    class Inventory:
        book_id = Identifier(required=True)
        in_stock = Integer(required=True)

    @domain.event_handler(part_of=Inventory, stream_category="order")
    class ManageInventory:
        @handle(OrderShipped)
        def reduce(self, event):
            repo = domain.repository_for(Inventory)
            inventory = repo.find_by(book_id=event.book_id)
            inventory.in_stock -= event.quantity
            repo.add(inventory)

    domain.init()
    if store is not None:
        domain.bind_store(store)
    return domain


@pytest.fixture
def memory_shop():
    domain = build_shop(store=open_store(None))
    with domain.domain_context():
        yield domain


UPDATE_GOLDEN = "WORKBENCH_UPDATE_GOLDEN"


def check_golden(path: Path, text: str) -> None:
    """Compare ``text`` with the checked-in transcript ``path``; fail when it is missing or differs.

    ``WORKBENCH_UPDATE_GOLDEN=1 python -m pytest ...`` writes the transcripts instead
    (then review the diff with ``git diff`` before committing).
    """
    import difflib
    import os

    if os.environ.get(UPDATE_GOLDEN) == "1":
        path.write_text(text)
        return
    how = f"rerun with {UPDATE_GOLDEN}=1 to write it, then review `git diff`"
    if not path.exists():
        pytest.fail(f"golden transcript {path} is missing; {how}", pytrace=False)
    expected = path.read_text()
    if text != expected:
        diff = "".join(
            difflib.unified_diff(
                expected.splitlines(keepends=True), text.splitlines(keepends=True), str(path), "this run", n=2
            )
        )
        pytest.fail(f"output differs from {path}; if the change is intended, {how}\n{diff[:6000]}", pytrace=False)


# -- real servers (tests marked `postgres` / `redis`) ------------------------------------


def _start_server(kind: type[PostgresServer] | type[RedisServer]):
    """Start a throwaway server, or skip when its binaries are missing (an error under CI=true)."""
    try:
        return kind.start()
    except ServerUnavailable as exc:
        # CI installs the servers: a missing binary there is a broken CI run, never a skip.
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"CI=true but {exc}", pytrace=False)
        pytest.skip(str(exc))


@pytest.fixture(scope="session")
def postgres_server():
    """One PostgreSQL server for the whole session (started on first use, stopped at the end)."""
    server = _start_server(PostgresServer)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_server():
    """One redis-server for the whole session (started on first use, stopped at the end)."""
    server = _start_server(RedisServer)
    yield server
    server.stop()

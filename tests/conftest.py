from __future__ import annotations

import itertools
from pathlib import Path

import pytest
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


# --- Real servers (markers `postgres` and `redis`) -----------------------------------------
# One throwaway server of each kind per session. Locally, a missing server skips its tests
# with the reason; under CI (CI=true, set by .ci/run) it is an error: a skipped server test
# is a failed CI run.


def _server_or_fail(request: pytest.FixtureRequest, starter):
    import contextlib
    import os

    from workbench.throwaway_servers import ServerUnavailable

    stack = contextlib.ExitStack()
    try:
        server = stack.enter_context(starter())
    except ServerUnavailable as exc:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI needs this server: {exc}", pytrace=False)
        pytest.skip(str(exc))
    request.addfinalizer(stack.close)
    return server


@pytest.fixture(scope="session")
def postgres_server(request: pytest.FixtureRequest):
    """A throwaway PostgreSQL server for the whole session (``.url`` is a postgresql:// URL)."""
    from workbench.throwaway_servers import running_postgres

    _need_module("psycopg", "postgres")
    return _server_or_fail(request, running_postgres)


@pytest.fixture(scope="session")
def redis_server(request: pytest.FixtureRequest):
    """A throwaway redis-server for the whole session (``.url`` is a redis:// URL)."""
    from workbench.throwaway_servers import running_redis

    _need_module("redis", "redis")
    return _server_or_fail(request, running_redis)


@pytest.fixture
def broker(redis_server):
    """A Redis Streams broker on the session's server, emptied first (each test starts fresh)."""
    from workbench.core.broker import open_broker

    opened = open_broker(redis_server.url)
    opened._client.flushdb()  # type: ignore[attr-defined]
    yield opened
    opened.close()


def _need_module(module: str, extra: str) -> None:
    import importlib.util
    import os

    if importlib.util.find_spec(module) is None:
        reason = f"{module} is not installed (pip install 'workbench[{extra}]')"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI needs {reason}", pytrace=False)
        pytest.skip(reason)

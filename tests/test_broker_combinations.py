"""The same commands give the same results on every store/broker combination (issue 15).

One scenario (stream handlers of one category, a ``$all`` handler, a projector of two
categories, a subscriber; a handler failure dead-lettered then replayed; replay; run) runs
through the real CLI on the embedded store and broker, on the embedded store with Redis as
the broker, and on PostgreSQL with either broker; the effects and the command outputs must match.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from workbench.core.loader import load_domain
from workbench.core.store import open_store

HERE = Path(__file__).resolve().parent
DOMAIN = HERE / "broker_combos_domain.py"
COMBOS = [
    pytest.param((False, False), id="embedded-store+embedded-broker"),
    pytest.param((False, True), id="embedded-store+redis", marks=pytest.mark.redis),
    pytest.param((True, False), id="postgres+embedded-broker", marks=pytest.mark.postgres),
    pytest.param((True, True), id="postgres+redis", marks=[pytest.mark.redis, pytest.mark.postgres]),
]


@pytest.fixture
def combo(request, tmp_path):
    """``(store, broker or None)`` for the combination the test is parametrized with, both fresh."""
    on_postgres, on_redis = request.param
    store = str(tmp_path / "store")
    if on_postgres:
        import psycopg

        server = request.getfixturevalue("postgres_server")
        database = f"combo_{time.time_ns()}"
        with psycopg.connect(server.url, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {database}")
        store = server.url.rsplit("/", 1)[0] + f"/{database}"
    broker = None
    if on_redis:
        import redis

        broker = request.getfixturevalue("redis_server").url
        redis.Redis.from_url(broker).flushdb()
    return store, broker


def _env(broker: str | None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("WORKBENCH_BROKER", "COMBOS_FAIL")}
    env.update(NO_COLOR="1", COLUMNS="200", WORKBENCH_CLAIM_AFTER_MS="100", **extra)
    if broker:
        env["WORKBENCH_BROKER"] = broker
    return env


def _wb(store: str, broker: str | None, *args: str, code: int | None = 0, **extra: str) -> dict:
    command = [sys.executable, "-m", "workbench", *args, "--json", "--domain", str(DOMAIN), "--store", store]
    done = subprocess.run(command, env=_env(broker, **extra), capture_output=True, text=True, timeout=180)
    if code is not None:
        assert done.returncode == code, f"{args}: exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    return json.loads(done.stdout)["data"] if done.stdout.strip() else {}


def _seed(store: str) -> None:
    domain = load_domain(str(DOMAIN), store=open_store(store))
    with domain.domain_context():
        Order, Payment = domain.registry.aggregates["Order"], domain.registry.aggregates["Payment"]
        for _ in range(3):
            order = Order()
            order.ship_order()
            domain.repository_for(Order).add(order)
        for amount in (10, 13):
            payment = Payment(amount=amount)
            payment.pay()
            domain.repository_for(Payment).add(payment)
    domain.close()


def _seen(store: str) -> Counter:
    opened = open_store(store, read_only=True)
    try:
        return Counter(f"{r['handler']}/{r['kind']}" for r in opened.scan("aggregate:seen"))
    finally:
        opened.close()


def _wait_for(condition, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


@pytest.mark.parametrize("combo", COMBOS, indirect=True)
def test_every_command_works_the_same_on_every_store_and_broker(combo) -> None:
    store, broker = combo
    _seed(store)
    _wb(store, broker, "publish", "partner", '{"kind": "hello"}')
    processed = _wb(store, broker, "process", code=None, COMBOS_FAIL="1")
    assert processed["handlers"] == {
        "Ship": {"delivered": 3},
        "Charge": {"delivered": 1, "failed": 1, "dead_lettered": 1},
        "Everything": {"delivered": 5, "skipped": 1},  # the subscriber's message has no handler method
        "Both@order": {"delivered": 3},
        "Both@payment": {"delivered": 2},
        "Partner": {"delivered": 1},
    }, processed
    assert _seen(store) == Counter(
        {"Ship/OrderShipped": 3, "Charge/Paid": 1, "Everything/OrderShipped": 3, "Everything/Paid": 2,
         "Both/OrderShipped": 3, "Both/Paid": 2, "Partner/hello": 1}
    )  # fmt: skip
    categories = _wb(store, broker, "streams")["categories"]
    assert sorted((c["category"], c["streams"], c["events"]) for c in categories) == [
        ("$broker:partner", 1, 1), ("order", 3, 3), ("payment", 2, 2)
    ]  # fmt: skip
    assert len(_wb(store, broker, "events", "read", "order")["messages"]) == 3
    status = {row["handler"]: row for row in _wb(store, broker, "subscriptions", "status")["subscriptions"]}
    assert {name: (row["lag"], row["dlq_depth"]) for name, row in status.items()} == {
        "Ship": (0, 0), "Charge": (0, 1), "Everything": (0, 0), "Both@order": (0, 0), "Both@payment": (0, 0),
        "Partner": (0, 0)
    }, status  # fmt: skip
    listed = _wb(store, broker, "dlq", "list")
    rows = listed["entries"] + listed["broker_entries"]
    assert [(r["handler"], r.get("source", "store")) for r in rows] == [("Charge", "redis" if broker else "store")]
    replayed = _wb(store, broker, "dlq", "replay-all", "-y")
    assert (replayed["replayed"], replayed["failed"]) == (1, 0)
    assert _seen(store)["Charge/Paid"] == 2
    assert _wb(store, broker, "dlq", "list")["total"] == 0
    again = _wb(store, broker, "replay", "payment", "--handler", "Both")
    assert again and _seen(store)["Both/Paid"] == 4
    _wb(store, broker, "raise", "OrderShipped", "order_id=late")
    worker = subprocess.Popen(
        [sys.executable, "-m", "workbench", "run", "--domain", str(DOMAIN), "--store", store],
        env=_env(broker), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        assert _wait_for(lambda: _seen(store)["Both/OrderShipped"] == 4 and _seen(store)["Ship/OrderShipped"] == 4, 90)
    finally:
        os.kill(worker.pid, signal.SIGTERM)
        worker.wait(timeout=60)
    assert _seen(store) == Counter(
        {"Ship/OrderShipped": 4, "Charge/Paid": 2, "Everything/OrderShipped": 4, "Everything/Paid": 2,
         "Both/OrderShipped": 4, "Both/Paid": 4, "Partner/hello": 1}
    )  # fmt: skip

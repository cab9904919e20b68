"""Two `workbench run` workers on Redis Streams: one is SIGKILLed mid-delivery, nothing is lost or doubled."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from workbench.core.loader import load_domain
from workbench.core.store import open_store

pytestmark = pytest.mark.redis
HERE = Path(__file__).resolve().parent
DOMAIN = HERE / "broker_domain.py"
ORDERS = 60
BOOKS = 6


def _seed(store_dir: Path) -> None:
    domain = load_domain(str(DOMAIN), store=open_store(store_dir))
    with domain.domain_context():
        Order, Inventory = domain.registry.aggregates["Order"], domain.registry.aggregates["Inventory"]
        for book in range(BOOKS):
            domain.repository_for(Inventory).add(Inventory(book_id=f"b{book}", in_stock=1000))
        for n in range(ORDERS):
            order = Order(book_id=f"b{n % BOOKS}", quantity=1)
            order.ship_order()
            domain.repository_for(Order).add(order)
    domain.close()



def _relayed(tmp_path: Path, url: str) -> tuple[Path, Any]:
    """A seeded store whose orders the outbox relayed to an emptied Redis: ``(store folder, open broker)``."""
    import redis
    from workbench.core.broker import open_broker
    from workbench.core.broker.outbox import OutboxRelay

    redis.Redis.from_url(url).flushdb()
    store_dir = tmp_path / "store"
    _seed(store_dir)
    broker = open_broker(url)
    store = open_store(store_dir)
    OutboxRelay(store, broker, categories={"order"}).relay()
    store.close()
    return store_dir, broker

def _shipped(store_dir: Path) -> tuple[int, int]:
    store = open_store(store_dir, read_only=True)
    try:
        rows = list(store.scan("aggregate:inventory"))
        return sum(r["shipped"] for r in rows), sum(1000 - r["in_stock"] for r in rows)
    finally:
        store.close()


def _worker(store_dir: Path, broker_url: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "WORKBENCH_BROKER": broker_url, "WORKBENCH_CLAIM_AFTER_MS": "500"}
    return subprocess.Popen(
        [sys.executable, "-m", "workbench", "run", "--domain", str(DOMAIN), "--store", str(store_dir)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def _wait_for(condition, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


def test_a_killed_worker_loses_nothing_and_doubles_nothing(tmp_path, redis_server) -> None:
    import redis

    redis.Redis.from_url(redis_server.url).flushdb()
    store_dir = tmp_path / "store"
    _seed(store_dir)
    first, second = _worker(store_dir, redis_server.url), _worker(store_dir, redis_server.url)
    try:
        assert _wait_for(lambda: _shipped(store_dir)[0] >= 10, 90), "the workers handled nothing"
        os.kill(first.pid, signal.SIGKILL)  # mid-delivery: its pending entries stay in the group
        first.wait(timeout=30)
        assert _wait_for(lambda: _shipped(store_dir)[0] >= ORDERS, 120), _shipped(store_dir)
        time.sleep(1.0)  # anything doubled would show up by now
        assert _shipped(store_dir) == (ORDERS, ORDERS)
        client = redis.Redis.from_url(redis_server.url)
        assert client.xpending("order", "ManageInventory")["pending"] == 0
    finally:
        for process in (first, second):
            if process.poll() is None:
                process.kill()
                process.wait(timeout=30)


def test_an_engine_killed_mid_delivery_and_restarted_handles_every_event_once(tmp_path, redis_server) -> None:
    import redis

    redis.Redis.from_url(redis_server.url).flushdb()
    store_dir = tmp_path / "store"
    _seed(store_dir)
    worker = _worker(store_dir, redis_server.url)
    try:
        assert _wait_for(lambda: _shipped(store_dir)[0] >= 5, 90), "the worker handled nothing"
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=30)
        assert _shipped(store_dir)[0] < ORDERS
        worker = _worker(store_dir, redis_server.url)  # a new consumer: it claims the dead one's entries
        assert _wait_for(lambda: _shipped(store_dir)[0] >= ORDERS, 120), _shipped(store_dir)
        time.sleep(1.0)
        assert _shipped(store_dir) == (ORDERS, ORDERS)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait(timeout=30)


def _status(store_dir: Path, broker_url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "WORKBENCH_BROKER": broker_url}
    return subprocess.run(
        [sys.executable, "-m", "workbench", "subscriptions", "status", "--json", "--domain", str(DOMAIN), "--store",
         str(store_dir)],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_status_shows_the_groups_lag_and_pending_entries_per_consumer(tmp_path, redis_server) -> None:
    import json

    import redis
    from workbench.core.broker import open_broker
    from workbench.core.broker.outbox import OutboxRelay

    redis.Redis.from_url(redis_server.url).flushdb()
    store_dir = tmp_path / "store"
    _seed(store_dir)
    before = _status(store_dir, redis_server.url)
    assert before.returncode == 0, before.stderr
    (row,) = [r for r in json.loads(before.stdout)["data"]["subscriptions"] if r["handler"] == "ManageInventory"]
    assert (row["subscription_type"], row["lag"], row["pending"]) == ("stream", ORDERS, 0)

    broker = open_broker(redis_server.url)
    store = open_store(store_dir)
    OutboxRelay(store, broker, categories={"order"}).relay()
    store.close()
    broker.consume("order", "ManageInventory", "worker-a", count=3)
    broker.consume("order", "ManageInventory", "worker-b", count=2)
    broker.close()
    after = _status(store_dir, redis_server.url)
    (row,) = [r for r in json.loads(after.stdout)["data"]["subscriptions"] if r["handler"] == "ManageInventory"]
    assert row["lag"] == ORDERS - 5
    assert row["pending"] == 5 and row["consumers"] == {"worker-a": 3, "worker-b": 2}


def test_a_broker_that_is_down_is_one_line_and_a_usage_error(tmp_path) -> None:
    from workbench.throwaway_servers import free_port

    result = _status(tmp_path / "store", f"redis://127.0.0.1:{free_port()}/0")
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert "cannot reach Redis at redis://127.0.0.1:" in result.stdout  # the --json envelope


def test_the_broker_option_picks_the_broker_for_the_command(tmp_path) -> None:
    from workbench.throwaway_servers import free_port

    env = {k: v for k, v in os.environ.items() if k != "WORKBENCH_BROKER"}
    url = f"redis://127.0.0.1:{free_port()}/0"
    result = subprocess.run(
        [sys.executable, "-m", "workbench", "--broker", url, "subscriptions", "status", "--domain", str(DOMAIN),
         "--store", str(tmp_path / "store")],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    (line,) = [one for one in result.stderr.splitlines() if one.startswith("error:")]
    assert f"cannot reach Redis at {url}" in line


def test_process_with_a_broker_relays_delivers_and_reports_each_delivery(tmp_path, redis_server) -> None:
    import json

    import redis

    redis.Redis.from_url(redis_server.url).flushdb()
    store_dir = tmp_path / "store"
    _seed(store_dir)
    env = {**os.environ, "WORKBENCH_BROKER": redis_server.url}
    result = subprocess.run(
        [sys.executable, "-m", "workbench", "process", "--json", "--domain", str(DOMAIN), "--store", str(store_dir)],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout)["data"]["handlers"]["ManageInventory"] == {"delivered": ORDERS}
    assert _shipped(store_dir) == (ORDERS, ORDERS)
    assert redis.Redis.from_url(redis_server.url).xlen("order") == ORDERS


def test_dlq_list_shows_the_brokers_dead_letters_with_their_source(tmp_path, redis_server) -> None:
    import json


    store_dir, broker = _relayed(tmp_path, redis_server.url)
    (delivery,) = broker.consume("order", "ManageInventory", "w", count=1)
    broker.dead_letter(delivery, "ManageInventory", reason="RuntimeError: boom")
    broker.close()
    env = {**os.environ, "WORKBENCH_BROKER": redis_server.url}
    base = [sys.executable, "-m", "workbench", "dlq", "list", "--domain", str(DOMAIN), "--store", str(store_dir)]
    listed = subprocess.run([*base, "--json"], env=env, capture_output=True, text=True, timeout=120)
    assert listed.returncode == 0, listed.stdout + listed.stderr
    (row,) = json.loads(listed.stdout)["data"]["broker_entries"]
    assert (row["handler"], row["stream"], row["message_id"]) == ("ManageInventory", "order", delivery.message_id)
    assert (row["error"], row["source"]) == ("RuntimeError: boom", "redis")
    text = subprocess.run(base, env=env, capture_output=True, text=True, timeout=120)
    assert text.returncode == 0 and "source: redis" in text.stdout and "RuntimeError: boom" in text.stdout


def test_dlq_inspect_shows_one_broker_dead_letter(tmp_path, redis_server) -> None:
    import json


    store_dir, broker = _relayed(tmp_path, redis_server.url)
    (delivery,) = broker.consume("order", "ManageInventory", "w", count=1)
    broker.dead_letter(delivery, "ManageInventory", reason="RuntimeError: boom")
    (letter,) = broker.dead_letters("order")
    broker.close()
    env = {**os.environ, "WORKBENCH_BROKER": redis_server.url}
    base = [sys.executable, "-m", "workbench", "dlq", "inspect", letter.entry_id, "--domain", str(DOMAIN), "--store",
            str(store_dir)]  # fmt: skip
    shown = subprocess.run([*base, "--json"], env=env, capture_output=True, text=True, timeout=120)
    assert shown.returncode == 0, shown.stdout + shown.stderr
    data = json.loads(shown.stdout)["data"]
    assert data["dead_letter"]["source"] == "redis" and data["dead_letter"]["message_id"] == delivery.message_id
    assert data["message"]["data"]["book_id"] == delivery.payload["data"]["book_id"]
    text = subprocess.run(base, env=env, capture_output=True, text=True, timeout=120)
    assert text.returncode == 0 and "redis" in text.stdout and "RuntimeError: boom" in text.stdout


def test_dlq_replay_delivers_a_broker_dead_letter_once_and_deletes_it(tmp_path, redis_server) -> None:
    import json


    store_dir, broker = _relayed(tmp_path, redis_server.url)
    (delivery,) = broker.consume("order", "ManageInventory", "w", count=1)
    broker.dead_letter(delivery, "ManageInventory", reason="RuntimeError: boom")
    (letter,) = broker.dead_letters("order")
    env = {**os.environ, "WORKBENCH_BROKER": redis_server.url}
    base = [sys.executable, "-m", "workbench", "dlq", "replay", letter.entry_id, "--json", "--domain", str(DOMAIN),
            "--store", str(store_dir)]  # fmt: skip
    replayed = subprocess.run(base, env=env, capture_output=True, text=True, timeout=120)
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr
    (result,) = json.loads(replayed.stdout)["data"]["results"]
    assert result["ok"] and result["source"] == "redis"
    assert broker.dead_letters("order") == []
    assert _shipped(store_dir) == (1, 1)
    # The same letter dead-lettered again (say a replay that died before its delete): no second effect.
    broker.dead_letter(delivery, "ManageInventory", reason="RuntimeError: boom")
    (again,) = broker.dead_letters("order")
    broker.close()
    twice = subprocess.run([*base[:5], again.entry_id, *base[6:]], env=env, capture_output=True, text=True, timeout=120)
    assert twice.returncode == 0, twice.stdout + twice.stderr
    assert _shipped(store_dir) == (1, 1)


def test_dlq_purge_drops_the_brokers_dead_letters_too(tmp_path, redis_server) -> None:
    import json


    store_dir, broker = _relayed(tmp_path, redis_server.url)
    for delivery in broker.consume("order", "ManageInventory", "w", count=2):
        broker.dead_letter(delivery, "ManageInventory", reason="RuntimeError: boom")
    env = {**os.environ, "WORKBENCH_BROKER": redis_server.url}
    base = [sys.executable, "-m", "workbench", "dlq", "purge", "--json", "--domain", str(DOMAIN), "--store",
            str(store_dir)]  # fmt: skip
    refused = subprocess.run(base, env=env, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert refused.returncode != 0 and "Traceback" not in refused.stderr
    assert len(broker.dead_letters("order")) == 2  # no answer is no yes
    purged = subprocess.run([*base, "-y"], env=env, capture_output=True, text=True, timeout=120)
    assert purged.returncode == 0, purged.stdout + purged.stderr
    assert json.loads(purged.stdout)["data"] == {"purged": 2, "purged_on_broker": 2}
    assert broker.dead_letters("order") == []
    broker.close()

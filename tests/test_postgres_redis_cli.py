"""PostgreSQL as the store AND Redis as the broker, through the real CLI: every command works the same."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from test_broker_workers import DOMAIN
from test_postgres_store import reset
from typer.testing import CliRunner
from workbench.cli.main import app

pytestmark = [pytest.mark.postgres, pytest.mark.redis]
runner = CliRunner()


@pytest.fixture
def servers(postgres_server, redis_server):
    import redis

    reset(postgres_server)
    client = redis.Redis.from_url(redis_server.url)
    client.flushdb()
    env = {
        "WORKBENCH_DOMAIN": str(DOMAIN),
        "WORKBENCH_STORE": postgres_server.url,
        "WORKBENCH_BROKER": redis_server.url,
        "WORKBENCH_CLAIM_AFTER_MS": "50",  # a failed delivery is retried soon
        "NO_COLOR": "1",
        "COLUMNS": "200",
    }
    yield env, client
    client.close()


def _cli(env: dict[str, str], *args: str, code: int = 0) -> dict:
    result = runner.invoke(app, [*args, "--json"], env=env)
    assert result.exit_code == code, f"{args}: exit {result.exit_code}\n{result.stdout}\n{result.stderr}"
    return json.loads(result.stdout)["data"]


def _stock(env: dict[str, str], inventory: str) -> int:
    return _cli(env, "show", "Inventory", inventory)["items"][0]["in_stock"]


def test_every_command_on_postgres_with_redis(servers) -> None:
    env, client = servers
    b1 = _cli(env, "new", "Inventory", "book_id=b1", "in_stock=100")["aggregate"]["id"]
    for order in ("o1", "o2", "o3"):
        _cli(env, "raise", "OrderShipped", f"order_id={order}", "book_id=b1", "quantity=2")
    categories = _cli(env, "streams")["categories"]
    assert [(c["category"], c["streams"], c["events"]) for c in categories] == [("order", 3, 3)]
    assert [m["global_position"] for m in _cli(env, "events", "read", "$all")["messages"]] == [1, 2, 3]
    before = {r["handler"]: r for r in _cli(env, "subscriptions", "status")["subscriptions"]}
    assert before["ManageInventory"]["lag"] == 3  # committed in PostgreSQL, not yet relayed to Redis
    assert _cli(env, "process")["handlers"]["ManageInventory"] == {"delivered": 3}
    assert _stock(env, b1) == 94 and client.xlen("order") == 3
    after = {r["handler"]: r for r in _cli(env, "subscriptions", "status")["subscriptions"]}
    assert (after["ManageInventory"]["lag"], after["ManageInventory"]["dlq_depth"]) == (0, 0)
    assert _cli(env, "process")["handlers"].get("ManageInventory") in (None, {})  # nothing twice
    # A book with no inventory: retried on Redis, then dead-lettered on `order:dlq`.
    _cli(env, "raise", "OrderShipped", "order_id=o4", "book_id=b2", "quantity=1")
    failed = _cli(env, "process", code=1)["handlers"]["ManageInventory"]
    assert failed.get("dead_lettered") == 1, failed
    (letter,) = _cli(env, "dlq", "list")["broker_entries"]
    assert (letter["stream"], letter["source"]) == ("order", "redis")
    assert _cli(env, "subscriptions", "status")["subscriptions"][0]["dlq_depth"] == 1
    b2 = _cli(env, "new", "Inventory", "book_id=b2", "in_stock=10")["aggregate"]["id"]
    (result,) = _cli(env, "dlq", "replay", letter["id"][:-1])["results"]  # a prefix names it
    assert result["ok"] and _stock(env, b2) == 9
    assert _cli(env, "dlq", "list")["broker_entries"] == []
    # replay runs the category's events through its handlers again (the inventory handler is not idempotent).
    assert _cli(env, "replay", "order", "--handler", "ManageInventory", "--dry-run")["messages"] == 4
    assert _stock(env, b1) == 94  # a dry run writes nothing
    replayed = _cli(env, "replay", "order", "--handler", "ManageInventory")
    assert replayed["messages"] == 4 and replayed["handlers"]["ManageInventory"] == {"delivered": 4}
    assert _stock(env, b1) == 88 and _stock(env, b2) == 8


def test_run_on_postgres_with_redis_until_interrupted(servers) -> None:
    env, _ = servers
    b1 = _cli(env, "new", "Inventory", "book_id=b1", "in_stock=10")["aggregate"]["id"]
    _cli(env, "raise", "OrderShipped", "order_id=o1", "book_id=b1", "quantity=4")
    worker = subprocess.Popen([sys.executable, "-m", "workbench", "run"], env={**os.environ, **env},
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and _stock(env, b1) != 6:
            time.sleep(0.2)
        _cli(env, "raise", "OrderShipped", "order_id=o2", "book_id=b1", "quantity=1")
        while time.monotonic() < deadline and _stock(env, b1) != 5:
            time.sleep(0.2)
        assert _stock(env, b1) == 5
    finally:
        worker.send_signal(signal.SIGINT)
        out, err = worker.communicate(timeout=60)
    assert worker.returncode == 0, out + err
    assert "Traceback" not in err

"""The workbench command with `--store postgresql://...` against a real PostgreSQL server."""

from __future__ import annotations

import json

import pytest
from conftest import SHOP
from test_postgres_store import reset
from typer.testing import CliRunner
from workbench.cli.main import app

from workbench.throwaway_servers import RunningServer, free_port

pytestmark = pytest.mark.postgres
runner = CliRunner()


def workbench(store: str, *args: str, code: int = 0) -> str:
    env = {"WORKBENCH_DOMAIN": str(SHOP), "WORKBENCH_STORE": store, "NO_COLOR": "1", "COLUMNS": "200"}
    result = runner.invoke(app, list(args), env=env)
    assert result.exit_code == code, f"{args}: exit {result.exit_code}\n{result.stdout}\n{result.stderr}"
    return result.stdout if code == 0 else result.stderr


def test_write_commands_and_reads_through_postgres(postgres_server: RunningServer) -> None:
    reset(postgres_server)
    url = postgres_server.url
    inventory = json.loads(workbench(url, "new", "Inventory", "book_id=b1", "in_stock=100", "--json"))
    order = json.loads(workbench(url, "new", "Order", "book_id=b1", "quantity=3", "total_amount=30", "--json"))
    order_id = order["data"]["aggregate"]["id"]
    shipped = json.loads(workbench(url, "call", "Order", order_id, "ship_order", "--json"))["data"]
    [message] = shipped["messages"]
    assert [h["status"] for h in shipped["handlers"]] == ["ok", "ok"]
    # --store on the command line wins over the environment, and a new process sees the commit.
    stock = json.loads(
        workbench("/nowhere", "show", "Inventory", inventory["data"]["aggregate"]["id"], "--store", url, "--json")
    )
    assert stock["data"]["items"][0]["in_stock"] == 97
    workbench(url, "raise", "OrderShipped", "order_id=o2", "book_id=b1", "quantity=2", "total_amount=5")
    categories = json.loads(workbench(url, "streams", "--json"))["data"]["categories"]
    assert [(c["category"], c["streams"], c["events"]) for c in categories] == [("order", 2, 2)]
    read = json.loads(workbench(url, "events", "read", "$all", "--json"))["data"]["messages"]
    assert [m["global_position"] for m in read] == [1, 2]
    read = json.loads(workbench(url, "events", "read", "order", "--from", "2", "--json"))["data"]["messages"]
    assert [m["global_position"] for m in read] == [2]
    found = json.loads(workbench(url, "events", "search", "--type", "shipped", "--json"))["data"]["messages"]
    assert len(found) == 2
    history = json.loads(workbench(url, "events", "history", "Order", order_id[:8], "--json"))["data"]
    assert history["stream"] == f"order-{order_id}" and len(history["messages"]) == 1
    assert f"order-{order_id}" in workbench(url, "events", "read", "order")
    trace = workbench(url, "events", "trace", message["id"])
    assert "ManageInventory: ok" in trace and "OrderSummaryProjector: ok" in trace
    # replay runs the handlers again on an in-memory copy first (--dry-run), then for real.
    assert "Would change" in workbench(url, "replay", "order", "--dry-run")
    assert "replayed 2 events of order" in workbench(url, "replay", "order")
    assert json.loads(workbench(url, "dlq", "list", "--json"))["data"]["total"] == 0
    with __import__("psycopg").connect(url) as conn:
        assert conn.execute("SELECT count(*) FROM messages").fetchone() == (2,)


def test_a_server_that_is_down_is_one_line_and_a_failure() -> None:
    url = f"postgresql://postgres@127.0.0.1:{free_port()}/shop"
    error = workbench(url, "streams", code=2)  # the CLI exits 2 on a store it cannot use
    assert error.strip().splitlines() == [error.strip()] and "Traceback" not in error
    assert f"cannot connect to PostgreSQL at {url}" in error


def test_deterministic_ids_never_collide_across_commands(postgres_server: RunningServer, monkeypatch) -> None:
    reset(postgres_server)
    monkeypatch.setenv("WORKBENCH_DETERMINISTIC", "1")
    url = postgres_server.url
    first = json.loads(workbench(url, "new", "Inventory", "book_id=b1", "in_stock=1", "--json"))
    second = json.loads(workbench(url, "new", "Inventory", "book_id=b2", "in_stock=2", "--json"))
    ids = [first["data"]["aggregate"]["id"], second["data"]["aggregate"]["id"]]
    assert ids == ["000000-0001", "000001-0001"]


def test_process_handles_async_events_raised_through_the_cli_on_postgres(
    postgres_server: RunningServer, monkeypatch
) -> None:
    from pathlib import Path

    monkeypatch.delenv("WORKBENCH_BROKER", raising=False)  # the engine's own subscriptions, not a broker
    reset(postgres_server)
    url = postgres_server.url
    env = {"WORKBENCH_DOMAIN": str(Path(__file__).parent / "broker_domain.py"), "WORKBENCH_STORE": url}

    def cli(*args: str) -> dict:
        result = runner.invoke(app, [*args, "--json"], env=env)
        assert result.exit_code == 0, f"{args}: exit {result.exit_code}\n{result.stdout}\n{result.stderr}"
        return json.loads(result.stdout)["data"]

    inventory = cli("new", "Inventory", "book_id=b1", "in_stock=100")["aggregate"]["id"]
    for order in ("o1", "o2", "o3"):
        cli("raise", "OrderShipped", f"order_id={order}", "book_id=b1", "quantity=2")
    before = {r["handler"]: r for r in cli("subscriptions", "status")["subscriptions"]}
    assert before["ManageInventory"]["lag"] == 3
    processed = cli("process")
    assert processed["handlers"]["ManageInventory"] == {"delivered": 3}
    assert cli("show", "Inventory", inventory)["items"][0]["in_stock"] == 94
    after = {r["handler"]: r for r in cli("subscriptions", "status")["subscriptions"]}
    assert after["ManageInventory"]["lag"] == 0 and after["ManageInventory"]["dlq_depth"] == 0
    assert cli("process")["handlers"].get("ManageInventory") in (None, {})  # nothing twice


def test_run_handles_async_events_on_postgres_until_interrupted(postgres_server: RunningServer) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    reset(postgres_server)
    url = postgres_server.url
    domain = str(Path(__file__).parent / "broker_domain.py")
    env = {k: v for k, v in os.environ.items() if k != "WORKBENCH_BROKER"}
    env |= {"WORKBENCH_DOMAIN": domain, "WORKBENCH_STORE": url}
    inventory = json.loads(
        runner.invoke(app, ["new", "Inventory", "book_id=b1", "in_stock=10", "--json"], env=env).stdout
    )
    runner.invoke(app, ["raise", "OrderShipped", "order_id=o1", "book_id=b1", "quantity=4"], env=env)
    worker = subprocess.Popen([sys.executable, "-m", "workbench", "run"], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        stock = None
        while time.monotonic() < deadline and stock != 6:
            shown = runner.invoke(app, ["show", "Inventory", inventory["data"]["aggregate"]["id"], "--json"], env=env)
            stock = json.loads(shown.stdout)["data"]["items"][0]["in_stock"]
            time.sleep(0.2)
        assert stock == 6
    finally:
        worker.send_signal(signal.SIGINT)
        out, err = worker.communicate(timeout=60)
    assert worker.returncode == 0, out + err
    assert "Traceback" not in err

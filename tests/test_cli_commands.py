"""Every command through the real CLI against a store on disk: output, --json envelope, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import ROOT, SHOP, check_golden
from typer.testing import CliRunner
from workbench.cli.main import app

PAYMENTS = ROOT / "samples" / "payments" / "domain.py"
runner = CliRunner()


class Workbench:
    """Runs `workbench` commands on one domain and one store."""

    def __init__(self, domain: Path, store: Path) -> None:
        self.env = {
            "WORKBENCH_DOMAIN": str(domain),
            "WORKBENCH_STORE": str(store),
            "NO_COLOR": "1",
            "WORKBENCH_DETERMINISTIC": "1",
            "COLUMNS": "160",
        }

    def __call__(self, *args: str, code: int = 0, input: str | None = None):
        result = runner.invoke(app, list(args), env=self.env, input=input)
        assert result.exit_code == code, f"{args}: exit {result.exit_code}\n{result.stdout}\n{result.stderr}"
        return result

    def json(self, *args: str, code: int = 0) -> dict:
        payload = json.loads(self(*args, "--json", code=code).stdout)
        assert payload["schema"] == "workbench/1" and payload["command"]
        return payload


@pytest.fixture
def shop(tmp_path):
    return Workbench(SHOP, tmp_path / "store")


@pytest.fixture
def payments(tmp_path):
    return Workbench(PAYMENTS, tmp_path / "store")


def test_info_json_and_mermaid(shop):
    data = shop.json("info")["data"]
    assert [a["name"] for a in data["aggregates"]] == ["Order", "Inventory", "Notification"]
    handler = data["event_handlers"][0]
    assert handler["methods"] == {
        "reduce_stock_level": "Domain.OrderShipped.v1",
        "restore_stock": "Domain.OrderCancelled.v1",
    }
    assert handler["subscription"]["subscription_type"] == "event_store"
    diagram = shop("info", "--mermaid").stdout
    assert diagram.startswith("flowchart LR")
    assert "Order -- raises --> OrderShipped" in diagram
    assert "OrderShipped -- handled by --> ManageInventory" in diagram


def test_new_call_show_and_the_handler_outcome(shop):
    inventory = shop.json("new", "Inventory", "book_id=book-1", "in_stock=100")["data"]["aggregate"]
    order = shop.json("new", "Order", "book_id=book-1", "quantity=3", "total_amount=30")["data"]["aggregate"]
    shipped = shop.json("call", "Order", order["id"], "ship_order")
    assert shipped["data"]["aggregate"]["status"] == "SHIPPED"
    [message] = shipped["data"]["messages"]
    assert message["type"] == "Domain.OrderShipped.v1" and message["stream_name"] == f"order-{order['id']}"
    assert shipped["data"]["handlers"] == [
        {"message_id": message["id"], "type": message["type"], "handler": name, "status": "ok", "detail": ""}
        for name in ("ManageInventory", "OrderSummaryProjector")
    ]
    stock = shop.json("show", "Inventory", inventory["id"])["data"]["items"][0]
    assert stock["in_stock"] == 97
    listing = shop("show", "Order").stdout
    assert "SHIPPED" in listing and order["id"] in listing


def test_raise_with_a_failing_handler_exits_1_and_says_why(shop):
    result = shop.json(
        "raise", "OrderShipped", "order_id=o1", "book_id=nowhere", "quantity=2", "total_amount=5", code=1
    )
    assert result["status"] == "failure"
    outcome = {o["handler"]: o for o in result["data"]["handlers"]}["ManageInventory"]
    assert outcome["status"] == "failed" and "ObjectNotFoundError" in outcome["detail"]
    text = shop("raise", "OrderShipped", "order_id=o2", "book_id=nowhere", "quantity=2", "total_amount=5", code=1)
    assert "failed" in text.stdout and "Traceback" not in text.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["raise", "OrderShiped"], "unknown event `OrderShiped`; did you mean OrderShipped or OrderCancelled?"),
        (["raise", "OrderShipped", "quantty=2"], "unknown field of OrderShipped `quantty`; did you mean quantity?"),
        (
            ["raise", "OrderShipped", "order_id=1", "book_id=b", "quantity=x", "total_amount=1"],
            "invalid values: quantity: Input should be a valid integer, unable to parse string as an integer",
        ),
        (["raise", "OrderShipped", "quantity"], "expected field=value, got `quantity`"),
        (["new", "Ordr"], "unknown aggregate `Ordr`; did you mean Order?"),
        (["show", "Order", "nope"], "`Order` object with identifier nope does not exist."),
        (
            ["replay", "order", "--handler", "Manage"],
            "no event handler `Manage` listens to `order` "
            "(handlers of `order`: ManageInventory, EmailNotifications, OrderSummaryProjector)",
        ),
        (["events", "trace", "nothing"], "no event or correlation with id nothing"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_writes_nothing(shop, args, message):
    result = shop(*args, code=2)
    assert result.stderr.strip().splitlines()[-1] == f"error: {message}"
    assert "Traceback" not in result.stderr
    assert shop.json("events", "stats")["data"]["events"] == 0


def test_streams_and_events_commands(shop):
    shop("new", "Inventory", "book_id=b", "in_stock=10")
    for qty in (1, 2):
        order = shop.json("new", "Order", "book_id=b", f"quantity={qty}", "total_amount=1")["data"]["aggregate"]
        shop("call", "Order", order["id"], "ship_order")
    categories = shop.json("streams")["data"]["categories"]
    assert [(c["category"], c["streams"], c["events"]) for c in categories] == [("order", 2, 2)]
    streams = shop.json("streams", "order")["data"]["streams"]
    assert [s["stream"] for s in streams][-1] == f"order-{order['id']}"
    read = shop.json("events", "read", "order", "--from", "2")["data"]["messages"]
    assert [m["global_position"] for m in read] == [2]
    assert shop.json("events", "read", "$all", "--limit", "1")["data"]["messages"][0]["global_position"] == 1
    found = shop.json("events", "search", "--type", "shipped")["data"]["messages"]
    assert len(found) == 2
    history = shop.json("events", "history", "Order", order["id"][:8])["data"]
    assert history["stream"] == f"order-{order['id']}" and len(history["messages"]) == 1
    trace = shop.json("events", "trace", read[0]["id"])["data"]["roots"]
    assert trace[0]["outcomes"] == [
        {"handler": "ManageInventory", "status": "ok", "detail": ""},
        {"handler": "OrderSummaryProjector", "status": "ok", "detail": ""},
    ]
    stats = shop.json("events", "stats")["data"]["aggregates"]
    assert [(s["aggregate"], s["instances"], s["events"]) for s in stats] == [
        ("Order", 2, 2),
        ("Inventory", 1, 0),
        ("Notification", 0, 0),
    ]


def test_replay_dry_run_then_for_real(shop):
    inventory = shop.json("new", "Inventory", "book_id=b", "in_stock=10")["data"]["aggregate"]
    order = shop.json("new", "Order", "book_id=b", "quantity=4", "total_amount=1")["data"]["aggregate"]
    shop("call", "Order", order["id"], "ship_order")
    dry = shop.json("replay", "order", "--dry-run")["data"]
    assert dry["handlers"] == {"ManageInventory": {"delivered": 1}, "OrderSummaryProjector": {"delivered": 1}}
    assert dry["changes"] == [
        {
            "aggregate": "inventory",
            "id": inventory["id"],
            "change": "updated",
            "fields": {"in_stock": {"from": 6, "to": 2}},
        }
    ]
    assert shop.json("show", "Inventory", inventory["id"])["data"]["items"][0]["in_stock"] == 6
    text = shop("replay", "order", "--handler", "ManageInventory").stdout
    assert "replayed 1 event of order" in text
    assert shop.json("show", "Inventory", inventory["id"])["data"]["items"][0]["in_stock"] == 2
    assert shop.json("replay", "order", "--from", "2")["data"]["messages"] == 0


def test_async_flow_process_status_and_dead_letters(payments):
    payments("raise", "PaymentReceived", "account=acme", "amount=50", "--id", "p1")
    payments("raise", "PaymentReceived", "account=acme", "amount=5000", "--id", "p1")
    payments("raise", "PaymentReceived", "account=acme", "amount=70", "--id", "p1")
    payments("raise", "PaymentReceived", "account=zed", "amount=7", "--id", "p2")
    status = {s["handler"]: s for s in payments.json("subscriptions", "status")["data"]["subscriptions"]}
    assert (status["PostToLedger"]["lag"], status["PostToLedger"]["state"]) == (4, "lagging")
    processed = payments.json("process", code=1)
    assert processed["data"]["handlers"]["PostToLedger"] == {
        "delivered": 2,
        "failed": 3,
        "retried": 2,
        "dead_lettered": 1,
        "parked": 1,
    }
    status = {s["handler"]: s for s in payments.json("subscriptions", "status")["data"]["subscriptions"]}[
        "PostToLedger"
    ]
    assert (status["lag"], status["dlq_depth"], status["state"]) == (0, 1, "failing")
    assert status["last_error"]["message"] == "amount 5000 exceeds the limit of 1000"
    listing = payments.json("dlq", "list")["data"]
    assert listing["groups"] == [{"handler": "PostToLedger", "error_type": "ValueError", "count": 1}]
    [entry] = listing["entries"]
    assert entry["attempts"] == 3 and entry["stream_name"] == "payment-p1"
    inspected = payments.json("dlq", "inspect", entry["id"][:8])["data"]
    assert inspected["message"]["data"] == {"account": "acme", "amount": 5000}
    assert "exceeds the limit" in inspected["dead_letter"]["traceback"]
    assert "Traceback" in payments("dlq", "inspect", entry["id"]).stdout
    # still failing: the replay keeps the entry
    assert payments.json("dlq", "replay", entry["id"], code=1)["data"]["failed"] == 1
    payments("new", "Policy", "name=limits", "max_amount=10000")
    assert payments.json("dlq", "replay-all", "-y")["data"]["replayed"] == 1
    accounts = {a["name"]: a["balance"] for a in payments.json("show", "Account")["data"]["items"]}
    assert accounts == {"acme": 5120, "zed": 7}
    assert payments.json("dlq", "list")["data"]["total"] == 0


def test_bulk_dlq_commands_need_confirmation(payments):
    payments("raise", "PaymentReceived", "account=a", "amount=5000")
    payments("process", code=1)
    result = payments("dlq", "purge", code=2)  # not a terminal and no -y
    assert "needs confirmation: pass -y" in result.stderr
    assert payments.json("dlq", "purge", "-y")["data"]["purged"] == 1


def test_skip_releases_a_sequenced_stream(payments):
    payments("raise", "PaymentReceived", "account=a", "amount=5000", "--id", "p1")
    payments("raise", "PaymentReceived", "account=a", "amount=5", "--id", "p1")
    payments("process", code=1)
    assert payments.json("show", "Account")["data"]["total"] == 0
    entry = payments.json("dlq", "list")["data"]["entries"][0]
    payments("dlq", "skip", entry["id"])
    assert payments.json("show", "Account")["data"]["items"][0]["balance"] == 5


def test_config_file_names_domain_and_store(tmp_path, monkeypatch):
    (tmp_path / "pyproject.toml").write_text(f'[tool.workbench]\ndomain = "{SHOP}"\nstore = "state"\n')
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(
        app,
        ["new", "Inventory", "book_id=b", "in_stock=1", "--json"],
        env={"WORKBENCH_DOMAIN": "", "WORKBENCH_STORE": ""},
    )
    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "state" / "journal.jsonl").exists()


def test_a_locked_store_is_one_clear_line(tmp_path):
    store = tmp_path / "store"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(f"""
        import fcntl, os, sys, time
        sys.path.insert(0, {str(ROOT)!r})
        from workbench.core.store import open_store
        s = open_store({str(store)!r})
        # A commit stuck half-way holds the writer lock (commits normally hold it briefly).
        fd = os.open({str(store / "LOCK")!r}, os.O_RDWR)
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        print("locked", flush=True)
        time.sleep(30)
    """),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        env = {"WORKBENCH_DOMAIN": str(SHOP), "WORKBENCH_STORE": str(store), "WORKBENCH_LOCK_TIMEOUT": "0.2"}
        result = runner.invoke(app, ["new", "Inventory", "book_id=b", "in_stock=1"], env=env)
        assert result.exit_code == 2
        assert result.stderr.strip().splitlines()[-1].startswith(f"error: store {store} is in use by process")
        assert runner.invoke(app, ["show", "Inventory"], env=env).exit_code == 0  # reading never waits
    finally:
        holder.kill()
        holder.wait()


GOLDEN = Path(__file__).parent / "golden" / "shop_session.txt"


def test_golden_session(shop):
    """A small session, with fixed ids and times, compared with its checked-in transcript."""
    commands = [
        ["new", "Inventory", "book_id=book-1", "in_stock=100"],
        ["new", "Order", "book_id=book-1", "quantity=10", "total_amount=100"],
        ["call", "Order", "000001-0001", "ship_order"],
        ["show", "Inventory"],
        ["events", "read", "order", "--data"],
        ["events", "trace", "000002-0001"],
        ["replay", "order", "--dry-run"],
    ]
    transcript = []
    for command in commands:
        result = shop(*command)
        transcript.append(f"$ workbench {' '.join(command)}\n{result.stdout}")
    text = "\n".join(transcript)
    check_golden(GOLDEN, text)


def test_run_stops_cleanly_on_ctrl_c(payments, tmp_path):
    import os
    import signal
    import time

    for amount in (1, 2, 3):
        payments("raise", "PaymentReceived", "account=acme", f"amount={amount}")
    env = {**os.environ, **payments.env}
    proc = subprocess.Popen(
        [sys.executable, "-m", "workbench", "run"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # A loaded machine can take a while to start the engine: signal only once it is running
        # (its signal handlers are installed before it saves its first cursor).
        deadline = time.time() + 120
        caught_up = False
        while time.time() < deadline and not caught_up:
            time.sleep(0.2)
            rows = payments.json("subscriptions", "status")["data"]["subscriptions"]
            caught_up = {r["handler"]: r for r in rows}["PostToLedger"]["lag"] == 0
        assert caught_up, "the engine did not process the backlog"
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    assert "Processed 3 deliveries" in out
    assert payments.json("show", "Account")["data"]["items"][0]["balance"] == 6
    rows = payments.json("subscriptions", "status")["data"]["subscriptions"]
    assert {r["handler"]: r for r in rows}["PostToLedger"]["position"] == 3


def test_read_side_commands(shop, tmp_path):
    shop("new", "Inventory", "book_id=b", "in_stock=10")
    order = shop.json("new", "Order", "book_id=b", "quantity=2", "total_amount=1")["data"]["aggregate"]
    shop("call", "Order", order["id"], "ship_order")
    result = shop.json("query", "OrdersByStatus", "status=SHIPPED")["data"]
    assert [r["order_id"] for r in result["result"]] == [order["id"]]
    assert (
        shop("query", "OrdersByStatu", "status=x", code=2)
        .stderr.strip()
        .endswith("unknown query `OrdersByStatu`; did you mean OrdersByStatus?")
    )
    [row] = shop.json("projection", "status")["data"]["projections"]
    assert (row["projection"], row["rows"], row["lag"]) == ("OrderSummary", 1, 0)
    [dry] = shop.json("projection", "rebuild", "--dry-run")["data"]["projections"]
    assert (dry["events"], dry["rows_after"], dry["changes"]) == (1, 1, [])
    [done] = shop.json("projection", "rebuild", "OrderSummary")["data"]["projections"]
    assert done["rows_after"] == 1 and done["errors"] == 0
    info = shop.json("info")["data"]
    assert [p["name"] for p in info["projections"]] == ["OrderSummary"]
    assert info["projectors"][0]["listens_to"] == ["order"]
    assert info["queries"][0]["handled_by"] == "OrderSummaryQueries.by_status"
    assert "OrderShipped -- projected by --> OrderSummaryProjector" in shop("info", "--mermaid").stdout
    tree = shop("info").stdout
    assert "Projectors" in tree and "Queries" in tree


def test_publish_to_a_subscriber(payments, tmp_path):
    lines = tmp_path / "callbacks.jsonl"
    lines.write_text(
        '{"status": "captured", "account": "ann", "amount": 3}\n\n'
        '{"status": "captured", "account": "ann", "amount": 4}\n'
    )
    published = payments.json("publish", "payments-gateway", "--file", str(lines))
    assert [m["stream_name"] for m in published["data"]["messages"]] == ["$broker:payments-gateway"] * 2
    assert {h["handler"]: h["status"] for h in published["data"]["handlers"]} == {"GatewayCallbacks": "queued"}
    payments("process")
    assert payments.json("show", "Account")["data"]["items"][0]["balance"] == 7
    bad = payments("publish", "payments-gateway", "{nope", code=2)
    assert "error: the message is not JSON (Expecting property name enclosed in double quotes at column 2)" in bad.stderr
    assert "GatewayCallbacks" in payments("info").stdout

"""The interactive workbench: completion, the session loop, and a real terminal."""

from __future__ import annotations

import os
import sys

import pytest
from conftest import ROOT, SHOP
from prompt_toolkit.history import InMemoryHistory
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput
from typer.main import get_command
from workbench.cli import session as sessions
from workbench.cli.main import app
from workbench.cli.repl.completion import StoreIndex, command_tree, suggestions
from workbench.cli.repl.shell import Shell

PAYMENTS = ROOT / "samples" / "payments" / "domain.py"
TREE = command_tree(get_command(app))


@pytest.fixture
def loaded(tmp_path):
    session = sessions.Session(sessions.Settings(domain=str(SHOP), store=str(tmp_path / "store")))
    domain = session.load(write=True)
    yield session, domain
    session.close()


def complete(domain, text):
    return suggestions(text, TREE, domain, StoreIndex())


def test_commands_and_subcommands(loaded):
    _, domain = loaded
    assert complete(domain, "")[:3] == ["call", "check", "clock"]
    assert complete(domain, "ev") == ["events"]
    assert complete(domain, "events ") == ["history", "read", "search", "stats", "trace"]
    assert complete(domain, "dlq re") == ["replay", "replay-all"]
    assert complete(domain, "raise OrderShipped --or") == ["--origin-stream"]


def test_event_aggregate_field_and_choice_names(loaded):
    _, domain = loaded
    assert complete(domain, "raise ") == ["OrderShipped", "OrderCancelled"]
    assert complete(domain, "raise OrderShipped qu") == ["quantity="]
    assert "book_id=" in complete(domain, "raise OrderShipped order_id=1 ")
    assert complete(domain, "new Ord") == ["Order"]
    assert complete(domain, "new Order status=") == [
        "status=PENDING",
        "status=SHIPPED",
        "status=DELIVERED",
        "status=CANCELLED",
    ]
    assert complete(domain, "new Order status=S") == ["status=SHIPPED"]


def test_ids_streams_handlers_and_methods_from_the_store(loaded):
    _, domain = loaded
    Order = domain.registry.aggregates["Order"]
    Inventory = domain.registry.aggregates["Inventory"]
    with domain.domain_context():
        domain.repository_for(Inventory).add(Inventory(book_id="b", in_stock=5))
        order = Order(book_id="b", quantity=1, total_amount=1)
        order.ship_order()
        domain.repository_for(Order).add(order)
    assert complete(domain, "show Order ") == [order.id]
    assert complete(domain, f"call Order {order.id[:4]}") == [order.id]
    assert complete(domain, f"call Order {order.id} ship") == ["ship_order"]
    assert complete(domain, "events read ") == ["all", "order"]
    assert complete(domain, "events read order-") == [f"order-{order.id}"]
    assert complete(domain, "replay order --handler ") == ["ManageInventory", "EmailNotifications"]
    assert complete(domain, "events trace ") == [m.id for m in domain.event_store.read("$all")]


def test_dead_letter_ids(tmp_path):
    session = sessions.Session(sessions.Settings(domain=str(PAYMENTS), store=str(tmp_path / "s")))
    domain = session.load(write=True)
    PaymentReceived = domain.registry.events["PaymentReceived"]
    with domain.domain_context():
        domain.event_store.append(PaymentReceived(account="a", amount=5000))
        session.engine.process_until_idle()
    [letter] = domain.store.rows("dead_letters")
    assert complete(domain, "dlq inspect ") == [letter]
    session.close()


def test_stream_completion_uses_a_sorted_index_on_a_big_store(loaded):
    _, domain = loaded
    records = []
    for i in range(100_000):
        records.append(
            {
                "id": f"e{i}",
                "type": "Domain.OrderShipped.v1",
                "stream_name": f"order-{i:06d}",
                "stream_category": "order",
                "position": None,
                "global_position": None,
                "time": "t",
                "data": {},
                "metadata": {},
            }
        )
    domain.store.commit([], records)
    index = StoreIndex()
    suggestions("events read order-0", TREE, domain, index)  # builds the sorted index once
    built = index._streams
    found = suggestions("events read order-0999", TREE, domain, index)
    assert found[:2] == ["order-099900", "order-099901"] and len(found) == 50  # capped
    assert index._streams is built  # not rebuilt while the store is unchanged


def run_session(session, lines):
    with create_pipe_input() as pipe:
        pipe.send_text("".join(f"{line}\n" for line in lines))
        Shell(session, input=pipe, output=DummyOutput(), history=InMemoryHistory()).run()


def test_a_session_runs_the_cli_commands_and_python(tmp_path, capsys):
    store = tmp_path / "store"
    session = sessions.Session(sessions.Settings(domain=str(SHOP), store=str(store)))
    session.load(write=True)
    run_session(
        session,
        [
            "new Inventory book_id=b1 in_stock=5",
            "py order = Order(book_id='b1', quantity=2, total_amount=3)",
            "py repo(Order).add(order); order.ship_order(); repo(Order).add(order)",
            "py repo(Inventory).find_by(book_id='b1').in_stock",
            "raise Nope",
            "events read order",
            "exit",
        ],
    )
    out, err = capsys.readouterr()
    assert "Inventory saved" in out and "\n3\n" in out
    assert "Domain.OrderShipped.v1" in out
    # the store was closed and unlocked: another writer gets in at once
    from workbench.core.store import open_store

    with open_store(store, lock_timeout=0) as again:
        assert again.event_count() == 1


def test_errors_print_one_line_and_the_session_goes_on(loaded, capsys):
    session, _ = loaded
    with create_pipe_input() as pipe:
        shell = Shell(session, input=pipe, output=DummyOutput(), history=InMemoryHistory())
        assert shell.execute("raise Nope") == 2
        assert shell.execute("py 1/0") == 1
        assert shell.execute("bogus") == 2
        assert shell.execute("show Inventory") == 0
    err = capsys.readouterr().err
    assert "error: unknown event `Nope`" in err
    assert "error: ZeroDivisionError: division by zero" in err and "Traceback" not in err
    assert "error: unknown command `bogus`; `help` lists the commands" in err


def test_python_mode_and_debug(loaded, capsys):
    session, _ = loaded
    with create_pipe_input() as pipe:
        shell = Shell(session, input=pipe, output=DummyOutput(), history=InMemoryHistory())
        for line in ["py", "x = 6 * 7", "x"]:
            shell.execute(line)
        assert shell.python_mode
        shell.execute("exit")
        assert not shell.python_mode
        shell.execute("debug on")
        assert shell.execute("py 1/0") == 1
    out, err = capsys.readouterr()
    assert "42" in out and "Traceback" in err


def test_reload_reports_what_changed(tmp_path, capsys):
    domain_file = tmp_path / "shopdom.py"
    domain_file.write_text(SHOP.read_text())
    session = sessions.Session(sessions.Settings(domain=str(domain_file), store=str(tmp_path / "s")))
    session.load(write=True)
    with create_pipe_input() as pipe:
        shell = Shell(session, input=pipe, output=DummyOutput(), history=InMemoryHistory())
        shell.execute("new Inventory book_id=b1 in_stock=5")
        domain_file.write_text(
            SHOP.read_text().replace(
                "domain.init()",
                "@domain.event_handler(part_of=Order)\nclass Audit:\n"
                "    @handle(OrderShipped)\n    def note(self, event):\n        pass\n\n\ndomain.init()",
                1,
            )
        )
        shell.execute("reload")
        assert "Audit" in shell.domain.registry.event_handlers
        assert shell.domain.store.event_count() == 0 and len(shell.domain.repository_for("Inventory").all()) == 1
        session.close()
    assert "+ event handler Audit" in capsys.readouterr().out


def test_toolbar_shows_pending_and_dlq(tmp_path):
    session = sessions.Session(sessions.Settings(domain=str(PAYMENTS), store=str(tmp_path / "s")))
    domain = session.load(write=True)
    with create_pipe_input() as pipe:
        shell = Shell(session, input=pipe, output=DummyOutput(), history=InMemoryHistory())
        shell.execute("raise PaymentReceived account=a amount=5000")
        text = "".join(t for _, t in shell.toolbar())
        assert "Payments" in text and "async" in text and "1 event " in text and "1 pending" in text
        shell.execute("process")
        parts = shell.toolbar()
        assert any("DLQ 1" in t and "ansired" in style for style, t in parts)
    session.close()
    del domain


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def spawn_shell(pexpect, domain, tmp_path):
    """`python -m workbench` on a real terminal (a pty), with the shell's state under tmp_path."""
    env = {
        **os.environ,
        "WORKBENCH_DOMAIN": str(domain),
        "WORKBENCH_STORE": str(tmp_path / "store"),
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "NO_COLOR": "1",
        "TERM": "xterm",
        "PROMPT_TOOLKIT_NO_CPR": "1",
    }
    return pexpect.spawn(
        sys.executable, ["-m", "workbench"], cwd=str(ROOT), env=env, encoding="utf-8", timeout=30, dimensions=(40, 140)
    )


def test_real_terminal_session(tmp_path):
    import time

    pexpect = pytest.importorskip("pexpect")
    child = spawn_shell(pexpect, SHOP, tmp_path)
    try:
        child.expect("workbench>")
        time.sleep(0.5)  # let the prompt finish starting up before typing, as a person would
        child.send("new Inventory book_id=b1 in_stock=7\r")
        child.expect("Inventory saved")
        # Output reaches the terminal through prompt_toolkit's stdout proxy, so the next
        # prompt may be drawn before or after it: wait for output, not for prompts.
        child.send("show Inventory\r")
        child.expect("Inventory \\(1\\)")
        child.expect("b1")
        for _ in range(5):  # Ctrl-D may arrive before the next prompt listens; press it again
            time.sleep(0.5)
            child.sendcontrol("d")
            if child.expect([pexpect.EOF, pexpect.TIMEOUT], timeout=5) == 0:
                break
    finally:
        child.close()
    assert child.exitstatus == 0
    history = (tmp_path / "state" / "workbench" / "history").read_text()
    assert "new Inventory book_id=b1 in_stock=7" in history


def test_watch_reloads_when_the_file_is_saved(tmp_path, capsys):
    import time

    domain_file = tmp_path / "watched.py"
    domain_file.write_text(SHOP.read_text())
    session = sessions.Session(sessions.Settings(domain=str(domain_file), store=str(tmp_path / "s")))
    session.load(write=True)
    with create_pipe_input() as pipe:
        shell = Shell(session, input=pipe, output=DummyOutput(), history=InMemoryHistory())
        first = shell.domain
        assert shell.execute("watch on") == 0
        time.sleep(0.1)
        domain_file.write_text(SHOP.read_text() + "\n# edited\n")
        os.utime(domain_file, (time.time() + 5, time.time() + 5))  # a distinct mtime, whatever the clock
        deadline = time.monotonic() + 20
        while shell.domain is first and time.monotonic() < deadline:
            time.sleep(0.1)
        assert shell.domain is not first
        assert shell.execute("watch off") == 0
        session.close()
    assert "watched.py changed; reloading" in capsys.readouterr().out


def test_read_side_and_subscriber_completion(loaded, tmp_path):
    _, domain = loaded
    assert complete(domain, "query ") == ["OrdersByStatus"]
    assert complete(domain, "query OrdersByStatus st") == ["status="]
    assert complete(domain, "projection rebuild ") == ["OrderSummary"]
    assert "OrderSummary" in complete(domain, "show ")
    session = sessions.Session(sessions.Settings(domain=str(PAYMENTS), store=str(tmp_path / "p")))
    payments = session.load(write=True)
    assert complete(payments, "publish ") == ["payments-gateway"]
    session.close()


def test_one_save_in_two_writes_reloads_once(tmp_path, capsys):
    """Editors truncate then write: the watcher waits for the file to settle and reloads once."""
    import time

    domain_file = tmp_path / "watched.py"
    domain_file.write_text(SHOP.read_text())
    session = sessions.Session(sessions.Settings(domain=str(domain_file), store=str(tmp_path / "s")))
    session.load(write=True)
    with create_pipe_input() as pipe:
        shell = Shell(session, input=pipe, output=DummyOutput(), history=InMemoryHistory())
        first = shell.domain
        assert shell.execute("watch on") == 0
        time.sleep(0.6)
        domain_file.write_text("")  # the truncate ...
        time.sleep(0.05)
        domain_file.write_text(SHOP.read_text() + "\n# edited\n")  # ... then the write
        deadline = time.monotonic() + 20
        while shell.domain is first and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(1.5)  # a second (wrong) reload would come within a poll or two
        assert shell.execute("watch off") == 0
        session.close()
    captured = capsys.readouterr()
    assert captured.out.count("watched.py changed; reloading") == 1
    assert "previous domain stays loaded" not in captured.err


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_output_comes_before_the_next_prompt_and_watch_prints_above_it(tmp_path):
    import time

    pexpect = pytest.importorskip("pexpect")
    domain_file = tmp_path / "watched.py"
    domain_file.write_text(SHOP.read_text())
    child = spawn_shell(pexpect, domain_file, tmp_path)
    try:
        child.expect("workbench>")
        time.sleep(0.5)
        for _ in range(3):
            child.send("show Inventory\r")
            # prompt_toolkit switches bracketed paste off when a prompt ends and on when the
            # next one starts: the command's whole output must lie between the two.
            child.expect_exact("\x1b[?2004l")
            child.expect_exact("\x1b[?2004h")
            assert "Inventory (0)" in child.before and "└" in child.before
        child.send("watch on\r")
        child.expect("watching")
        child.expect("workbench>")
        time.sleep(0.6)
        domain_file.write_text(SHOP.read_text() + "\n# edited\n")
        child.expect("watched.py changed; reloading")
        child.expect("reloaded; nothing added, removed or changed")
        child.expect("workbench>")  # the prompt is drawn again below the reload's lines
        child.sendcontrol("d")
        child.expect(pexpect.EOF)
    finally:
        child.close()

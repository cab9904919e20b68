"""Issue 16's bugs (and issue 13's CLI side), tried as a new user would; each test failed before its fix."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import ROOT, SHOP
from test_cli_commands import PAYMENTS, Workbench

LIBRARY = ROOT / "tests" / "library_domain.py"


@pytest.fixture
def library(tmp_path):
    return Workbench(LIBRARY, tmp_path / "store")


@pytest.fixture
def shop(tmp_path):
    return Workbench(SHOP, tmp_path / "store")


@pytest.fixture
def payments(tmp_path):
    return Workbench(PAYMENTS, tmp_path / "store")


# -- bug 2 and the store path ---------------------------------------------------------------


def test_an_uncreatable_store_is_one_line(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    result = Workbench(SHOP, blocker / "store")("show", "Inventory", code=2)
    # One line naming the store path (the store layer says which file it could not use).
    assert result.stderr.startswith("error: cannot ") and str(blocker / "store") in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_an_empty_store_option_is_an_error_not_dot_workbench(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    shop = Workbench(SHOP, tmp_path / "unused")
    result = shop("--store", "", "new", "Inventory", "book_id=b", "in_stock=1", code=2)
    assert result.stderr.strip() == "error: the store path is empty; give a folder with --store (or leave it out)"
    assert not (tmp_path / ".workbench").exists()


# -- bug 3: sync handlers have no lag ---------------------------------------------------------


def test_sync_handlers_show_no_lag_and_process_has_nothing_to_do(shop):
    shop("new", "Inventory", "book_id=b", "in_stock=10")
    shop("new", "Order", "book_id=b", "quantity=1", "total_amount=5")
    shop("call", "Order", "000001-0001", "ship_order")
    rows = shop.json("subscriptions", "status")["data"]["subscriptions"]
    assert rows and all(r["lag"] == 0 and r["state"] == "ok" for r in rows)
    processed = shop("process")
    assert "runs its handlers synchronously" in processed.stderr
    assert shop.json("process")["data"]["handled"] == 0


# -- bug 4: dead-letter ids ---------------------------------------------------------------------


def test_dlq_list_shows_ids_that_tell_entries_apart(payments):
    payments("raise", "PaymentReceived", "account=a", "amount=5000", "--id", "p-1")
    payments("raise", "PaymentReceived", "account=b", "amount=6000", "--id", "p-2")
    payments("process", code=1)
    ids = [e["id"] for e in payments.json("dlq", "list")["data"]["entries"]]
    assert len(ids) == 2 and ids[0][:8] == ids[1][:8]  # deterministic ids share 8 characters
    table = payments("dlq", "list").stdout
    for identifier in ids:
        assert f"│ {identifier} " in table
    payments("dlq", "inspect", ids[1])


# -- bug 5: unknown names and impossible ranges --------------------------------------------------


def test_replay_of_an_unknown_category_is_a_usage_error_with_a_suggestion(library):
    result = library("replay", "books", code=2)
    assert result.stderr.strip() == "error: unknown category `books`; did you mean book?"


def test_replay_with_an_impossible_range_is_a_usage_error(library):
    result = library("replay", "book", "--from", "5", "--to", "2", code=2)
    assert "--from 5 is after --to 2" in result.stderr


def test_replay_never_suggests_the_name_that_was_typed(library):
    result = library("replay", "member", "--handler", "Lending", code=2)
    assert "did you mean Lending" not in result.stderr
    assert "event handler `Lending` listens to book, not `member`" in result.stderr


# -- bug 6: Python constants in expect ----------------------------------------------------------


def test_expect_accepts_python_true_false_none(tmp_path):
    from workbench.cli import session as sessions
    from workbench.cli.interpreter import Interpreter

    session = sessions.Session(sessions.Settings(domain=str(LIBRARY), store=str(tmp_path / "s")), deterministic=True)
    session.load(write=True)
    interpreter = Interpreter(session)
    try:
        assert interpreter.execute("new Member name=Ann").code == 0
        assert interpreter.execute("expect Member[name=Ann].suspended == False").code == 0
        assert interpreter.execute("expect Member[name=Ann].suspended != True").code == 0
        assert interpreter.execute("expect Member[name=Ann].suspended == false").code == 0
        assert interpreter.execute("expect Member[name=Ann].suspended == True").code == 1
    finally:
        interpreter.close()


# -- bug 7 (tables) and bug 8 -------------------------------------------------------------------


def interpreter_on(domain: Path, store: Path):
    from workbench.cli import session as sessions
    from workbench.cli.interpreter import Interpreter

    session = sessions.Session(sessions.Settings(domain=str(domain), store=str(store)), deterministic=True)
    session.load(write=True)
    return Interpreter(session)


def test_a_long_dry_run_table_is_capped_with_a_more_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    interpreter = interpreter_on(SHOP, tmp_path / "s")
    try:
        for n in range(60):
            assert interpreter.execute(f"new Inventory book_id=b{n} in_stock=100").code == 0
            line = f"raise OrderShipped order_id=o{n} book_id=b{n} quantity=1 total_amount=1 --id o{n}"
            assert interpreter.execute(line).code == 0
        capsys.readouterr()
        assert interpreter.execute("replay order --dry-run").code == 0
        capped = capsys.readouterr()
        assert len([line for line in capped.out.splitlines() if "│ inventory │" in line]) == 50
        assert "… 10 more (--all shows every row)" in capped.err
        assert interpreter.execute("replay order --dry-run --all").code == 0
        everything = capsys.readouterr()
        assert len([line for line in everything.out.splitlines() if "│ inventory │" in line]) == 60
        assert "more (--all" not in everything.err
    finally:
        interpreter.close()


def test_a_failed_dry_run_does_not_point_at_the_dlq(library):
    library("raise", "BookLent", "book_id=b", "member_id=nobody", code=1)  # the handler cannot find the member
    result = library("replay", "book", "--dry-run", code=1)
    assert "dlq" not in result.stderr
    assert "1 delivery failed in the dry run (nothing was written or dead-lettered)" in result.stderr


# -- issue 13's CLI side ------------------------------------------------------------------------


def test_a_repeated_field_is_a_usage_error_naming_it(shop):
    result = shop("new", "Inventory", "book_id=b", "in_stock=1", "in_stock=2", code=2)
    assert result.stderr.strip() == "error: field `in_stock` is given twice; give each field once"
    assert shop.json("show", "Inventory")["data"]["total"] == 0  # nothing half-written


def test_publish_file_that_is_a_directory_says_so(payments, tmp_path):
    result = payments("publish", "payments-gateway", "--file", str(tmp_path), code=2)
    assert result.stderr.strip() == f"error: --file {tmp_path} is a directory; give a file of JSON lines"


def test_publish_file_dash_reads_standard_input(payments):
    lines = (
        '{"status": "captured", "account": "zed", "amount": 5}\n{"status": "captured", "account": "zed", "amount": 2}\n'
    )
    published = json.loads(payments("publish", "payments-gateway", "--file", "-", "--json", input=lines).stdout)
    assert len(published["data"]["messages"]) == 2


# -- bug 7: Ctrl-C during replay -------------------------------------------------------------------

INTERRUPTING = """
import os, signal
from protean import Domain, current_domain, handle
from protean.fields import Identifier, Integer

domain = Domain()
domain.config["event_processing"] = "sync"

@domain.event(part_of="Tick")
class Ticked:
    n: Integer(required=True)

@domain.aggregate
class Tick:
    n: Integer()

@domain.event_handler(part_of=Tick)
class Counter:
    @handle(Ticked)
    def count(self, event):
        if current_domain.is_replaying and event.n == 3:
            os.kill(os.getpid(), signal.SIGINT)  # the user presses Ctrl-C while the third event replays
"""


def test_ctrl_c_during_replay_says_it_was_interrupted_and_how_far(tmp_path):
    domain = tmp_path / "ticks.py"
    domain.write_text(INTERRUPTING)
    ticks = Workbench(domain, tmp_path / "store")
    for n in range(1, 7):
        ticks("raise", "Ticked", f"n={n}", "--id", "t")
    result = ticks("replay", "tick", code=1)
    assert "interrupted after 3 events of tick" in result.stdout
    assert "interrupted by Ctrl-C after 3 events; later events were not replayed" in result.stderr
    assert "replayed 6" not in result.stdout


def test_a_long_projection_rebuild_diff_is_capped_too(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    interpreter = interpreter_on(SHOP, tmp_path / "s")
    try:
        assert interpreter.execute("new Inventory book_id=b in_stock=100").code == 0
        for n in range(55):
            line = f"raise OrderShipped order_id=o{n} book_id=b quantity=1 total_amount=1 --id o{n}"
            assert interpreter.execute(line).code == 0
        interpreter.execute("py")
        for line in (
            "for s in repo(OrderSummary).all():",
            "    s.status = 'EDITED'",
            "    repo(OrderSummary).add(s)",
            "",
        ):
            interpreter.execute(line)
        interpreter.execute("exit")
        capsys.readouterr()
        assert interpreter.execute("projection rebuild --dry-run").code == 0
        capped = capsys.readouterr()
        assert len([line for line in capped.out.splitlines() if "│ updated │" in line]) == 50
        assert "… 5 more (--all shows every row)" in capped.err
        assert interpreter.execute("projection rebuild --dry-run --all").code == 0
        assert len([line for line in capsys.readouterr().out.splitlines() if "│ updated │" in line]) == 55
    finally:
        interpreter.close()

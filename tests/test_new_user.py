"""Issue 16: the command line tried as a new user would; each test failed before its fix."""

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
    assert result.stderr.startswith(f"error: cannot use the store at {blocker / 'store'}") or result.stderr.startswith(
        "error: cannot use the store at"
    )
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


# -- friction: events -----------------------------------------------------------------------------


@pytest.fixture
def shipped(shop):
    """An inventory, an order shipped, then three more OrderShipped on the order's stream."""
    shop("new", "Inventory", "book_id=b", "in_stock=10")
    shop("new", "Order", "book_id=b", "quantity=1", "total_amount=5")
    shop("call", "Order", "000001-0001", "ship_order")
    for _ in range(3):
        shop("raise", "OrderShipped", "order_id=x", "book_id=b", "quantity=1", "total_amount=1", "--id", "000001-0001")
    return shop


def test_events_trace_takes_a_global_position_or_an_id_prefix(shipped):
    by_position = shipped.json("events", "trace", "#2")["data"]["roots"]
    assert by_position[0]["global_position"] == 2
    event_id = by_position[0]["id"]
    assert shipped.json("events", "trace", "2")["data"]["roots"][0]["id"] == event_id
    assert shipped.json("events", "trace", event_id[:9])["data"]["roots"][0]["id"] == event_id
    ambiguous = shipped("events", "trace", "0000", code=2)
    assert "is the start of" in ambiguous.stderr
    assert "no event at global position 99" in shipped("events", "trace", "#99", code=2).stderr


def test_event_tables_show_ids_on_request(shipped):
    text = shipped("events", "read", "order", "--ids").stdout
    assert "│ 000002-0001 │" in text


def test_events_read_says_when_it_stops_and_data_is_whole(shipped):
    result = shipped("events", "read", "order", "--limit", "2", "--data")
    assert "… 2 more; use --limit N or --from N" in result.stderr
    assert '"total_amount":5}' in result.stdout
    assert "…" not in result.stdout  # --data is never cut


def test_unknown_streams_categories_types_and_ids_are_named(shipped):
    assert "unknown category `orders`; did you mean order?" in shipped("events", "read", "orders", code=2).stderr
    assert "stream `order-zz` has no events" in shipped("events", "read", "order-zz", code=2).stderr
    assert "no event type matches `Nope`" in shipped("events", "search", "--type", "Nope", code=2).stderr
    assert "no Order with id `nope`" in shipped("events", "history", "Order", "nope", code=2).stderr


def test_all_stands_for_dollar_all(shipped):
    assert shipped.json("events", "read", "all")["data"]["stream"] == "$all"
    assert shipped.json("events", "read", "$all")["data"]["stream"] == "$all"


def test_an_empty_store_says_how_to_start(shop):
    result = shop("events", "read", "order")
    assert "holds no events yet; `workbench new AGGREGATE field=value`" in result.stderr


# -- friction: raise --id ---------------------------------------------------------------------------


def test_raise_resolves_id_prefixes_and_field_named_aggregates(shop):
    shop("new", "Order", "book_id=b", "quantity=1", "total_amount=5")  # id 000000-0001
    shop("new", "Inventory", "book_id=b", "in_stock=10")
    by_prefix = shop.json(
        "raise", "OrderShipped", "order_id=o", "book_id=b", "quantity=1", "total_amount=1", "--id", "000000-000"
    )
    assert by_prefix["data"]["messages"][0]["stream_name"] == "order-000000-0001"
    by_field = shop("raise", "OrderShipped", "order_id=000000-0001", "book_id=b", "quantity=1", "total_amount=1")
    assert "order_id=000000-0001 names a saved Order" in by_field.stderr
    assert "order-000000-0001" in by_field.stdout
    unknown = shop("raise", "OrderShipped", "order_id=o", "book_id=b", "quantity=1", "total_amount=1", "--id", "zzz")
    assert "note: no Order has id `zzz`; the event starts stream order-zzz" in unknown.stderr
    fresh = shop("raise", "OrderShipped", "order_id=o", "book_id=b", "quantity=1", "total_amount=1")
    assert "no --id given; the event starts a new Order stream" in fresh.stderr


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


# -- friction: messages and help --------------------------------------------------------------------


def test_help_shows_named_metavars(shop):
    usage = shop("call", "--help").stdout
    assert "Usage: workbench call [OPTIONS] {AGGREGATE} {ID} {METHOD} [ARG]..." in usage
    assert "--store PATH" in usage and "{method}" not in usage
    assert "--limit N" in shop("events", "read", "--help").stdout


def test_call_counts_arguments_without_self(library):
    member = library.json("new", "Member", "name=Ann")["data"]["aggregate"]["id"]
    too_many = library("call", "Member", member, "suspend", "a", "b", code=2)
    assert too_many.stderr.strip() == "error: Member.suspend(reason: str): too many positional arguments"
    missing = library("call", "Member", member, "suspend", code=2)
    assert missing.stderr.strip() == "error: Member.suspend(reason: str): missing a required argument: 'reason'"


def test_a_broken_domain_says_it_failed_to_load(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import nope\n")
    result = Workbench(bad, tmp_path / "s")("info", code=2)
    assert (
        f"error: the domain {bad} failed to load (bad.py:1): ModuleNotFoundError: No module named 'nope'"
        in result.stderr
    )
    assert "error: error while" not in result.stderr


def test_no_class_names_leak_into_usage_errors(tmp_path, capsys):
    interpreter = interpreter_on(SHOP, tmp_path / "s")
    try:
        assert interpreter.execute("expect Inventory.count 3").code == 2
        assert interpreter.execute("expect Nope.count == 3").code == 2
    finally:
        interpreter.close()
    err = capsys.readouterr().err
    assert "IncorrectUsageError" not in err and "Error:" not in err
    assert "error: expect needs `SUBJECT OP VALUE`" in err


def test_dlq_filters_name_unknown_handlers_and_a_piped_y_confirms(payments):
    unknown = payments("dlq", "purge", "--handler", "PostToLedgr", "-y", code=2)
    assert "unknown handler `PostToLedgr`; did you mean PostToLedger?" in unknown.stderr
    payments("raise", "PaymentReceived", "account=a", "amount=5000")
    payments("process", code=1)
    declined = payments("dlq", "purge", input="n\n", code=1)
    assert "Purge 1 dead letter? [y/N]: n" in declined.stderr and "cancelled" in declined.stderr
    confirmed = payments("dlq", "purge", input="y\n")
    assert "purged 1 dead letter\n" in confirmed.stderr


# -- friction: the shell ------------------------------------------------------------------------------


def test_unknown_shell_commands_get_suggestions_and_help_lists_every_command(tmp_path, capsys):
    interpreter = interpreter_on(SHOP, tmp_path / "s")
    try:
        assert interpreter.execute("shwo Inventory").code == 2
        assert interpreter.execute("help").code == 0
    finally:
        interpreter.close()
    captured = capsys.readouterr()
    assert "error: unknown command `shwo`; did you mean show?" in captured.err
    for name in ("events trace", "dlq replay-all", "projection rebuild", "subscriptions status", "query"):
        assert f"\n  {name} " in captured.out


def test_the_shell_starts_with_a_hint(tmp_path, capsys):
    from prompt_toolkit.history import InMemoryHistory
    from prompt_toolkit.input import create_pipe_input
    from prompt_toolkit.output import DummyOutput
    from workbench.cli import session as sessions
    from workbench.cli.repl.shell import Shell

    session = sessions.Session(sessions.Settings(domain=str(SHOP), store=str(tmp_path / "s")))
    session.load(write=True)
    with create_pipe_input() as pipe:
        pipe.send_text("exit\n")
        Shell(session, input=pipe, output=DummyOutput(), history=InMemoryHistory()).run()
    assert "`help` lists the commands, Tab completes, Ctrl-D leaves" in capsys.readouterr().out


def test_python_mode_takes_multi_line_blocks(tmp_path, capsys):
    interpreter = interpreter_on(SHOP, tmp_path / "s")
    try:
        interpreter.execute("py")
        assert interpreter.execute("for n in range(3):").more
        assert interpreter.execute("    repo(Inventory).add(Inventory(book_id=f'b{n}', in_stock=n))").more
        assert interpreter.execute("").code == 0
        assert interpreter.execute("len(repo(Inventory).all())").code == 0
    finally:
        interpreter.close()
    assert capsys.readouterr().out.strip().endswith("3")


def test_reload_reports_changed_fields(tmp_path, capsys):
    domain_file = tmp_path / "shopdom.py"
    domain_file.write_text(SHOP.read_text())
    interpreter = interpreter_on(domain_file, tmp_path / "s")
    try:
        domain_file.write_text(
            SHOP.read_text().replace(
                "    in_stock: Integer(required=True)\n", "    in_stock: Integer()\n    shelf: String()\n", 1
            )
        )
        assert interpreter.execute("reload").code == 0
    finally:
        interpreter.close()
    out = capsys.readouterr().out
    assert "~ aggregate Inventory: + field shelf (String)" in out
    assert "~ aggregate Inventory: field in_stock Integer(required) -> Integer" in out


def test_completion_offers_ids_for_id_fields_and_method_parameters(tmp_path):
    from typer.main import get_command
    from workbench.cli.main import app
    from workbench.cli.repl.completion import StoreIndex, command_tree, describe, suggestions

    interpreter = interpreter_on(LIBRARY, tmp_path / "s")
    interpreter.execute("new Member name=Ann")
    try:
        domain = interpreter.session.domain
        member = next(iter(domain.store.rows(domain.repository_for(domain.registry.aggregates["Member"]).table)))
        tree = command_tree(get_command(app))
        assert suggestions("raise MemberJoined member_id=", tree, domain, StoreIndex()) == [f"member_id={member}"]
        assert suggestions(f"call Member {member} suspend ", tree, domain, StoreIndex()) == ["reason="]
        assert describe("call", ["Member", member], "suspend", domain) == "suspend(reason: str)"
        assert interpreter.execute(f"call Member {member} join").code == 0
        [joined] = [m.id for m in interpreter.session.domain.event_store.read("$all")]
        assert describe("events trace", [], joined, interpreter.session.domain) == f"#1 MemberJoined member-{member}"
    finally:
        interpreter.close()


def test_expect_names_unknown_categories_and_handlers(tmp_path, capsys):
    interpreter = interpreter_on(SHOP, tmp_path / "s")
    try:
        assert interpreter.execute("expect events orders == 0").code == 2
        assert interpreter.execute("expect dlq ManageInventry == 0").code == 2
        assert interpreter.execute("expect events order-nothing-yet == 0").code == 0
        assert interpreter.execute("expect dlq ManageInventory == 0").code == 0
    finally:
        interpreter.close()
    err = capsys.readouterr().err
    assert "error: unknown category `orders`; did you mean order?" in err
    assert "error: unknown handler `ManageInventry`; did you mean ManageInventory?" in err

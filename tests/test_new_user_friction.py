"""Issue 16's friction points: events, raise, messages, help and the shell; each test failed before its fix."""

from __future__ import annotations

import pytest
from conftest import ROOT, SHOP
from test_cli_commands import PAYMENTS, Workbench
from test_new_user_bugs import interpreter_on

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
    assert "unknown category `orders`; did you mean order or manage_order?" in shipped("events", "read", "orders", code=2).stderr
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
    assert "error: unknown category `orders`; did you mean order or manage_order?" in err
    assert "error: unknown handler `ManageInventry`; did you mean ManageInventory or ManageOrder?" in err


def test_reading_from_a_folder_without_a_store_says_so(tmp_path):
    missing = tmp_path / "no-store-here"
    result = Workbench(SHOP, missing)("show", "Inventory")
    assert f"note: there is no store at {missing} yet" in result.stderr
    assert not missing.exists()  # reading never creates it
    info = Workbench(SHOP, missing)("info")
    assert "no store at" not in info.stderr

"""The command line for commands and event-sourced aggregates: `send`, `info`, `events trace`
from a command, `show --version`, `events history --states`, and shell completion."""

from __future__ import annotations

import json

import pytest
from conftest import ROOT
from test_cli_commands import Workbench
from typer.main import get_command
from workbench.cli import session as sessions
from workbench.cli.main import app
from workbench.cli.repl.completion import StoreIndex, command_tree, suggestions

LIBRARY = ROOT / "samples" / "library" / "domain.py"
SHOP = ROOT / "samples" / "shop" / "domain.py"
ISBN = "978-0441013593"


@pytest.fixture
def library(tmp_path):
    return Workbench(LIBRARY, tmp_path / "store")


@pytest.fixture
def shop(tmp_path):
    return Workbench(SHOP, tmp_path / "store")


def stocked(library: Workbench) -> Workbench:
    library("send", "CatalogueBook", f"isbn={ISBN}", "title=Dune", "copies=2")
    library("send", "RegisterMember", "member_id=ann", "name=Ann")
    return library


def test_send_prints_the_command_its_events_and_every_handler(library):
    stocked(library)
    out = library("send", "BorrowBook", "member_id=ann", f"isbn={ISBN}").stdout
    assert "Domain.BorrowBook.v1" in out and "lending-" in out  # stored in its own stream
    assert "Domain.BookBorrowed.v1" in out and "member-ann" in out
    assert "LendingDesk@lending" in out and f'returned ["{ISBN}"]' in out
    assert "CopyAvailability" in out


def test_send_json_envelope_carries_the_result_and_the_messages(library):
    stocked(library)
    payload = library.json("send", "BorrowBook", "member_id=ann", f"isbn={ISBN}")
    data = payload["data"]
    assert payload["status"] == "ok" and data["processing"] == "sync" and data["result"] == [ISBN]
    assert data["command"]["kind"] == "COMMAND" and data["command"]["stream_name"].startswith("lending-")
    kinds = [m.get("kind", "EVENT") for m in data["messages"]]
    assert kinds == ["COMMAND", "EVENT"]
    event = data["messages"][1]
    assert event["metadata"]["origin_stream"] == data["command"]["stream_name"]
    assert {(h["handler"], h["status"]) for h in data["handlers"]} == {
        ("LendingDesk@lending", "ok"),
        ("CopyAvailability", "ok"),
    }


def test_a_refused_command_exits_1_with_one_line_and_keeps_only_the_command(library):
    stocked(library)
    library("send", "BorrowBook", "member_id=ann", f"isbn={ISBN}")
    result = library("send", "BorrowBook", "member_id=ann", f"isbn={ISBN}", code=1)
    assert result.stderr.strip() == "error: ValidationError: {'isbn': ['Ann already has 978-0441013593']}"
    assert "failed" in result.stdout
    payload = json.loads(library("send", "BorrowBook", "member_id=ann", f"isbn={ISBN}", "--json", code=1).stdout)
    assert payload["status"] == "failure" and "ValidationError" in payload["errors"][0]
    history = library.json("events", "history", "Member", "ann")["data"]["messages"]
    assert [m["type"] for m in history] == ["Domain.MemberRegistered.v1", "Domain.BookBorrowed.v1"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["send", "BorowBook"], "unknown command `BorowBook`; did you mean BorrowBook or ReturnBook?"),
        (["send", "BorrowBook", "member=ann"], "unknown field of BorrowBook `member`"),
        (["send", "BookBorrowed", "member_id=ann"], "`BookBorrowed` is an event, not a command (`raise BookBorrowed"),
        (["raise", "BorrowBook", "member_id=ann"], "`BorrowBook` is a command, not an event: `send BorrowBook"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_stores_nothing(library, args, message):
    result = library(*args, code=2)
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr
    assert library.json("events", "stats")["data"]["events"] == 0


def test_a_missing_required_field_is_a_usage_error_naming_it(library):
    result = library("send", "BorrowBook", "member_id=ann", code=2)
    assert result.stderr.strip() == "error: invalid values: isbn: is required"
    assert library.json("events", "stats")["data"]["events"] == 0


def test_info_lists_commands_and_handlers_and_mermaid_draws_them(library):
    data = library.json("info")["data"]
    commands = {c["name"]: c for c in data["commands"]}
    assert commands["BorrowBook"]["stream_category"] == "lending"
    assert commands["BorrowBook"]["handled_by"] == "LendingDesk.borrow"
    assert commands["RegisterMember"]["stream_category"] == "member:command"
    (desk,) = [h for h in data["command_handlers"] if h["name"] == "LendingDesk"]
    assert desk["listens_to"] == ["member:command", "lending"]
    assert {a["name"]: a["event_sourced"] for a in data["aggregates"]} == {"Book": False, "Member": True}
    text = library("info").stdout
    assert "Command handlers" in text and "Member (category member, event-sourced)" in text
    mermaid = library("info", "--mermaid").stdout
    assert "BorrowBook[/BorrowBook/]" in mermaid and "BorrowBook -- handled by --> LendingDesk" in mermaid


def test_events_trace_starts_from_a_command(shop):
    shop("new", "Inventory", "book_id=b1", "in_stock=10")
    placed = shop.json("send", "PlaceOrder", "book_id=b1", "quantity=2", "total_amount=20")["data"]
    shipped = shop.json("send", "ShipOrder", f"order_id={placed['result']}")["data"]
    stream = shipped["command"]["stream_name"]
    for ident in (stream, shipped["command"]["id"], f"#{shipped['command']['global_position']}"):
        (root,) = shop.json("events", "trace", ident)["data"]["roots"]
        assert root["type"] == "Domain.ShipOrder.v1" and root["outcomes"] == [
            {"handler": "ManageOrder", "status": "ok", "detail": ""}
        ]
        (child,) = root["children"]
        handlers = [o["handler"] for o in child["outcomes"]]
        assert child["type"] == "Domain.OrderShipped.v1"
        assert handlers == ["ManageInventory", "EmailNotifications", "OrderSummaryProjector"]
    assert shop.json("show", "Notification")["data"]["total"] == 1


def test_show_version_and_history_states_of_an_event_sourced_aggregate(library):
    stocked(library)
    for command in ("BorrowBook", "ReturnBook", "BorrowBook"):
        library("send", command, "member_id=ann", f"isbn={ISBN}")
    now = library.json("show", "Member", "ann")["data"]
    assert now["items"][0]["borrowed_total"] == 2 and now["version"] == now["latest"] == 3
    then = library.json("show", "Member", "an", "--version", "1")["data"]  # an id prefix works
    assert then["items"][0]["loans"] == [ISBN] and then["items"][0]["_version"] == 1
    listing = library.json("show", "Member")["data"]
    assert listing["total"] == 1 and listing["items"][0]["member_id"] == "ann"
    assert library.json("events", "history", "Member", "ann")["data"]["snapshot_version"] is None  # 4 of 5 events
    library("send", "ReturnBook", "member_id=ann", f"isbn={ISBN}")
    assert library.json("events", "history", "Member", "ann")["data"]["snapshot_version"] == 4
    assert "latest snapshot: version 4" in library("events", "history", "Member", "ann").stderr
    library("send", "BorrowBook", "member_id=ann", f"isbn={ISBN}")
    states = library.json("events", "history", "Member", "ann", "--states")["data"]["states"]
    assert [s["state"]["loans"] for s in states] == [[], [ISBN], [], [ISBN], [], [ISBN]]
    assert [s["message"]["position"] for s in states] == [0, 1, 2, 3, 4, 5]
    text = library("events", "history", "Member", "ann", "--states").stdout
    assert '{"loans":[]}' in text  # without --data: only what each event changed
    assert "has versions 0 to 5; there is no version 9" in library("show", "Member", "ann", "--version", "9", code=2).stderr
    assert "state-based" in library("show", "Book", ISBN, "--version", "0", code=2).stderr
    assert "state-based" in library("events", "history", "Book", ISBN, "--states", code=2).stderr
    assert "event-sourced" in library("new", "Member", "name=Bo", code=2).stderr


def test_call_loads_an_event_sourced_aggregate_by_replay_and_saves_its_events(library):
    stocked(library)
    library("call", "Member", "ann", "borrow", ISBN)
    history = library.json("events", "history", "Member", "ann")["data"]["messages"]
    assert [m["type"] for m in history][-1] == "Domain.BookBorrowed.v1"
    # Not through the lending desk: the catalogue is not told.
    assert library.json("show", "Book", ISBN)["data"]["items"][0]["on_loan"] == 0


def test_async_send_is_queued_then_processed(tmp_path):
    domain = tmp_path / "domain.py"
    text = LIBRARY.read_text().replace('domain.config["command_processing"] = "sync"', "")
    domain.write_text(text)
    wb = Workbench(domain, tmp_path / "store")
    result = wb("send", "RegisterMember", "member_id=ann", "name=Ann")
    assert "queued" in result.stdout and "queued at position 0 of member:command-ann" in result.stderr
    assert wb.json("show", "Member")["data"]["total"] == 0
    wb("process")
    assert wb.json("show", "Member", "ann")["data"]["items"][0]["name"] == "Ann"
    now = wb.json("send", "RegisterMember", "member_id=bo", "name=Bo", "--sync")["data"]
    assert now["processing"] == "sync" and now["result"] == "bo"


def test_shell_completes_command_names_fields_and_ids(tmp_path):
    tree = command_tree(get_command(app))
    session = sessions.Session(sessions.Settings(domain=str(LIBRARY), store=str(tmp_path / "store")))
    domain = session.load(write=True)
    try:
        with domain.domain_context():
            domain.process(domain.registry.commands["RegisterMember"](member_id="ann", name="Ann"))

        def complete(text: str) -> list[str]:
            return suggestions(text, tree, domain, StoreIndex())

        assert complete("se") == ["send"]
        assert complete("send ") == ["CatalogueBook", "RegisterMember", "BorrowBook", "ReturnBook"]
        assert complete("send Borrow") == ["BorrowBook"]
        assert complete("send RegisterMember ") == ["member_id=", "name="]
        assert complete("send BorrowBook member_id=a") == ["member_id=ann"]
        assert complete("show Member ") == ["ann"]
    finally:
        session.close()


def test_snapshot_create_catches_up_streams_written_event_by_event(library):
    stocked(library)
    for _ in range(2):
        library("raise", "BookBorrowed", "member_id=ann", f"isbn={ISBN}", "--id", "ann")
    assert library.json("snapshot", "create")["data"]["created"] == {"Member": 1}
    assert library.json("snapshot", "create", "Member", "ann")["data"]["created"] == {"Member": 0}
    assert "not an event-sourced aggregate" in library("snapshot", "create", "Book", code=2).stderr
    assert library.json("show", "Member", "ann")["data"]["items"][0]["borrowed_total"] == 2


def test_reload_names_added_commands_and_changed_command_handlers(tmp_path):
    from workbench.cli.reload import describe_changes
    from workbench.core.loader import load_domain
    from workbench.core.store import open_store

    before_path = tmp_path / "before.py"
    after_path = tmp_path / "after.py"
    text = LIBRARY.read_text()
    before_path.write_text(text)
    after_path.write_text(
        text.replace(
            "@domain.command_handler(part_of=Book)",
            "@domain.command(part_of=Book)\nclass WithdrawBook:\n    isbn: Identifier(required=True)\n\n\n"
            "@domain.command_handler(part_of=Book)",
        ).replace(
            "        return book.isbn\n",
            "        return book.isbn\n\n    @handle(WithdrawBook)\n    def withdraw(self, command):\n        pass\n",
        )
    )
    old = load_domain(str(before_path), store=open_store(None))
    new = load_domain(str(after_path), store=open_store(None))
    lines = describe_changes(old, new)
    assert "+ command WithdrawBook" in lines
    assert any(line.startswith("~ command handler Cataloguing: methods") for line in lines)


def test_send_in_a_real_shell_with_tab_completion(tmp_path):
    import time

    from test_repl import spawn_shell

    pexpect = pytest.importorskip("pexpect")
    child = spawn_shell(pexpect, LIBRARY, tmp_path)
    try:
        child.expect("workbench>")
        time.sleep(0.5)  # let the prompt finish starting up before typing, as a person would
        child.send("send RegisterMem\t")  # completes the command's name
        child.send(" member_id=ann name=Ann\r")
        child.expect('returned "ann"')
        child.send("show Member ann\r")
        child.expect("borrowed_total")
        child.send("exit\r")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)

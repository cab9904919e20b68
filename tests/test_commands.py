"""Commands and command handlers: `domain.process` in sync and async mode,
their stream, their metadata and the origin of the events they lead to (declaration mistakes: test_command_registration.py)."""

from __future__ import annotations

import pytest
from workbench.core import Domain, handle
from workbench.core.engine import Engine
from workbench.core.exceptions import (
    HandlerError,
    IncorrectUsageError,
    ValidationError,
)
from workbench.core.fields import Identifier, Integer, String
from workbench.core.store import open_store


def build(tmp_path, *, commands: str = "sync", fail_times: int = 0, retries: int | None = None):
    """A shop whose orders are placed and shipped through commands, on a disk store."""
    domain = Domain(name="Shop")
    domain.config["event_processing"] = "sync"
    domain.config["command_processing"] = commands
    attempts = {"n": 0}

    @domain.event(part_of="Order")
    class OrderShipped:
        order_id = Identifier(required=True)
        quantity = Integer(required=True)

    @domain.aggregate
    class Order:
        quantity = Integer(required=True)
        status = String(default="PENDING")

        def ship(self):
            self.status = "SHIPPED"
            self.raise_(OrderShipped(order_id=self.id, quantity=self.quantity))

    @domain.command(part_of=Order)
    class PlaceOrder:
        order_id = Identifier(identifier=True)
        quantity = Integer(required=True)

    @domain.command(part_of=Order, stream_category="manage_order")
    class ShipOrder:
        order_id = Identifier(required=True)

    options = {"subscription_config": {"max_retries": retries, "retry_delay_seconds": 0}} if retries else {}
    if retries:
        options["subscription_type"] = "stream"

    @domain.command_handler(part_of=Order, **options)
    class ManageOrder:
        @handle(PlaceOrder)
        def place(self, command):
            if attempts["n"] < fail_times:
                attempts["n"] += 1
                raise RuntimeError("warehouse offline")
            order = Order(id=command.order_id, quantity=command.quantity)
            domain.repository_for(Order).add(order)
            return order.id

        @handle(ShipOrder)
        def ship(self, command):
            repo = domain.repository_for(Order)
            order = repo.get(command.order_id)
            order.ship()
            repo.add(order)
            return "shipped"

    @domain.aggregate
    class Email:
        order_id = Identifier(required=True)

    @domain.event_handler(part_of=Email, stream_category="order", source_stream="manage_order")
    class EmailNotifications:
        @handle(OrderShipped)
        def send(self, event):
            domain.repository_for(Email).add(Email(order_id=event.order_id))

    domain.init()
    domain.bind_store(open_store(tmp_path / "store"))
    return domain


def test_sync_process_returns_the_handler_value_and_stores_the_command_in_its_stream(tmp_path):
    domain = build(tmp_path)
    with domain.domain_context():
        assert domain.process(domain.registry.commands["PlaceOrder"](order_id="o1", quantity=2)) == "o1"
        (command,) = domain.event_store.read("order:command-o1")
        assert command.kind == "COMMAND" and command.type == "Shop.PlaceOrder.v1"
        meta = command.metadata.domain
        assert meta.kind == "COMMAND" and meta.expected_version is None and meta.asynchronous is False
        assert domain.repository_for("Order").get("o1").quantity == 2


def test_events_raised_while_handling_a_command_carry_its_stream_so_source_stream_filters_work(tmp_path):
    domain = build(tmp_path)
    commands = domain.registry.commands
    emails = domain.repository_for("Email")
    with domain.domain_context():
        domain.process(commands["PlaceOrder"](order_id="o1", quantity=2))
        domain.process(commands["PlaceOrder"](order_id="o2", quantity=3))
        order = domain.repository_for("Order").get("o2")
        order.ship()
        domain.repository_for("Order").add(order)  # shipped directly: not from manage_order
        assert emails.count() == 0
        assert domain.process(commands["ShipOrder"](order_id="o1")) == "shipped"
    assert [e.order_id for e in emails.all()] == ["o1"]
    shipped = domain.event_store.read("order-o1")[-1]
    command = domain.event_store.get_message(shipped.causation_id)
    assert command is not None and command.type == "Shop.ShipOrder.v1"
    assert shipped.origin_stream == command.stream_name and command.stream_name.startswith("manage_order-")
    assert shipped.correlation_id == command.correlation_id == command.id


def test_commands_are_immutable_validated_and_must_be_registered(tmp_path):
    domain = build(tmp_path)
    place = domain.registry.commands["PlaceOrder"]
    with domain.domain_context():
        with pytest.raises(ValidationError, match="quantity"):
            place(order_id="o1")
        command = place(quantity=1)
        assert command.order_id  # an identifier without a value gets one
        with pytest.raises(IncorrectUsageError, match="immutable"):
            command.quantity = 5
        with pytest.raises(IncorrectUsageError, match="Element OrderShipped is not registered in domain Shop"):
            domain.process(domain.registry.events["OrderShipped"](order_id="x", quantity=1))
    assert domain.store.event_count() == 0


def test_a_failing_command_handler_raises_its_own_error_and_keeps_the_command(tmp_path):
    domain = build(tmp_path, fail_times=1)
    with domain.domain_context():
        with pytest.raises(RuntimeError, match="warehouse offline"):
            domain.process(domain.registry.commands["PlaceOrder"](order_id="o1", quantity=2))
    (command,) = domain.event_store.read("order:command-o1")
    failures = domain.store.rows("failures")
    assert [f["handler"] for f in failures.values()] == ["ManageOrder"]
    assert domain.repository_for("Order").get_or_none("o1") is None


def test_an_event_handler_failure_after_the_command_is_a_handler_error(tmp_path):
    domain = build(tmp_path)
    domain.registry.event_handlers["EmailNotifications"].send = handle(domain.registry.events["OrderShipped"])(
        lambda self, event: 1 / 0
    )
    with domain.domain_context():
        domain.process(domain.registry.commands["PlaceOrder"](order_id="o1", quantity=2))
        with pytest.raises(HandlerError, match="EmailNotifications"):
            domain.process(domain.registry.commands["ShipOrder"](order_id="o1"))
    assert domain.repository_for("Order").get("o1").status == "SHIPPED"  # the command's own work is kept


def test_async_process_returns_the_position_and_the_engine_handles_it(tmp_path):
    domain = build(tmp_path, commands="async")
    with domain.domain_context():
        position = domain.process(domain.registry.commands["PlaceOrder"](order_id="o1", quantity=2))
    assert position == 0
    assert domain.repository_for("Order").get_or_none("o1") is None
    tally = Engine(domain).process_until_idle()
    assert tally.by_handler["ManageOrder@order:command"]["delivered"] == 1  # one subscription per category
    assert domain.repository_for("Order").get("o1").quantity == 2
    with domain.domain_context():
        domain.process(domain.registry.commands["ShipOrder"](order_id="o1"))
    Engine(domain).process_until_idle()
    shipped = domain.event_store.read("order-o1")[-1]
    assert shipped.type == "Shop.OrderShipped.v1" and shipped.origin_stream.startswith("manage_order-")
    assert [e.order_id for e in domain.repository_for("Email").all()] == ["o1"]  # source_stream matched


def test_async_command_failures_retry_then_dead_letter_like_events(tmp_path):
    domain = build(tmp_path, commands="async", fail_times=5, retries=2)
    with domain.domain_context():
        domain.process(domain.registry.commands["PlaceOrder"](order_id="o1", quantity=2))
    Engine(domain).process_until_idle(max_wait_seconds=5)
    (letter,) = domain.store.rows("dead_letters").values()
    assert letter["handler"] == "ManageOrder@order:command" and letter["attempts"] == 2
    assert letter["message_type"] == "Shop.PlaceOrder.v1" and letter["error"] == "warehouse offline"


def test_async_retry_succeeds_on_the_second_attempt(tmp_path):
    domain = build(tmp_path, commands="async", fail_times=1, retries=3)
    with domain.domain_context():
        domain.process(domain.registry.commands["PlaceOrder"](order_id="o1", quantity=2))
    Engine(domain).process_until_idle(max_wait_seconds=5)
    assert domain.repository_for("Order").get("o1").quantity == 2
    assert not domain.store.rows("dead_letters")


def test_asynchronous_false_runs_inline_in_an_async_domain(tmp_path):
    domain = build(tmp_path, commands="async")
    with domain.domain_context():
        assert (
            domain.process(domain.registry.commands["PlaceOrder"](order_id="o1", quantity=1), asynchronous=False)
            == "o1"
        )
    assert Engine(domain).process_until_idle().delivered == 0  # nothing left for the engine


def test_all_category_handlers_never_receive_commands(tmp_path):
    domain = Domain(name="Audit")
    domain.config["event_processing"] = "sync"
    domain.config["command_processing"] = "sync"
    seen = []

    @domain.aggregate
    class Thing:
        name = String()

    @domain.command(part_of=Thing)
    class MakeThing:
        name = String()

    @domain.command_handler(part_of=Thing)
    class Things:
        @handle(MakeThing)
        def make(self, command):
            domain.repository_for(Thing).add(Thing(name=command.name))

    @domain.event_handler(part_of=Thing, stream_category="$all")
    class Everything:
        @handle("$any")
        def any(self, event):
            seen.append(event)

    domain.init()
    domain.bind_store(open_store(None))
    with domain.domain_context():
        domain.process(MakeThing(name="x"))
    assert seen == []


def test_an_idempotency_key_makes_a_repeat_return_the_first_result_without_storing_it(tmp_path):
    from workbench.core.exceptions import DuplicateCommandError

    domain = build(tmp_path)
    place = domain.registry.commands["PlaceOrder"]
    with domain.domain_context():
        assert domain.process(place(order_id="o1", quantity=2), idempotency_key="req-1") == "o1"
        assert domain.process(place(order_id="o2", quantity=2), idempotency_key="req-1") == "o1"
        with pytest.raises(DuplicateCommandError, match="idempotency key 'req-1' has already been processed") as info:
            domain.process(place(order_id="o3", quantity=2), idempotency_key="req-1", raise_on_duplicate=True)
        assert info.value.original_result == "o1"
    assert domain.repository_for("Order").count() == 1
    assert domain.store.event_count() == 1
    (command,) = domain.event_store.read("order:command-o1")
    assert command.record["metadata"]["idempotency_key"] == "req-1"


def test_a_failed_command_can_be_retried_with_the_same_key(tmp_path):
    domain = build(tmp_path, fail_times=1)
    place = domain.registry.commands["PlaceOrder"]
    with domain.domain_context():
        with pytest.raises(RuntimeError):
            domain.process(place(order_id="o1", quantity=2), idempotency_key="req-1")
        assert domain.process(place(order_id="o1", quantity=2), idempotency_key="req-1") == "o1"


def test_deadlines_refuse_late_sync_commands_and_the_engine_skips_late_async_ones(tmp_path):
    import datetime as dt

    from workbench.core.clock import VirtualClock
    from workbench.core.exceptions import CommandExpiredError

    domain = build(tmp_path, commands="async")
    clock = VirtualClock(dt.datetime(2030, 1, 1, tzinfo=dt.UTC))
    domain.clock = clock
    place = domain.registry.commands["PlaceOrder"]
    with domain.domain_context():
        past = dt.datetime(2029, 12, 31, tzinfo=dt.UTC)
        with pytest.raises(CommandExpiredError, match="Command `Shop.PlaceOrder.v1` expired at deadline 2029-12-31"):
            domain.process(place(order_id="o0", quantity=1), asynchronous=False, deadline=past)
        assert domain.store.event_count() == 0  # refused before it was stored
        domain.process(place(order_id="o1", quantity=1), timeout=dt.timedelta(minutes=5))
        domain.process(place(order_id="o2", quantity=1), timeout=dt.timedelta(hours=1))
        with pytest.raises(IncorrectUsageError, match="either a deadline or a timeout"):
            domain.process(place(order_id="o3", quantity=1), deadline=past, timeout=dt.timedelta(1))
    clock.advance(600)
    Engine(domain).process_until_idle()
    orders = domain.repository_for("Order")
    assert orders.get_or_none("o1") is None and orders.get("o2").quantity == 1


def test_a_command_issued_by_an_event_handler_is_stored_with_its_unit_of_work(tmp_path):
    domain = Domain(name="Chain")
    domain.config["event_processing"] = "sync"
    domain.config["command_processing"] = "sync"

    @domain.event(part_of="Order")
    class Placed:
        order_id = Identifier(required=True)

    @domain.event(part_of="Invoice")
    class Invoiced:
        order_id = Identifier(required=True)

    @domain.aggregate
    class Order:
        name = String()

    @domain.aggregate
    class Invoice:
        order_id = Identifier(required=True)

    @domain.command(part_of=Invoice)
    class CreateInvoice:
        order_id = Identifier(required=True)

    @domain.command_handler(part_of=Invoice)
    class Billing:
        @handle(CreateInvoice)
        def create(self, command):
            invoice = Invoice(order_id=command.order_id)
            invoice.raise_(Invoiced(order_id=command.order_id))
            domain.repository_for(Invoice).add(invoice)

    @domain.event_handler(part_of=Invoice, stream_category="order")
    class WhenPlaced:
        @handle(Placed)
        def bill(self, event):
            domain.process(CreateInvoice(order_id=event.order_id))

    domain.init()
    domain.bind_store(open_store(tmp_path / "store"))
    with domain.domain_context():
        order = Order(name="x")
        order.raise_(Placed(order_id=order.id))
        domain.repository_for(Order).add(order)
    placed, command, invoiced = domain.event_store.read("$all")
    assert [placed.kind, command.kind, invoiced.kind] == ["EVENT", "COMMAND", "EVENT"]
    assert command.causation_id == placed.id and command.origin_stream == placed.stream_name
    assert invoiced.causation_id == command.id and invoiced.origin_stream == command.stream_name
    assert placed.correlation_id == command.correlation_id == invoiced.correlation_id


def test_the_testing_harness_takes_commands_in_async_mode_too(tmp_path):
    from conftest import ROOT

    from workbench.testing import DomainHarness

    source = (ROOT / "samples" / "library" / "domain.py").read_text()
    path = tmp_path / "library.py"
    path.write_text(source.replace('domain.config["command_processing"] = "sync"', ""))
    with DomainHarness.open(path, tmp_path / "store") as harness:
        outcome = harness.when(harness["RegisterMember"](member_id="ann", name="Ann"))
        outcome.then_returned(0).then_raised("MemberRegistered").then_succeeded("LendingDesk")
        with pytest.raises(AssertionError, match="expected RegisterMember to return 'x', got 0"):
            outcome.then_returned("x")
        refused = harness.when(harness["BorrowBook"](member_id="ann", isbn="nope"))
        refused.then_failed("LendingDesk", "ObjectNotFoundError")
        with pytest.raises(IncorrectUsageError, match="when\\(\\) takes an event or a command"):
            harness.when(harness["Member"])  # type: ignore[arg-type]


SLOW_DOMAIN = """
import pathlib, time
from protean import Domain, handle
from protean.fields import String

domain = Domain(name="Slow")
domain.config["event_processing"] = "sync"
domain.config["command_processing"] = "sync"


@domain.aggregate
class Thing:
    name = String()


@domain.command(part_of=Thing)
class MakeThing:
    name = String()


@domain.command_handler(part_of=Thing)
class Things:
    @handle(MakeThing)
    def make(self, command):
        domain.repository_for(Thing).add(Thing(name=command.name))
        pathlib.Path("entered").write_text("x")
        time.sleep(120)  # killed here, after the save and before the unit of work commits
"""


def test_a_process_killed_while_handling_a_command_leaves_neither_the_command_nor_its_effects(tmp_path):
    import signal
    import subprocess
    import sys

    (tmp_path / "domain.py").write_text(SLOW_DOMAIN)
    command = [sys.executable, "-m", "workbench", "--domain", "domain.py", "--store", "st", "send", "MakeThing", "name=a"]
    proc = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        while not (tmp_path / "entered").exists():
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            signal.pthread_sigmask(signal.SIG_BLOCK, [])  # yield without a timed sleep
    finally:
        proc.kill()
        proc.wait()
    store = open_store(tmp_path / "st", read_only=True)
    try:
        assert store.event_count() == 0 and not store.rows("aggregate:thing")
    finally:
        store.close()

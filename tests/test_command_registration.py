"""Mistakes in declaring commands and command handlers, each refused with a message naming the element."""

from __future__ import annotations

import pytest
from workbench.core import Domain, handle
from workbench.core.exceptions import IncorrectUsageError, NotSupportedError
from workbench.core.fields import String
from workbench.core.store import open_store


@pytest.mark.parametrize(
    ("declare", "message"),
    [
        ("command_no_part_of", "Command `Lone` needs to be associated with an aggregate"),
        ("handler_no_part_of", "Command Handler `Desk` needs to be associated with an Aggregate"),
        ("handler_of_event", "Method `m` in Command Handler `Desk` is not associated with a command"),
        ("other_aggregate", "Command `Elsewhere` in Command Handler `Desk` is not associated with the same aggregate"),
        ("two_classes", "Commands cannot be handled by multiple handlers: Reg.Place.v1"),
        ("unknown_option", "Unknown option(s) colour"),
    ],
)
def test_registration_mistakes_name_the_element(declare, message):
    domain = Domain(name="Reg")

    @domain.aggregate
    class A:
        name = String()

    @domain.aggregate
    class B:
        name = String()

    @domain.event(part_of=A)
    class Happened:
        name = String()

    @domain.command(part_of=A)
    class Place:
        name = String()

    @domain.command(part_of=B)
    class Elsewhere:
        name = String()

    def run() -> None:
        if declare == "command_no_part_of":
            domain.command(type("Lone", (), {}))
        elif declare == "handler_no_part_of":
            domain.command_handler(type("Desk", (), {}))
        elif declare == "handler_of_event":
            domain.command_handler(part_of=A)(type("Desk", (), {"m": handle(Happened)(lambda self, e: None)}))
        elif declare == "other_aggregate":
            domain.command_handler(part_of=A)(type("Desk", (), {"m": handle(Elsewhere)(lambda self, c: None)}))
        elif declare == "two_classes":
            domain.command_handler(part_of=A)(type("Desk", (), {"m": handle(Place)(lambda self, c: None)}))
            domain.command_handler(part_of=A)(type("Desk2", (), {"m": handle(Place)(lambda self, c: None)}))
        elif declare == "unknown_option":
            domain.command(part_of=A, colour="red")(type("Painted", (), {}))
        domain.init()

    with pytest.raises(Exception, match=message.replace("(", r"\(").replace(")", r"\)")):
        run()


def test_one_class_with_two_methods_for_one_command_is_refused():
    domain = Domain(name="Reg")

    @domain.aggregate
    class A:
        name = String()

    @domain.command(part_of=A)
    class Place:
        name = String()

    @domain.command_handler(part_of=A)
    class Desk:
        @handle(Place)
        def one(self, command):
            pass

        @handle(Place)
        def two(self, command):
            pass

    with pytest.raises(NotSupportedError, match="Command Place cannot be handled by multiple handlers"):
        domain.init()


def test_a_command_with_no_handler_is_refused_before_it_is_stored(tmp_path):
    domain = Domain(name="Lonely")

    @domain.aggregate
    class A:
        name = String()

    @domain.command(part_of=A)
    class Orphan:
        name = String()

    domain.init()
    domain.bind_store(open_store(tmp_path / "store"))
    with domain.domain_context(), pytest.raises(IncorrectUsageError, match="no command handler handles `Orphan`"):
        domain.process(Orphan(name="x"))
    assert domain.store.event_count() == 0

"""Mistakes in declaring or using event-sourced aggregates, each refused with a message naming the element."""

from __future__ import annotations

import pytest
from workbench.core import Domain, apply
from workbench.core.exceptions import ConfigurationError, IncorrectUsageError
from workbench.core.fields import Float, String
from workbench.core.store import open_store


def test_apply_mistakes_are_clear():
    domain = Domain(name="Bad")

    @domain.event(part_of="Ledger")
    class Posted:
        amount = Float()

    with pytest.raises(IncorrectUsageError, match="incorrect number of arguments"):
        apply(lambda self: None)

    @domain.aggregate
    class Ledger:
        total = Float()

        @apply
        def posted(self, event: Posted) -> None:
            self.total = event.amount

    with pytest.raises(IncorrectUsageError, match="`Ledger` is not event-sourced"):
        domain.init()


def test_an_event_without_an_apply_method_cannot_be_raised():
    domain = Domain(name="Bad")
    domain.config["event_processing"] = "sync"

    @domain.event(part_of="Ledger")
    class Posted:
        amount = Float()

    @domain.event(part_of="Ledger")
    class Other:
        amount = Float()

    @domain.aggregate(is_event_sourced=True)
    class Ledger:
        total = Float()

        @apply
        def posted(self, event) -> None:  # no annotation: nothing says which event
            pass

    with pytest.raises(IncorrectUsageError, match="should accept an argument annotated with the Event class"):
        domain.init()


def test_raising_an_unapplied_event_or_another_aggregates_event_fails_at_the_raise():
    domain = Domain(name="Bad")

    @domain.event(part_of="Ledger")
    class Posted:
        amount = Float()

    @domain.event(part_of="Ledger")
    class Audited:
        amount = Float()

    @domain.aggregate(is_event_sourced=True)
    class Ledger:
        total = Float()

        @apply
        def posted(self, event: Posted) -> None:
            self.total = event.amount

    @domain.aggregate
    class Other:
        name = String()

    @domain.event(part_of=Other)
    class Elsewhere:
        name = String()

    domain.init()
    domain.bind_store(open_store(None))
    with domain.domain_context():
        ledger = Ledger()
        with pytest.raises(IncorrectUsageError, match="No @apply handler registered for event `Audited` in `Ledger`"):
            ledger.raise_(Audited(amount=1))
        with pytest.raises(ConfigurationError, match="Event `Elsewhere` is not associated with aggregate `Ledger`"):
            ledger.raise_(Elsewhere(name="x"))
        assert ledger._version == -1 and ledger._events == []

"""A payments domain for the async tests: handlers whose failures tests can switch on."""

from __future__ import annotations

from typing import Any

from workbench.core import Domain, current_domain, handle
from workbench.core.fields import Identifier, Integer
from workbench.core.store import open_store


def payments_domain(*, store=None, subscription: dict[str, Any] | None = None, server: dict | None = None):
    """Payment events on `payment`; `Book` writes a ledger row, `Notify` counts calls.

    `domain.fail` holds amounts that make `Book` raise; `domain.calls` counts attempts.
    """
    domain = Domain(name="Pay")
    domain.config["event_processing"] = "async"
    if server is not None:
        domain.config["server"] = server
    domain.fail = set()  # type: ignore[attr-defined]
    domain.calls = {"Book": 0, "Notify": 0, "errors": []}  # type: ignore[attr-defined]

    @domain.aggregate
    class Payment:
        amount = Integer()

    @domain.aggregate
    class Ledger:
        ref = Identifier(required=True)
        amount = Integer()

    @domain.aggregate
    class Mail:
        ref = Identifier(required=True)

    @domain.event(part_of=Payment)
    class Paid:
        amount = Integer()

    @domain.event(part_of=Ledger)
    class Booked:
        ref = Identifier()

    options = subscription if subscription is not None else {"subscription_profile": "fast"}

    @domain.event_handler(part_of=Ledger, stream_category="payment", **options)
    class Book:
        @handle(Paid)
        def book(self, event):
            domain.calls["Book"] += 1
            if event.amount in domain.fail:
                raise ValueError(f"cannot book {event.amount}")
            ledger = Ledger(ref=event._metadata.headers.id, amount=event.amount)
            ledger.raise_(Booked(ref=ledger.ref))
            current_domain.repository_for(Ledger).add(ledger)

        @classmethod
        def handle_error(cls, exc, message):
            domain.calls["errors"].append((type(exc).__name__, message.type))

    @domain.event_handler(part_of=Mail, stream_category="payment", subscription_type="stream")
    class Notify:
        @handle(Paid)
        def send(self, event):
            domain.calls["Notify"] += 1
            current_domain.repository_for(Mail).add(Mail(ref=event._metadata.headers.id))

    @domain.event_handler(part_of=Ledger, subscription_type="event_store")
    class AfterBooking:
        @handle(Booked)
        def noted(self, event):
            pass

    domain.init()
    domain.bind_store(store or open_store(None))
    return domain


def pay(domain, *amounts, payment=None):
    Payment = domain.registry.aggregates["Payment"]
    Paid = domain.registry.events["Paid"]
    payment = payment or Payment(amount=0)
    for amount in amounts:
        payment.raise_(Paid(amount=amount))
    with domain.domain_context():
        domain.repository_for(Payment).add(payment)
    return payment


def ledger(domain):
    return sorted(row.amount for row in domain.repository_for("Ledger").all())

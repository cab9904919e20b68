"""A domain with every kind of consumer, for running the same commands on every store/broker combination.

* ``Ship`` and ``Charge``: stream handlers of one category each (fed by Redis when a broker is set);
  ``Charge`` fails on amount 13 while ``COMBOS_FAIL=1``;
* ``Everything``: a ``$all`` stream handler, ``Both``: a projector of two categories (both read the store);
* ``Partner``: a subscriber of the broker stream ``partner``.

Every delivery writes a ``Seen`` row (handler, message type), so a test can count effects.
"""

import os

from protean import Domain, handle, on
from protean.fields import Identifier, Integer, String

domain = Domain(name="Combos")
domain.config["event_processing"] = "async"
FAST = {"max_retries": 1, "retry_delay_seconds": 0, "enable_dlq": True}


@domain.event(part_of="Order")
class OrderShipped:
    order_id = Identifier(required=True)


@domain.aggregate
class Order:
    status = String(default="PENDING")

    def ship_order(self):
        self.status = "SHIPPED"
        self.raise_(OrderShipped(order_id=self.id))


@domain.event(part_of="Payment")
class Paid:
    payment_id = Identifier(required=True)
    amount = Integer(required=True)


@domain.aggregate
class Payment:
    amount = Integer(required=True)

    def pay(self):
        self.raise_(Paid(payment_id=self.id, amount=self.amount))


@domain.aggregate
class Seen:
    handler = String(required=True)
    kind = String(required=True)


def _seen(handler: str, kind: str) -> None:
    domain.repository_for(Seen).add(Seen(handler=handler, kind=kind))


@domain.event_handler(part_of=Seen, stream_category="order", subscription_type="stream", subscription_config=FAST)
class Ship:
    @handle(OrderShipped)
    def shipped(self, event):
        _seen("Ship", "OrderShipped")


@domain.event_handler(part_of=Seen, stream_category="payment", subscription_type="stream", subscription_config=FAST)
class Charge:
    @handle(Paid)
    def paid(self, event):
        if event.amount == 13 and os.environ.get("COMBOS_FAIL") == "1":
            raise RuntimeError("card declined")
        _seen("Charge", "Paid")


@domain.event_handler(part_of=Seen, stream_category="$all", subscription_type="stream", subscription_config=FAST)
class Everything:
    @handle("$any")
    def any(self, event):
        _seen("Everything", type(event).__name__)


@domain.projection
class Tally:
    kind = String(identifier=True)
    count = Integer(default=0)


@domain.projector(projector_for=Tally, aggregates=[Order, Payment], subscription_type="stream", subscription_config=FAST)
class Both:
    def _count(self, kind):
        _seen("Both", kind)
        repo = domain.repository_for(Tally)
        found = repo.filter(kind=kind)
        row = found[0] if found else Tally(kind=kind)
        row.count += 1
        repo.add(row)

    @on(OrderShipped)
    def shipped(self, event):
        self._count("OrderShipped")

    @on(Paid)
    def paid(self, event):
        self._count("Paid")


@domain.subscriber(stream="partner", subscription_config=FAST)
class Partner:
    def __call__(self, payload):
        _seen("Partner", str(payload.get("kind")))

"""Loyalty: handlers that are, and are not, safe to run twice, and a retry driven by the clock.

`CountOrders` adds one to a customer's order count per `OrderPlaced`: delivered twice
(as any at-least-once broker will one day do), it counts twice. `RememberLastOrder`
upserts the customer's last order: delivered twice, nothing changes.
`workbench check idempotency` tells them apart.

`ChargeCard` calls the card gateway, which is down until its `Gateway` record says
otherwise; it retries after 30 s, then 60 s (exponential back-off), then dead-letters.
In a script the clock is virtual, so `clock advance 30s` makes the retry due at once.
"""

from protean import Domain, current_domain, handle
from protean.fields import Identifier, Integer, String

domain = Domain(name="Loyalty")
domain.config["event_processing"] = "async"


@domain.aggregate
class Order:
    customer = Identifier(required=True)
    total = Integer(required=True, min_value=0)

    def place(self):
        self.raise_(OrderPlaced(order_id=self.id, customer=self.customer, total=self.total))


@domain.event(part_of=Order)
class OrderPlaced:
    order_id = Identifier(required=True)
    customer = Identifier(required=True)
    total = Integer(required=True)


@domain.aggregate
class Customer:
    name = Identifier(required=True, unique=True)
    orders_placed = Integer(default=0)


@domain.aggregate
class LastOrder:
    customer = Identifier(required=True, unique=True)
    order_id = Identifier(required=True)
    total = Integer(required=True)


@domain.aggregate
class Gateway:
    name = String(required=True, unique=True)
    status = String(choices=["up", "down"], default="up")

    def come_up(self):
        self.status = "up"


@domain.aggregate
class Charge:
    order_id = Identifier(required=True, unique=True)
    amount = Integer(required=True)


@domain.event_handler(part_of=Customer, stream_category="order")
class CountOrders:
    """Not idempotent: a second delivery of the same event counts the order again."""

    @handle(OrderPlaced)
    def count(self, event):
        customers = current_domain.repository_for(Customer)
        found = customers.filter(name=event.customer)
        customer = found[0] if found else Customer(name=event.customer)
        customer.orders_placed += 1
        customers.add(customer)


@domain.event_handler(part_of=LastOrder, stream_category="order")
class RememberLastOrder:
    """Idempotent: an upsert keyed by customer writes the same values however often it runs."""

    @handle(OrderPlaced)
    def remember(self, event):
        repo = current_domain.repository_for(LastOrder)
        found = repo.filter(customer=event.customer)
        last = found[0] if found else LastOrder(customer=event.customer, order_id=event.order_id, total=event.total)
        last.order_id = event.order_id
        last.total = event.total
        repo.add(last)


@domain.event_handler(
    part_of=Charge,
    stream_category="order",
    subscription_type="stream",
    subscription_config={"max_retries": 3, "retry_delay_seconds": 30, "enable_dlq": True},
)
class ChargeCard:
    """Charges once per order (an upsert by order id); fails while the gateway is down."""

    @handle(OrderPlaced)
    def charge(self, event):
        gateways = current_domain.repository_for(Gateway).filter(name="cards")
        if gateways and gateways[0].status == "down":
            raise ConnectionError("card gateway is down")
        charges = current_domain.repository_for(Charge)
        if not charges.filter(order_id=event.order_id):
            charges.add(Charge(order_id=event.order_id, amount=event.total))

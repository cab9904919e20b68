"""A shop whose inventory handler is a stream subscription (fed by the broker when one is set)."""

import time

from protean import Domain, handle
from protean.fields import Identifier, Integer, String

domain = Domain(name="BrokerShop")
domain.config["event_processing"] = "async"


@domain.event(part_of="Order")
class OrderShipped:
    order_id = Identifier(required=True)
    book_id = Identifier(required=True)
    quantity = Integer(required=True)


@domain.aggregate
class Order:
    book_id = Identifier(required=True)
    quantity = Integer(required=True)
    status = String(default="PENDING")

    def ship_order(self):
        self.status = "SHIPPED"
        self.raise_(OrderShipped(order_id=self.id, book_id=self.book_id, quantity=self.quantity))


@domain.aggregate
class Inventory:
    book_id = Identifier(required=True)
    in_stock = Integer(required=True)
    shipped = Integer(default=0)


@domain.event_handler(part_of=Inventory, stream_category="order", subscription_type="stream")
class ManageInventory:
    @handle(OrderShipped)
    def reduce(self, event):
        time.sleep(0.02)  # long enough that a SIGKILL lands mid-delivery
        repo = domain.repository_for(Inventory)
        inventory = repo.find_by(book_id=event.book_id)
        inventory.in_stock -= event.quantity
        inventory.shipped += 1
        repo.add(inventory)
